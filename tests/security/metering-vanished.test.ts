import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ledgerKeys, openAllocations, parse } from "../../lib/chargeback/ledger.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { startController } from "../integration/support/controller-process.ts";
import {
  client,
  compliantPod,
  departmentManifest,
  isReady,
  waitForDepartment,
} from "../integration/support/govhost.ts";
import { eventually, uniqueName } from "../integration/support/kube.ts";
import { ledgerData } from "../integration/support/pro-rata.ts";

// Issue #17, finding 7: a pod deleted while no controller was running never sent its deletion, so its
// allocation stayed open and was billed month after month. Performed for real: the controller is stopped,
// the pod deleted through the real API server, and a new controller started.

const dept = uniqueName("van");
const ns = `${dept}-dev`;
let admin: KubeClient;

async function openPods(): Promise<string[]> {
  const ledger = parse(dept, (await ledgerData(admin, dept))[ledgerKeys.changes]);
  return openAllocations(ledger)
    .filter((c) => c.subject.startsWith("pod/"))
    .map((c) => c.subject);
}

beforeAll(async () => {
  admin = await client();
  await admin.create(departmentManifest(dept, { environments: ["dev"] }));
});

afterAll(async () => {
  await admin?.delete(resources.department, dept);
  admin?.close();
});

describe("metering after downtime", () => {
  it("ends the allocation of a pod deleted while no controller watched, no later than the deletion", async () => {
    let controller = await startController();
    await waitForDepartment(admin, dept, isReady, "ready");
    const pod = compliantPod(ns, "gone-while-down");
    const created = await admin.create<KubeObject>(pod);
    const uid = created.metadata?.uid as string;
    await admin.mergePatch(
      resources.pod,
      "gone-while-down",
      { status: { phase: "Running", startTime: new Date().toISOString() } },
      { namespace: ns, subresource: "status" },
    );
    await eventually("the pod's allocation recorded", async () =>
      (await openPods()).includes(`pod/${uid}`) ? true : undefined,
    );

    await controller.stop();
    const stoppedAt = Date.now();
    // No node runs it, so the API server removes it at once: no controller sees the deletion.
    await admin.delete(resources.pod, "gone-while-down", ns);
    await eventually("the pod gone", async () =>
      (await admin.find(resources.pod, "gone-while-down", ns)) ? undefined : true,
    );
    const deletedAt = Date.now();

    controller = await startController();
    try {
      await eventually(
        "the vanished pod's allocation closed",
        async () => ((await openPods()).includes(`pod/${uid}`) ? undefined : true),
        60_000,
      );
      const ledger = parse(dept, (await ledgerData(admin, dept))[ledgerKeys.changes]);
      const end = ledger.changes.find((c) => c.subject === `pod/${uid}` && c.amount === 0n);
      expect(end).toBeDefined();
      // Closed at the last moment a controller watched (its last lease renewal), never after the deletion.
      expect(end?.at).toBeLessThanOrEqual(deletedAt);
      expect(end?.at).toBeGreaterThanOrEqual(stoppedAt - 20_000);
    } finally {
      await controller.stop();
    }
  });
});

import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { type ControllerProcess, startController } from "./support/controller-process.ts";
import {
  client,
  type DepartmentObject,
  departmentManifest,
  isReady,
  waitForDepartment,
} from "./support/govhost.ts";
import { eventually, uniqueName } from "./support/kube.ts";

let admin: KubeClient;
const running: ControllerProcess[] = [];

beforeAll(async () => {
  admin = await client();
});

afterAll(async () => {
  for (const c of running) await c.stop();
  admin?.close();
});

async function launch(identity: string, waitReady = true): Promise<ControllerProcess> {
  const c = await startController({ identity, waitReady });
  running.push(c);
  return c;
}

async function readyCount(names: string[]): Promise<number> {
  const list = await admin.list<DepartmentObject>(resources.department);
  return list.items.filter((d) => names.includes(d.metadata.name as string) && isReady(d)).length;
}

async function leaderMetric(c: ControllerProcess): Promise<string | undefined> {
  const text = await fetch(`http://127.0.0.1:${c.port}/metrics`).then(
    (r) => r.text(),
    () => "",
  );
  return /^govhost_leader_is_leader (\d)/m.exec(text)?.[1];
}

describe("controller crash safety", () => {
  it("converges to exactly the desired state after a SIGKILL in the middle of provisioning 50 departments", async () => {
    const prefix = `k${randomBytes(2).toString("hex")}`;
    const names = Array.from({ length: 50 }, (_, i) => `${prefix}-${i}`);
    const first = await launch("crash-first");
    await Promise.all(names.map((n) => admin.create(departmentManifest(n))));

    const readyAtKill = await eventually("some departments to be provisioned", async () => {
      const count = await readyCount(names);
      return count >= 3 ? count : undefined;
    });
    await first.kill();
    expect(readyAtKill).toBeLessThan(50);

    // The dead leader's lease must expire before the replacement leads (lease duration 15 s).
    await launch("crash-second");
    for (const name of names) await waitForDepartment(admin, name, isReady, "Ready after restart", 60_000);

    const namespaces = await admin.list<KubeObject>(resources.namespace, {
      labelSelector: "govhost.io/department",
    });
    const ours = namespaces.items.filter((ns) => ns.metadata?.name?.startsWith(`${prefix}-`));
    expect(ours).toHaveLength(150);
    for (const name of names) {
      for (const env of ["dev", "staging", "prod"]) {
        const ns = `${name}-${env}`;
        expect(ours.some((o) => o.metadata?.name === ns)).toBe(true);
        const count = async (type: (typeof resources)[keyof typeof resources]) =>
          (await admin.list(type, { namespace: ns, labelSelector: `govhost.io/department=${name}` })).items
            .length;
        expect([
          await count(resources.resourceQuota),
          await count(resources.limitRange),
          await count(resources.networkPolicy),
          await count(resources.roleBinding),
        ]).toEqual([1, 1, 4, 4]);
      }
      const dept = await admin.get<DepartmentObject>(resources.department, name);
      const pods = Object.values(dept.status?.quota?.allocated ?? {}).reduce(
        (sum, hard) => sum + Number(hard.pods),
        0,
      );
      expect(pods).toBe(100);
    }
  }, 180_000);

  it("runs two replicas with one leader; the standby takes over when the leader stops", async () => {
    for (const c of running.splice(0)) await c.stop();
    const a = await launch("replica-a");
    const b = await launch("replica-b", false);
    // The standby serves health and metrics while it waits for the lease.
    expect(await eventually("the standby to report its leadership metric", () => leaderMetric(b))).toBe("0");
    expect(await leaderMetric(a)).toBe("1");
    await sleep(2_000);
    expect(await leaderMetric(b)).toBe("0");

    const before = uniqueName("r");
    await admin.create(departmentManifest(before, { environments: ["dev"] }));
    await waitForDepartment(admin, before, isReady);

    await a.stop();
    const after = uniqueName("r");
    await admin.create(departmentManifest(after, { environments: ["dev"] }));
    await waitForDepartment(admin, after, isReady, "Ready under the new leader", 30_000);
    expect(await leaderMetric(b)).toBe("1");
  }, 90_000);
});

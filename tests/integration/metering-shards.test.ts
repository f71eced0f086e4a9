import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChargebackStatement } from "../../controller/api/chargeback.ts";
import { compressedSize, storedSize } from "../../controller/metering/ledger-objects.ts";
import { periodOf } from "../../lib/chargeback/calendar.ts";
import { ledgerName, ledgerOf } from "../../lib/chargeback/ledger.ts";
import { findLedgerMap, headOf, type LedgerMap, readLedger } from "../../lib/chargeback/ledger-read.ts";
import { shardName } from "../../lib/chargeback/ledger-shards.ts";
import { rational, toDecimalString } from "../../lib/chargeback/rational.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { type ControllerProcess, startController } from "./support/controller-process.ts";
import { client, departmentManifest, isReady, waitForDepartment } from "./support/govhost.ts";
import { eventually, uniqueName } from "./support/kube.ts";
import { playPod } from "./support/kubelet.ts";
import { calendarZoneAwayFromMonthEdges } from "./support/test-time-zone.ts";

// A department whose retained allocations outgrow what one ConfigMap may hold at a small shard threshold
// (GOVHOST_LEDGER_SHARD_BYTES=1024): the ledger spreads over several ConfigMaps behind its head, the
// statement stays exact to the minor unit, also across a SIGKILL in the middle of recording and with a
// second replica, and a hand-edited head is reported without the controller stopping or a change lost.
// Finished pods that still exist are never folded (a Job keeps them), so they stay in the ledger like
// running ones and give exact figures; running pods in dev add open allocations.

const threshold = 1024;
// Pods are backdated 25 minutes: months are counted where no month edge is near (support/test-time-zone.ts).
const timeZone = calendarZoneAwayFromMonthEdges();
const env = {
  GOVHOST_TIMEZONE: timeZone,
  GOVHOST_LEDGER_SHARD_BYTES: String(threshold),
  GOVHOST_METERING_REFRESH_MS: "2000",
};
const dept = uniqueName("s");
const platform = "govhost-system";
let admin: KubeClient;
let controller: ControllerProcess;
let standby: ControllerProcess | undefined;

beforeAll(async () => {
  admin = await client();
  controller = await startController({ identity: "shards-1", env });
  await admin.create(
    departmentManifest(dept, {
      environments: ["dev", "prod"],
      quota: { cpu: "32", memory: "64Gi", storage: "10Gi", pods: 200, eServices: 2, publicEndpoints: 1 },
    }),
  );
  await waitForDepartment(admin, dept, isReady);
});

afterAll(async () => {
  await standby?.stop();
  await controller?.stop();
  admin?.close();
});

const second = 1000;
const base = Math.floor((Date.now() - 25 * 60_000) / second) * second;
const period = periodOf(base, timeZone);
/** Σ millicores × ms of the finished prod pods so far (250m and 256Mi each). */
let milliMs = 0n;
let finished = 0;

async function finishPods(count: number, between?: () => Promise<void>) {
  for (let k = 0; k < count; k++) {
    const n = finished++;
    const start = base + 60 * second + n * 7 * second;
    const end = start + ((n % 9) + 1) * 13 * second;
    await playPod(admin, {
      namespace: `${dept}-prod`,
      name: `job-${n}`,
      cpu: "250m",
      memory: "256Mi",
      start,
      end,
    });
    milliMs += 250n * BigInt(end - start);
    if (k === Math.floor(count / 2)) await between?.();
  }
}

/** The prod lines the statement must show: cpu at 35 cents per core-hour, memory (1/4 GiB) at 4.5. */
async function exactStatement() {
  const cpu = toDecimalString(rational(milliMs, 3_600_000_000n));
  const memory = toDecimalString(rational(milliMs, 1000n * 3_600_000n));
  const round = (n: bigint, d: bigint) => Number((2n * n + d) / (2n * d));
  const expected = [
    { resource: "cpu", quantity: cpu, amountMinor: round(milliMs * 35n, 3_600_000_000n) },
    { resource: "memory", quantity: memory, amountMinor: round(milliMs * 45n, 10n * 1000n * 3_600_000n) },
  ];
  const prod = await eventually(
    `statement ${dept}-${period} to show ${finished} finished pods exactly`,
    async () => {
      const s = await admin.find<ChargebackStatement & KubeObject>(
        resources.chargebackStatement,
        `${dept}-${period}`,
      );
      const lines = (s?.spec.lines ?? [])
        .filter((l) => l.environment === "prod")
        .map((l) => ({ resource: l.resource, quantity: l.quantity, amountMinor: l.amountMinor }));
      return lines.length === 2 && lines[0]?.quantity === cpu && lines[1]?.quantity === memory
        ? lines
        : undefined;
    },
    60_000,
  );
  expect(prod).toEqual(expected);
}

/** The ledger's ConfigMaps as stored: the head and its generation's shards. */
async function ledgerMaps() {
  const headMap = await findLedgerMap(admin, ledgerName(dept));
  const head = headOf(headMap);
  const shards: LedgerMap[] = [];
  for (let i = 0; i < head.shards && head.generation > 0; i++)
    shards.push(
      await admin.get<LedgerMap>(resources.configMap, shardName(dept, head.generation, i), platform),
    );
  return { headMap, head, shards };
}

/** Once the controller is done writing: several shards, each within the threshold, together beyond it. */
async function settledShards() {
  return eventually("the ledger to settle in shards within the threshold", async () => {
    const { head, shards } = await ledgerMaps();
    const weights = shards.map((s) => compressedSize(s));
    if (head.shards > 1 && !head.next && !head.retired && weights.every((w) => w <= threshold))
      return { head, weights, largest: Math.max(...shards.map((s) => storedSize(s))) };
    // Shown if it never settles: where the ledger stands.
    throw new Error(`head ${JSON.stringify(head)}, shard weights ${weights.join(", ")}`);
  });
}

async function ledgerChanges() {
  return (await readLedger(admin, dept)).flatMap((d) => ledgerOf(dept, d).changes);
}

async function metric(name: string): Promise<number | undefined> {
  const text = await fetch(`http://127.0.0.1:${controller.port}/metrics`).then((r) => r.text());
  const line = text.split("\n").find((l) => l.startsWith(`${name}{department="${dept}"}`));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

describe("a metering ledger larger than one object", () => {
  it("spreads over several ConfigMaps behind its head, with exact figures", async () => {
    const running: string[] = [];
    for (let i = 0; i < 8; i++) {
      await playPod(admin, {
        namespace: `${dept}-dev`,
        name: `web-${i}`,
        cpu: "100m",
        memory: "64Mi",
        start: base + i * second,
      });
      running.push(
        (await admin.get<KubeObject>(resources.pod, `web-${i}`, `${dept}-dev`)).metadata?.uid ?? "",
      );
    }
    await finishPods(40);
    await exactStatement();
    const { head, weights, largest } = await settledShards();
    // One object could not hold it at this threshold; the shards can.
    expect(weights.reduce((a, b) => a + b, 0)).toBeGreaterThan(threshold);
    expect(head.generation).toBeGreaterThanOrEqual(1);
    // The gauges follow at the next refresh, which reads every shard.
    await eventually("the ledger gauges to show the shards", async () =>
      (await metric("govhost_metering_ledger_shards")) === head.shards &&
      (await metric("govhost_metering_ledger_bytes")) === largest
        ? true
        : undefined,
    );
    const changes = await ledgerChanges();
    const keys = changes.map((c) => `${c.subject}|${c.resource}|${c.at}`);
    expect(new Set(keys).size).toBe(keys.length);
    // Each running pod is recorded once per resource, from its start, still open.
    for (const uid of running) {
      const mine = changes.filter((c) => c.subject === `pod/${uid}`);
      expect(mine.map((c) => [c.resource, c.amount > 0n])).toEqual([
        ["cpu", true],
        ["memory", true],
      ]);
    }
  });

  it("stays exact across a SIGKILL in the middle of recording, a restart and a second replica", async () => {
    await finishPods(30, async () => {
      await controller.kill();
      // Pods keep finishing while no controller runs; the next one derives them from the objects.
      await finishPods(5);
      controller = await startController({ identity: "shards-2", env });
      standby = await startController({ identity: "shards-3", env, waitReady: false });
    });
    await exactStatement();
    const { head } = await settledShards();
    const changes = await ledgerChanges();
    const keys = changes.map((c) => `${c.subject}|${c.resource}|${c.at}`);
    expect(new Set(keys).size).toBe(keys.length);
    // Nothing is left of earlier generations: the head and its shards are the department's only ledger maps.
    const maps = await admin.list<KubeObject>(resources.configMap, {
      namespace: platform,
      labelSelector: `govhost.io/department=${dept},govhost.io/component=metering`,
    });
    const expected = [
      ledgerName(dept),
      ...Array.from({ length: head.shards }, (_, i) => shardName(dept, head.generation, i)),
    ];
    expect(maps.items.map((m) => m.metadata?.name).sort()).toEqual(expected.sort());
  });

  it("reports a hand-edited head, keeps running, and records every change once it is repaired", async () => {
    const before = await ledgerMaps();
    const original = before.headMap?.data ?? {};
    const edited = await admin.replace<LedgerMap>({
      ...(before.headMap as LedgerMap),
      data: { head: '{"generation":1,"shards":"many"}' },
    });
    await finishPods(2);
    await eventually("the controller to report the ledger", async () =>
      (await metric("govhost_metering_ledger_unreadable")) === 1 &&
      controller.output().includes("the metering ledger cannot be trusted")
        ? true
        : undefined,
    );
    expect(await fetch(`http://127.0.0.1:${controller.port}/readyz`).then((r) => r.status)).toBe(200);
    // Nothing was written over the shards it can no longer trust.
    const versions = (maps: LedgerMap[]) => maps.map((m) => m.metadata?.resourceVersion);
    const shardsNow = await Promise.all(
      before.shards.map((s) => admin.get<LedgerMap>(resources.configMap, s.metadata?.name ?? "", platform)),
    );
    expect(versions(shardsNow)).toEqual(versions(before.shards));

    await admin.replace<LedgerMap>({ ...edited, data: original });
    await exactStatement();
    expect(await metric("govhost_metering_ledger_unreadable")).toBe(0);
  });

  it("retires generations with the controller's own rights: ConfigMaps deleted in the platform namespace only", async () => {
    const asController = await client({ user: "system:serviceaccount:govhost-system:govhost-controller" });
    const elsewhere = uniqueName("not-a-ledger");
    await admin.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: elsewhere, namespace: "default" },
    });
    try {
      const refused = await asController
        .delete(resources.configMap, elsewhere, "default")
        .catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 403 });
      expect(await admin.find(resources.configMap, elsewhere, "default")).toBeDefined();
    } finally {
      await admin.delete(resources.configMap, elsewhere, "default");
      asController.close();
    }
  });
});

import { randomInt } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChargebackStatement } from "../../controller/api/chargeback.ts";
import { periodOf } from "../../lib/chargeback/calendar.ts";
import { ledgerKeys, parse, type StoredLedger, storedLedger } from "../../lib/chargeback/ledger.ts";
import { rational, toDecimalString } from "../../lib/chargeback/rational.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resourcePath, resources } from "../../lib/kube/resources.ts";
import { type ControllerProcess, startController } from "../integration/support/controller-process.ts";
import { client, departmentManifest, isReady, waitForDepartment } from "../integration/support/govhost.ts";
import { eventually, uniqueName } from "../integration/support/kube.ts";
import { playPod } from "../integration/support/kubelet.ts";
import { ledgerData } from "../integration/support/pro-rata.ts";
import { calendarZoneAwayFromMonthEdges } from "../integration/support/test-time-zone.ts";

// Issue #17, finding 16: "a ledger ConfigMap past ~1 MiB stops metering". Performed as a tenant would, at
// the platform's defaults (no GOVHOST_LEDGER_SHARD_BYTES): a department developer runs many short pods that
// finish and are left in place, as a Job leaves its pods. Finished pods no longer count against the pod
// quota, and the ledger keeps the four allocation changes (start and end of cpu and memory) of every pod
// that still exists or ended less than 2 minutes ago (only then are gone pods folded). Nothing a tenant
// names reaches the ledger (a row is instant, pod uid, environment, resource, amount: no pod name or label),
// so all a tenant controls is how many pods, their requests (random, so they compress badly) and when they
// run: about 63 bytes of compressed ledger per pod, so 17,000 pods pass the API server's 1 MiB limit for one
// ConfigMap. Kubernetes' pod garbage collector keeps at most 12,500 finished pods (cluster-wide), so the
// pods here end as they are reported, and the test is over long before the first of them could fold; a
// tenant holds the ledger past the limit with a steady stream of short pods. Before ledger shards the write
// was refused and the department's metering stopped (its statement frozen, every later pod unbilled); now
// every pod, also one started after the ledger passed the limit, is billed to the minor unit. The pods cost
// the test run minutes on a 2-core machine: each is 2 requests and some 26 ms of CPU across the API server,
// etcd, the controller manager and the controller.

/** What the API server accepts in one ConfigMap's values: a department's whole ledger before shards. */
const configMapLimit = 1024 * 1024;
const attackPods = 17_000;
/** Pods the tenant creates at once (the machine's cores are the limit, not this). */
const concurrency = 20;

// Pods ran up to 5 minutes before they are reported: months are counted where no month edge is near.
const timeZone = calendarZoneAwayFromMonthEdges();
const dept = uniqueName("flood");
const namespace = `${dept}-prod`;
const second = 1000;
const period = periodOf(Date.now(), timeZone);
let admin: KubeClient;
let tenant: KubeClient;
let controller: ControllerProcess;

beforeAll(async () => {
  admin = await client();
  tenant = admin.impersonating({ user: "mallory", groups: [`${dept}-developers`] });
  // Only the calendar is set: the ledger's shard and compaction limits are the defaults under attack.
  controller = await startController({ identity: "ledger-flood", env: { GOVHOST_TIMEZONE: timeZone } });
  await admin.create(
    departmentManifest(dept, {
      environments: ["prod"],
      // A pod quota far below the pods created: finished pods do not count against it.
      quota: { cpu: "64", memory: "64Gi", storage: "1Gi", pods: 500, eServices: 1, publicEndpoints: 1 },
    }),
  );
  await waitForDepartment(admin, dept, isReady);
});

afterAll(async () => {
  // The run's control plane is shared: the pods, the department and its ledger go while this file's
  // controller still runs (it finalizes the department), so the next file's controller does not inherit
  // 17,000 pods and a department deletion to work through.
  await admin?.call("DELETE", resourcePath(resources.pod, { namespace })).catch(() => undefined);
  await admin?.delete(resources.department, dept).catch(() => undefined);
  await eventually(
    `department ${dept}, its namespace and its pods to be gone`,
    async () => ((await admin.find(resources.department, dept)) ? undefined : true),
    300_000,
  );
  await controller?.stop();
  admin?.close();
}, 360_000);

/** Σ millicores × ms and Σ bytes × ms of the pods played so far (all finished, none open). */
const held = { cpuMilliMs: 0n, memoryByteMs: 0n, pods: 0 };

async function play(name: string, cpuMilli: number, memoryBytes: number, start: number, end: number) {
  await playPod(
    admin,
    { namespace, name, cpu: `${cpuMilli}m`, memory: String(memoryBytes), start, end },
    { tenant, reportFinishedOnly: true },
  );
  held.cpuMilliMs += BigInt(cpuMilli) * BigInt(end - start);
  held.memoryByteMs += BigInt(memoryBytes) * BigInt(end - start);
  held.pods++;
}

/** Runs `work(0..count-1)`, at most `limit` at a time. */
async function inParallel(count: number, limit: number, work: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

/** The controller's log lines about its ledger or failed metering flushes. */
function ledgerTrouble(): string[] {
  return controller
    .output()
    .split("\n")
    .filter((l) => /ledger is full|cannot be trusted|metering flush failed/.test(l));
}

/**
 * Waits for the statement to hold exactly the lines the pods played so far make, computed here: prod cpu at
 * 35 per core-hour and memory at 4.5 per GiB-hour, each line rounded once, and nothing else.
 */
async function billedExactly(timeoutMs: number) {
  const hourMs = 3_600_000n;
  const gib = 2n ** 30n;
  const round = (n: bigint, d: bigint) => Number((2n * n + d) / (2n * d));
  const expected = [
    {
      environment: "prod",
      resource: "cpu",
      quantity: toDecimalString(rational(held.cpuMilliMs, 1000n * hourMs)),
      amountMinor: round(held.cpuMilliMs * 35n, 1000n * hourMs),
    },
    {
      environment: "prod",
      resource: "memory",
      quantity: toDecimalString(rational(held.memoryByteMs, gib * hourMs)),
      amountMinor: round(held.memoryByteMs * 45n, 10n * gib * hourMs),
    },
  ];
  const lines = await eventually(
    `statement ${dept}-${period} to bill all ${held.pods} pods exactly`,
    async () => {
      const s = await admin.find<ChargebackStatement & KubeObject>(
        resources.chargebackStatement,
        `${dept}-${period}`,
      );
      const billed = (s?.spec.lines ?? []).map((l) => ({
        environment: l.environment,
        resource: l.resource,
        quantity: l.quantity,
        amountMinor: l.amountMinor,
      }));
      if (JSON.stringify(billed) === JSON.stringify(expected)) return billed;
      // Shown if it never comes: what is billed instead, and what the controller last said about its ledger.
      throw new Error(
        `billed ${JSON.stringify(billed)}, expected ${JSON.stringify(expected)}; controller: ${ledgerTrouble().at(-1)?.slice(0, 500) ?? "(nothing about its ledger)"}`,
      );
    },
    timeoutMs,
  );
  expect(lines).toEqual(expected);
}

/** Bytes a ConfigMap's values count against the API server's limit (binaryData decoded). */
function storedBytes(map: StoredLedger): number {
  return (
    Object.values(map.data ?? {}).reduce((n, v) => n + Buffer.byteLength(v), 0) +
    Object.values(map.binaryData ?? {}).reduce((n, v) => n + Buffer.byteLength(v, "base64"), 0)
  );
}

/**
 * The department's ledger: its size stored as one ConfigMap (ledgerData reads it as a single ledger holds
 * it), and the allocation changes of its pods.
 */
async function ledger() {
  const data = await ledgerData(admin, dept);
  const changes = parse(dept, data[ledgerKeys.changes]).changes.filter((c) => c.subject.startsWith("pod/"));
  return { asOneObject: storedBytes(storedLedger(data)), changes };
}

describe("a tenant flooding its department's metering ledger (issue #17)", () => {
  it("grows the ledger past what one ConfigMap holds, yet every pod is billed exactly, also one started after", async () => {
    const started = Date.now();
    await inParallel(attackPods, concurrency, (i) => {
      // Random requests and instants compress worst. Each pod ended in the last minute, after up to 4.
      const end = Math.floor(Date.now() / second) * second - randomInt(0, 61) * second;
      const start = end - randomInt(1, 241) * second;
      return play(`job-${i}`, randomInt(1, 251), randomInt(16_000_000, 268_000_000), start, end);
    });
    const created = Date.now();
    // One more pod once the ledger is past the limit: before shards, metering had stopped by then.
    const after = Math.floor((Date.now() - 60_000) / second) * second;
    await play("after-the-flood", 500, 512 * 1024 * 1024, after, after + 37 * second);
    await billedExactly(90_000);
    const billed = Date.now();

    const { asOneObject, changes } = await ledger();
    // The attack reached its goal: as one object, the department's ledger is more than the API server takes.
    expect(asOneObject).toBeGreaterThan(configMapLimit);
    // Every pod recorded, each change once: a start and an end for cpu and memory.
    const keys = new Set(changes.map((c) => `${c.subject}|${c.resource}|${c.at}`));
    expect(keys.size).toBe(changes.length);
    expect(new Set(changes.map((c) => c.subject)).size).toBe(attackPods + 1);
    expect(changes.length).toBe(4 * (attackPods + 1));
    const uid = (await admin.get<KubeObject>(resources.pod, "after-the-flood", namespace)).metadata?.uid;
    const last = changes
      .filter((c) => c.subject === `pod/${uid}`)
      .map((c) => `${c.resource} ${c.at - after} ${c.amount}`)
      .sort();
    expect(last).toEqual(["cpu 0 500", "cpu 37000 0", "memory 0 536870912", "memory 37000 0"]);
    // Stored, it is spread over several ConfigMaps, each within the limit.
    const maps = await admin.list<KubeObject & StoredLedger>(resources.configMap, {
      namespace: "govhost-system",
      labelSelector: `govhost.io/department=${dept},govhost.io/component=metering`,
    });
    const sizes = maps.items.map(storedBytes);
    expect(sizes.length).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(configMapLimit);
    process.stderr.write(
      `ledger flood: ${attackPods} pods created in ${((created - started) / 1000).toFixed(1)} s, all billed ${((billed - created) / 1000).toFixed(1)} s later; the ledger is ${asOneObject} bytes as one object, stored in ${sizes.length} ConfigMaps of at most ${Math.max(...sizes)} bytes\n`,
    );
  }, 600_000);

  it("leaves the controller running, with no metering flush failed and nothing wrong with its ledger", async () => {
    expect(controller.process.exitCode).toBeNull();
    expect(await fetch(`http://127.0.0.1:${controller.port}/readyz`).then((r) => r.status)).toBe(200);
    expect(ledgerTrouble()).toEqual([]);
  });
});

import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChargebackStatement } from "../../controller/api/chargeback.ts";
import { periodOf } from "../../lib/chargeback/calendar.ts";
import { ledgerKeys, ledgerOf } from "../../lib/chargeback/ledger.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { type ControllerProcess, startController } from "./support/controller-process.ts";
import { client, departmentManifest, isReady, waitForDepartment } from "./support/govhost.ts";
import { eventually, uniqueName } from "./support/kube.ts";
import { playPod } from "./support/kubelet.ts";
import { ledgerData } from "./support/pro-rata.ts";
import { calendarZoneAwayFromMonthEdges } from "./support/test-time-zone.ts";

// #18: the controller SIGKILLed every few seconds while pods come, run, finish and are deleted, and while
// Departments are created. Each time it comes straight back as the same replica (a container restarted in
// its pod keeps the pod's name, so it takes its own lease at once). Afterwards the month's statement must
// equal, line by line to the minor unit, a brute-force computation from the pods' own timestamps: nothing
// lost, nothing counted twice. The brute force is written here, independently of the cost engine.

const timeZone = calendarZoneAwayFromMonthEdges();
// A 2 KiB compaction threshold makes the ledger fold deleted pods while the kills go on, and a 2 s refresh
// gives it a flush to fold in after the last deletion.
const env = {
  GOVHOST_TIMEZONE: timeZone,
  GOVHOST_LEDGER_COMPACT_BYTES: "2048",
  GOVHOST_METERING_REFRESH_MS: "2000",
};
const dept = uniqueName("chaos");
const identity = `chaos-${process.pid}`;
const minute = 60_000;
const hourMs = 3_600_000n;
const gibibyte = 1024n ** 3n;

let admin: KubeClient;
let controller: ControllerProcess;

interface PlayedPod {
  environment: "dev" | "prod";
  name: string;
  cpuMilli: bigint;
  memoryBytes: bigint;
  /** When it ran, as played; what counts is what the API server stored (whole seconds), read back. */
  start: number;
  end: number;
  uid?: string;
}

type PodTimes = KubeObject & {
  status?: {
    startTime?: string;
    containerStatuses?: { state?: { terminated?: { finishedAt?: string } } }[];
  };
};

/** Exact division of a non-negative fraction, rounded half up (as statements round each line). */
const roundHalfUp = (numerator: bigint, denominator: bigint) =>
  (2n * numerator + denominator) / (2n * denominator);

/**
 * The statement lines the pods must produce at the default rate card: 35 cents per core-hour and 4.5 cents
 * per GiB-hour of requests, summed per environment over the pods' whole run, rounded once per line.
 */
function bruteForceLines(pods: PlayedPod[]): Map<string, number> {
  const lines = new Map<string, number>();
  for (const environment of ["dev", "prod"] as const) {
    const mine = pods.filter((p) => p.environment === environment);
    if (mine.length === 0) continue;
    let cpuMilliMs = 0n;
    let memoryByteMs = 0n;
    for (const pod of mine) {
      const ms = BigInt(pod.end - pod.start);
      cpuMilliMs += pod.cpuMilli * ms;
      memoryByteMs += pod.memoryBytes * ms;
    }
    lines.set(`${environment}/cpu`, Number(roundHalfUp(cpuMilliMs * 35n, 1000n * hourMs)));
    lines.set(`${environment}/memory`, Number(roundHalfUp(memoryByteMs * 45n, gibibyte * hourMs * 10n)));
  }
  return lines;
}

beforeAll(async () => {
  admin = await client();
  controller = await startController({ identity, env });
  await admin.create(
    departmentManifest(dept, {
      environments: ["dev", "prod"],
      quota: { cpu: "64", memory: "256Gi", storage: "1Ti", pods: 200, eServices: 5, publicEndpoints: 5 },
    }),
  );
  await waitForDepartment(admin, dept, isReady);
});

afterAll(async () => {
  await controller?.stop();
  for (const name of [dept, ...Array.from({ length: 4 }, (_, i) => `${dept}-new${i}`)])
    await admin?.delete(resources.department, name).catch(() => {});
  admin?.close();
});

describe("the controller SIGKILLed every few seconds", () => {
  it("converges: every Department Ready, and the statement equals the brute force from the pods' timestamps", async () => {
    // 40 pods that ran within the last 50 minutes (no month edge is near in this time zone), each reported
    // running and then finished by the test's kubelet, a third of them deleted afterwards; the kills go on
    // until the last deletion.
    const base = Date.now() - 50 * minute;
    const pods: PlayedPod[] = Array.from({ length: 40 }, (_, i) => ({
      environment: i % 2 === 0 ? "prod" : "dev",
      name: `job-${i}`,
      cpuMilli: BigInt(250 * ((i % 4) + 1)),
      memoryBytes: BigInt((i % 3) + 1) * 512n * 1024n ** 2n,
      start: base + i * 30_000 + (i % 7) * 1_013,
      end: base + i * 30_000 + (i % 7) * 1_013 + (3 + ((i * 7) % 25)) * minute + (i % 5) * 997,
    }));

    // A pod is deleted 15 s after it finished: a pod whose whole life falls while no controller runs is
    // not metered (a limit docs/metering.md states); one that a controller saw is never lost.
    const deletions: Promise<unknown>[] = [];
    let playing = true;
    const player = (async () => {
      try {
        for (const pod of pods) {
          const namespace = `${dept}-${pod.environment}`;
          await playPod(admin, {
            namespace,
            name: pod.name,
            cpu: `${pod.cpuMilli}m`,
            memory: `${pod.memoryBytes}`,
            start: pod.start,
            end: pod.end,
          });
          const stored = await admin.get<PodTimes>(resources.pod, pod.name, namespace);
          pod.uid = stored.metadata?.uid;
          pod.start = Date.parse(stored.status?.startTime ?? "");
          pod.end = Date.parse(stored.status?.containerStatuses?.[0]?.state?.terminated?.finishedAt ?? "");
          if (Number(pod.name.split("-")[1]) % 3 === 0)
            deletions.push(sleep(15_000).then(() => admin.delete(resources.pod, pod.name, namespace)));
          await sleep(300);
        }
        await Promise.all(deletions);
      } finally {
        playing = false;
      }
    })();
    const created = (async () => {
      for (let i = 0; i < 4; i++) {
        await sleep(2_500);
        await admin.create(departmentManifest(`${dept}-new${i}`, { environments: ["dev", "prod"] }));
      }
    })();

    let kills = 0;
    while (playing || kills < 6) {
      await sleep(2_000 + (kills % 3) * 700);
      await controller.kill();
      kills++;
      controller = await startController({ identity, env });
    }
    await player;
    await created;
    expect(pods.every((p) => Number.isFinite(p.start) && p.end > p.start)).toBe(true);

    for (let i = 0; i < 4; i++) await waitForDepartment(admin, `${dept}-new${i}`, isReady, "Ready", 60_000);
    const expected = bruteForceLines(pods);
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    const name = `${dept}-${periodOf(base, timeZone)}`;
    const statement = await eventually(
      `statement ${name} to total ${total}`,
      async () => {
        const s = await admin.find<ChargebackStatement & KubeObject>(resources.chargebackStatement, name);
        return s?.spec.totalMinor === total ? s : undefined;
      },
      60_000,
    );
    const lines = new Map(statement.spec.lines.map((l) => [`${l.environment}/${l.resource}`, l.amountMinor]));
    process.stderr.write(
      `metering chaos: ${kills} SIGKILLs, ${pods.length} pods, statement ${JSON.stringify(Object.fromEntries(lines))}, brute force ${JSON.stringify(Object.fromEntries(expected))}\n`,
    );
    expect(lines).toEqual(expected);
    expect(kills).toBeGreaterThanOrEqual(6);
    // Deleted pods were folded into integrals (a shard compacts once foldable ends are an eighth of its
    // changes, so the last few may wait for more), and no pod still present was.
    const deleted = pods.filter((p) => Number(p.name.split("-")[1]) % 3 === 0);
    const left = await eventually("the ledger to fold the deleted pods", async () => {
      const data = await ledgerData(admin, dept);
      const subjects = new Set(
        ledgerOf(dept, data)
          .changes.map((c) => c.subject)
          .filter((s) => s.startsWith("pod/")),
      );
      const foldedAway = deleted.filter((p) => !subjects.has(`pod/${p.uid}`));
      return data[ledgerKeys.folded] && foldedAway.length > 0 ? subjects : undefined;
    });
    for (const pod of pods.filter((p) => !deleted.includes(p))) expect(left).toContain(`pod/${pod.uid}`);
    // Priced from the folded ledger (a refresh every 2 s, pricing at most every 5 s for a ledger this
    // small), the statement is the brute force still: a wrong figure would have been written by now.
    await sleep(8_000);
    const after = await admin.get<ChargebackStatement & KubeObject>(resources.chargebackStatement, name);
    expect(after.spec.totalMinor).toBe(total);
  }, 600_000);
});

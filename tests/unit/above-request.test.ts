import { describe, expect, it } from "vitest";
import {
  type AboveRequestUsage,
  aboveRequestChanges,
  aboveRequestItem,
  accumulate,
  compactUsage,
  type PodReading,
  parseUsage,
  podReading,
  serializeUsage,
} from "../../lib/chargeback/above-request.ts";
import { podAllocationChanges } from "../../lib/chargeback/allocations.ts";
import { periodBounds } from "../../lib/chargeback/calendar.ts";
import { integrate, statementLines } from "../../lib/chargeback/engine.ts";
import { billedChanges, ledgerKeys, serialize } from "../../lib/chargeback/ledger.ts";
import { add, rational, zero } from "../../lib/chargeback/rational.ts";
import { flatPriceVersion } from "../fixtures/prices.ts";

const timeZone = "Asia/Hong_Kong";
const minute = 60_000;
const t0 = Date.parse("2026-11-10T02:00:00Z");
const poll = { intervalMs: minute, maxGapMs: 3 * minute, timeZone };

const reading = (cpu: { request: bigint; usage: bigint }, start = t0 - 3_600_000): PodReading => ({
  environment: "prod",
  start,
  request: { cpu: cpu.request, memory: 256n * 2n ** 20n },
  usage: { cpu: cpu.usage, memory: 100n * 2n ** 20n },
});

describe("usage above requests", () => {
  it("counts only the part of usage above the request, for the time since the last poll", () => {
    const first = accumulate({ buckets: [] }, [reading({ request: 100n, usage: 300n })], {
      ...poll,
      now: t0,
    });
    // No watermark yet: the reading stands for one poll interval. Memory is under its request.
    expect(first.through).toBe(t0);
    expect(first.buckets).toEqual([
      {
        at: Date.parse("2026-11-09T16:00:00Z"),
        environment: "prod",
        resource: "cpu",
        item: aboveRequestItem,
        amountMs: 200n * 60_000n,
      },
    ]);
    const second = accumulate(first, [reading({ request: 100n, usage: 150n })], {
      ...poll,
      now: t0 + 30_000,
    });
    expect(second.buckets[0]?.amountMs).toBe(200n * 60_000n + 50n * 30_000n);
  });

  it("never counts an interval twice: a replay at the watermark changes nothing", () => {
    const once = accumulate({ buckets: [] }, [reading({ request: 100n, usage: 300n })], { ...poll, now: t0 });
    const replay = accumulate(once, [reading({ request: 100n, usage: 900n })], { ...poll, now: t0 });
    expect(replay).toBe(once);
    const stale = accumulate(once, [reading({ request: 100n, usage: 900n })], { ...poll, now: t0 - 5_000 });
    expect(stale).toBe(once);
  });

  it("advances the watermark when nothing is above requests", () => {
    const usage = accumulate({ buckets: [] }, [reading({ request: 500n, usage: 300n })], {
      ...poll,
      now: t0,
    });
    expect(usage).toEqual({ through: t0, buckets: [] });
  });

  it("starts a pod's count at its start and caps a gap after an outage", () => {
    const late = accumulate({ buckets: [] }, [reading({ request: 0n, usage: 1000n }, t0 - 10_000)], {
      ...poll,
      now: t0,
    });
    expect(late.buckets[0]?.amountMs).toBe(1000n * 10_000n);
    const afterOutage = accumulate(
      { through: t0 - 3_600_000, buckets: [] },
      [reading({ request: 0n, usage: 1000n })],
      { ...poll, now: t0 },
    );
    expect(afterOutage.buckets[0]?.amountMs).toBe(1000n * 3n * 60_000n);
  });

  it("splits at local midnight, so each day (and month) gets its own part", () => {
    const midnight = Date.parse("2026-11-30T16:00:00Z"); // 1 December, 00:00 in Hong Kong
    const usage = accumulate(
      { through: midnight - 20_000, buckets: [] },
      [reading({ request: 100n, usage: 400n })],
      { ...poll, now: midnight + 40_000 },
    );
    expect(usage.buckets.map((b) => [new Date(b.at).toISOString(), b.amountMs])).toEqual([
      ["2026-11-29T16:00:00.000Z", 300n * 20_000n],
      ["2026-11-30T16:00:00.000Z", 300n * 40_000n],
    ]);
  });

  it("reads a pod's usage from its PodMetrics (nanocores, Ki) against its effective requests", () => {
    const pod = {
      metadata: { name: "web", namespace: "immd-prod" },
      spec: { containers: [{ resources: { requests: { cpu: "100m", memory: "64Mi" } } }] },
      status: { phase: "Running", startTime: "2026-11-10T01:00:00Z" },
    };
    const metrics = {
      containers: [
        { usage: { cpu: "250000000n", memory: "131072Ki" } },
        { usage: { cpu: "1500000n", memory: "1Mi" } },
      ],
    };
    expect(podReading(pod, metrics, "prod")).toEqual({
      environment: "prod",
      start: Date.parse("2026-11-10T01:00:00Z"),
      request: { cpu: 100n, memory: 64n * 2n ** 20n },
      usage: { cpu: 251n, memory: 129n * 2n ** 20n },
    });
    expect(
      podReading({ ...pod, status: { ...pod.status, phase: "Succeeded" } }, metrics, "prod"),
    ).toBeUndefined();
    expect(podReading({ ...pod, status: {} }, metrics, "prod")).toBeUndefined();
  });

  it("bills max(request, usage) exactly as a brute force over the poll readings does", () => {
    // A pod requesting 200m runs 09:00-09:10 (Hong Kong); the metrics API reads 150m, 500m, 200m, 1.2 cores,
    // 0 at successive polls. The brute force bills each second at max(request, the reading that covers it).
    const start = Date.parse("2026-11-10T01:00:00Z");
    const polls = [
      { at: start + 2 * minute, cpu: 150n },
      { at: start + 4 * minute, cpu: 500n },
      { at: start + 6 * minute, cpu: 200n },
      { at: start + 7 * minute, cpu: 1200n },
      { at: start + 10 * minute, cpu: 0n },
    ];
    let usage: AboveRequestUsage = { through: start, buckets: [] };
    for (const p of polls) {
      usage = accumulate(usage, [reading({ request: 200n, usage: p.cpu }, start)], {
        ...poll,
        now: p.at,
      });
    }
    const podObject = {
      metadata: { uid: "u-9" },
      spec: { containers: [{ resources: { requests: { cpu: "200m" } } }] },
      status: { phase: "Running", startTime: new Date(start).toISOString() },
    };
    const owner = { department: "immd", environment: "prod" };
    const requests = podAllocationChanges(podObject, owner).filter((c) => c.resource === "cpu");
    requests.push({ ...(requests[0] as (typeof requests)[0]), at: start + 10 * minute, amount: 0n });
    const changes = [...requests, ...aboveRequestChanges("immd", usage)];
    const bounds = periodBounds("2026-11", timeZone);
    const lines = integrate(changes, [flatPriceVersion("v1", 0)], bounds);

    let milliSeconds = 0n; // millicore-seconds, by brute force
    for (let s = start; s < start + 10 * minute; s += 1000) {
      const covering = polls.find((p) => s < p.at) as (typeof polls)[0];
      milliSeconds += covering.cpu > 200n ? covering.cpu : 200n;
    }
    expect(lines.map((l) => l.item ?? "requests")).toEqual(["requests", aboveRequestItem]);
    const coreHours = lines.reduce((sum, l) => add(sum, l.quantity), zero);
    expect(coreHours).toEqual(rational(milliSeconds, 1000n * 3600n));
    const { lines: statement } = statementLines(lines);
    expect(statement[1]).toMatchObject({ resource: "cpu", unit: "core-hour", item: aboveRequestItem });
  });

  it("is billed in consumed mode only, and survives serialization and compaction", () => {
    const usage = accumulate({ buckets: [] }, [reading({ request: 100n, usage: 300n })], {
      ...poll,
      now: t0,
    });
    const data = {
      [ledgerKeys.changes]: serialize({ department: "immd", changes: [] }),
      [ledgerKeys.aboveRequest]: serializeUsage(usage),
    };
    expect(parseUsage(data[ledgerKeys.aboveRequest])).toEqual(usage);
    expect(billedChanges("immd", data, "consumed").map((c) => c.amount)).toEqual([200n * 60_000n, 0n]);
    expect(billedChanges("immd", data, "reserved")).toEqual([]);
    expect(compactUsage(usage, Date.parse("2026-12-01T00:00:00+08:00")).buckets).toEqual([]);
    expect(compactUsage(usage, Date.parse("2026-11-01T00:00:00+08:00"))).toEqual(usage);
  });
});

import { parseMilli } from "../tenancy/quantity.ts";
import { effectiveRequest, type PodLike } from "./allocations.ts";
import { dayStart } from "./calendar.ts";
import type { AllocationChange } from "./engine.ts";

// `consumed` mode bills max(request, usage). Requests are integrated exactly from the pods' timestamps
// (allocations.ts); this module adds the part of measured usage above the requests. Usage is a rate read
// from the metrics API (metrics.k8s.io), so this part is sampled: each poll's reading stands for the time
// since the previous poll. It is accumulated per environment, resource and local day, with a watermark
// (`through`) stored alongside, so a restart or a second replica never counts an interval twice.

export type UsageResource = "cpu" | "memory";
export const usageResources: readonly UsageResource[] = ["cpu", "memory"];

/** Usage above requests in one environment during one local day: Σ excess × ms (millicores or bytes). */
export interface AboveRequestBucket {
  day: number;
  environment: string;
  resource: UsageResource;
  amountMs: bigint;
}

/** What the ledger keeps of usage above requests: the buckets and the instant counted up to. */
export interface AboveRequestUsage {
  through?: number;
  buckets: AboveRequestBucket[];
}

/** One running pod's reading: its requests and measured usage (cpu in millicores, memory in bytes). */
export interface PodReading {
  environment: string;
  /** When the pod started holding resources; nothing before it is counted. */
  start: number;
  request: Record<UsageResource, bigint>;
  usage: Record<UsageResource, bigint>;
}

export interface PodMetricsLike {
  metadata?: { name?: string; namespace?: string };
  containers?: { usage?: Record<string, string> }[];
}

export const aboveRequestItem = "usage above requests";

/** A pod's reading, or undefined when it does not hold resources now (not started, finished, deleting). */
export function podReading(
  pod: PodLike,
  metrics: PodMetricsLike,
  environment: string,
): PodReading | undefined {
  const start = Date.parse(pod.status?.startTime ?? "");
  const phase = pod.status?.phase;
  if (Number.isNaN(start) || phase === "Succeeded" || phase === "Failed" || pod.metadata?.deletionTimestamp)
    return undefined;
  const used = (resource: UsageResource) =>
    (metrics.containers ?? []).reduce((sum, c) => {
      const value = c.usage?.[resource];
      return value ? sum + parseMilli(value) : sum;
    }, 0n);
  return {
    environment,
    start,
    request: { cpu: effectiveRequest(pod, "cpu"), memory: effectiveRequest(pod, "memory") / 1000n },
    usage: { cpu: used("cpu"), memory: used("memory") / 1000n },
  };
}

const bucketKey = (b: { day: number; environment: string; resource: UsageResource }) =>
  `${b.day}|${b.environment}|${b.resource}`;

/** The local day boundaries cutting [from, to), as consecutive pieces. */
function dayPieces(from: number, to: number, timeZone: string): { day: number; from: number; to: number }[] {
  const pieces: { day: number; from: number; to: number }[] = [];
  for (let at = from; at < to; ) {
    const day = dayStart(at, timeZone);
    // 26 hours past a local midnight is always inside the next local day (days last 23 to 25 hours).
    const next = dayStart(day + 26 * 3_600_000, timeZone);
    const end = Math.min(to, next);
    pieces.push({ day, from: at, to: end });
    at = end;
  }
  return pieces;
}

/**
 * Counts each pod's usage above its requests over (from, `now`], where `from` is what was already counted
 * (`through`), else one poll interval back, and never more than `maxGapMs` back: after an outage longer
 * than that, the current reading is not stretched over it (the gap goes uncounted, in the department's
 * favour). Pure: the same readings and watermark give the same result, and the watermark moves to `now`.
 */
export function accumulate(
  usage: AboveRequestUsage,
  readings: PodReading[],
  window: { now: number; intervalMs: number; maxGapMs: number; timeZone: string },
): AboveRequestUsage {
  const { now, timeZone } = window;
  if (usage.through !== undefined && usage.through >= now) return usage;
  const from = Math.max(usage.through ?? now - window.intervalMs, now - window.maxGapMs);
  const buckets = new Map(usage.buckets.map((b) => [bucketKey(b), { ...b }]));
  for (const reading of readings) {
    const podFrom = Math.max(from, reading.start);
    if (podFrom >= now) continue;
    for (const resource of usageResources) {
      const excess = reading.usage[resource] - reading.request[resource];
      if (excess <= 0n) continue;
      for (const piece of dayPieces(podFrom, now, timeZone)) {
        const key = bucketKey({ day: piece.day, environment: reading.environment, resource });
        const amountMs = excess * BigInt(piece.to - piece.from);
        const bucket = buckets.get(key);
        if (bucket) bucket.amountMs += amountMs;
        else buckets.set(key, { day: piece.day, environment: reading.environment, resource, amountMs });
      }
    }
  }
  return { through: now, buckets: [...buckets.values()].sort((a, b) => a.day - b.day) };
}

/** Drops days before `cutoff` (a month start: those months' statements are final). */
export function compactUsage(usage: AboveRequestUsage, cutoff: number): AboveRequestUsage {
  return { ...usage, buckets: usage.buckets.filter((b) => b.day >= cutoff) };
}

/**
 * Each day's usage above requests as allocation changes the cost engine prices like any other: an
 * allocation of Σ excess × ms held for 1 ms from the start of the day, so its integral is exactly the
 * bucket, priced at the rate card version in force at the start of that day, on its own statement line.
 */
export function aboveRequestChanges(department: string, usage: AboveRequestUsage): AllocationChange[] {
  return usage.buckets.flatMap((b) => {
    const base = {
      subject: `above-request/${b.environment}/${b.resource}/${b.day}`,
      department,
      environment: b.environment,
      resource: b.resource,
      item: aboveRequestItem,
    };
    return [
      { ...base, at: b.day, amount: b.amountMs },
      { ...base, at: b.day + 1, amount: 0n },
    ];
  });
}

type BucketRow = [day: number, environment: string, resource: UsageResource, amountMs: string];

export function serializeUsage(usage: AboveRequestUsage): string {
  const rows: BucketRow[] = usage.buckets.map((b) => [
    b.day,
    b.environment,
    b.resource,
    b.amountMs.toString(),
  ]);
  return JSON.stringify({ through: usage.through, buckets: rows });
}

export function parseUsage(text: string | undefined): AboveRequestUsage {
  if (!text) return { buckets: [] };
  const stored = JSON.parse(text) as { through?: number; buckets?: BucketRow[] };
  return {
    ...(typeof stored.through === "number" ? { through: stored.through } : {}),
    buckets: (stored.buckets ?? []).map(([day, environment, resource, amountMs]) => ({
      day,
      environment,
      resource,
      amountMs: BigInt(amountMs),
    })),
  };
}

import { parseMilli } from "../kube/quantity.ts";
import { effectiveRequest, eserviceOf, type PodLike } from "./allocations.ts";
import { BucketSet, bucketChanges, bucketRows, bucketsFromRows, type IntegralBucket } from "./buckets.ts";
import type { AllocationChange } from "./engine.ts";

// `consumed` mode bills max(request, usage). Requests are integrated exactly from the pods' timestamps
// (allocations.ts); this module adds the part of measured usage above the requests. Usage is a rate read
// from the metrics API (metrics.k8s.io), so this part is sampled: each poll's reading stands for the time
// since the previous poll. It is accumulated per environment, e-service, resource and local day, with a watermark
// (`through`) stored alongside, so a restart or a second replica never counts an interval twice.

export type UsageResource = "cpu" | "memory";
export const usageResources: readonly UsageResource[] = ["cpu", "memory"];

/**
 * What the ledger keeps of usage above requests: per environment, e-service, resource and local day, Σ excess × ms
 * (millicores or bytes), and the instant counted up to.
 */
export interface AboveRequestUsage {
  through?: number;
  buckets: IntegralBucket[];
}

/** One running pod's reading: its requests and measured usage (cpu in millicores, memory in bytes). */
export interface PodReading {
  environment: string;
  /** The e-service whose pod it is (the platform-owned label), for lines per e-service. */
  eservice?: string;
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
    ...eserviceOf(pod.metadata),
    start,
    request: { cpu: effectiveRequest(pod, "cpu"), memory: effectiveRequest(pod, "memory") / 1000n },
    usage: { cpu: used("cpu"), memory: used("memory") / 1000n },
  };
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
  const buckets = new BucketSet(usage.buckets);
  for (const reading of readings) {
    const podFrom = Math.max(from, reading.start);
    if (podFrom >= now) continue;
    for (const resource of usageResources) {
      const excess = reading.usage[resource] - reading.request[resource];
      if (excess <= 0n) continue;
      const line = {
        environment: reading.environment,
        ...(reading.eservice ? { eservice: reading.eservice } : {}),
        resource,
        item: aboveRequestItem,
      };
      buckets.add(line, excess, podFrom, now, timeZone);
    }
  }
  return { through: now, buckets: buckets.list() };
}

/** Drops days before `cutoff` (a month start: those months' statements are final). */
export function compactUsage(usage: AboveRequestUsage, cutoff: number): AboveRequestUsage {
  return { ...usage, buckets: usage.buckets.filter((b) => b.at >= cutoff) };
}

/**
 * Each day's usage above requests as allocation changes (buckets.ts): priced at the rate card version in
 * force at the start of that local day, on its own statement line.
 */
export function aboveRequestChanges(department: string, usage: AboveRequestUsage): AllocationChange[] {
  return bucketChanges(department, "above-request", usage.buckets);
}

export function serializeUsage(usage: AboveRequestUsage): string {
  return JSON.stringify({ through: usage.through, buckets: bucketRows(usage.buckets) });
}

export function parseUsage(text: string | undefined): AboveRequestUsage {
  if (!text) return { buckets: [] };
  const stored = JSON.parse(text) as { through?: number; buckets?: Parameters<typeof bucketsFromRows>[0] };
  return {
    ...(typeof stored.through === "number" ? { through: stored.through } : {}),
    buckets: bucketsFromRows(stored.buckets ?? []),
  };
}

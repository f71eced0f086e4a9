import { dayStart } from "./calendar.ts";
import type { AllocationChange, MeteredResource } from "./engine.ts";

// Integrals kept instead of allocation changes: Σ amount × ms per statement line over an interval in which
// the price cannot change (a local day, cut again at every rate card version's validFrom). The engine
// prices a bucket like any allocation: as an allocation of its integral held for 1 ms at the interval's
// start, so bills and estimates stay on one code path.

export interface IntegralBucket {
  /** Start of the interval (a local midnight or a validFrom); the bucket is priced by the version then. */
  at: number;
  environment: string;
  resource: MeteredResource;
  amountMs: bigint;
  eservice?: string;
  item?: string;
  priceMinor?: string;
}

type Line = Omit<IntegralBucket, "at" | "amountMs">;

const lineKey = (at: number, l: Line) =>
  [at, l.environment, l.resource, l.eservice ?? "", l.item ?? "", l.priceMinor ?? ""].join("\u0000");

/** The pieces of [from, to), cut at local midnights and at `cuts`; each piece carries its interval start. */
export function pieces(
  from: number,
  to: number,
  timeZone: string,
  cuts: readonly number[] = [],
): { at: number; from: number; to: number }[] {
  const out: { at: number; from: number; to: number }[] = [];
  for (let t = from; t < to; ) {
    const day = dayStart(t, timeZone);
    // 26 hours past a local midnight is always inside the next local day (days last 23 to 25 hours).
    let end = Math.min(to, dayStart(day + 26 * 3_600_000, timeZone));
    let at = day;
    for (const cut of cuts) {
      if (cut > t && cut < end) end = cut;
      if (cut <= t && cut > at) at = cut;
    }
    out.push({ at, from: t, to: end });
    t = end;
  }
  return out;
}

/** Adds amount × ms over [from, to) of one line to the buckets, keyed by interval. */
export class BucketSet {
  private readonly buckets = new Map<string, IntegralBucket>();

  constructor(initial: IntegralBucket[] = []) {
    for (const b of initial) this.buckets.set(lineKey(b.at, b), { ...b });
  }

  add(line: Line, amount: bigint, from: number, to: number, timeZone: string, cuts?: readonly number[]) {
    for (const piece of pieces(from, to, timeZone, cuts)) {
      const key = lineKey(piece.at, line);
      const amountMs = amount * BigInt(piece.to - piece.from);
      const bucket = this.buckets.get(key);
      if (bucket) bucket.amountMs += amountMs;
      else this.buckets.set(key, { ...line, at: piece.at, amountMs });
    }
  }

  list(): IntegralBucket[] {
    return [...this.buckets.values()].sort((a, b) => a.at - b.at);
  }
}

/**
 * One bucket per interval and line, summing the integrals of buckets that share both (the shards of a
 * ledger fold their own allocations, so two shards may each hold part of the same line's day).
 */
export function mergeBuckets(lists: IntegralBucket[][]): IntegralBucket[] {
  const merged = new Map<string, IntegralBucket>();
  for (const list of lists) {
    for (const b of list) {
      const key = lineKey(b.at, b);
      const bucket = merged.get(key);
      if (bucket) bucket.amountMs += b.amountMs;
      else merged.set(key, { ...b });
    }
  }
  return [...merged.values()].sort((a, b) => a.at - b.at);
}

/** Buckets as allocation changes for the engine: each one's integral held for 1 ms from its start. */
export function bucketChanges(
  department: string,
  kind: string,
  buckets: IntegralBucket[],
): AllocationChange[] {
  return buckets.flatMap((b) => {
    const { at, amountMs, ...line } = b;
    const base = { ...line, subject: `${kind}/${lineKey(at, line).replaceAll("\u0000", "/")}`, department };
    return [
      { ...base, at, amount: amountMs },
      { ...base, at: at + 1, amount: 0n },
    ];
  });
}

type Row = [
  at: number,
  environment: string,
  resource: MeteredResource,
  amountMs: string,
  eservice?: string,
  item?: string,
  priceMinor?: string,
];

export function bucketRows(buckets: IntegralBucket[]): Row[] {
  return buckets.map((b) => {
    const row: Row = [b.at, b.environment, b.resource, b.amountMs.toString()];
    if (b.eservice || b.item || b.priceMinor) row.push(b.eservice ?? "", b.item ?? "", b.priceMinor ?? "");
    return row;
  });
}

export function bucketsFromRows(rows: Row[]): IntegralBucket[] {
  return rows.map(([at, environment, resource, amountMs, eservice, item, priceMinor]) => ({
    at,
    environment,
    resource,
    amountMs: BigInt(amountMs),
    ...(eservice ? { eservice } : {}),
    ...(item ? { item } : {}),
    ...(priceMinor ? { priceMinor } : {}),
  }));
}

import { BucketSet, type IntegralBucket } from "../../lib/chargeback/buckets.ts";
import { type AllocationChange, seriesOf } from "../../lib/chargeback/engine.ts";
import type { Ledger } from "../../lib/chargeback/ledger.ts";

// Keeps a busy department's ledger bounded by what is still running rather than by everything that ran:
// allocations of objects that are gone (ended, and no longer in the API server) are folded into integral
// buckets per statement line and interval (buckets.ts). Their integral is fixed once they end, so the
// statements stay exact; only the per-object detail goes.

export interface FoldOptions {
  /** Only allocations that ended before this instant are folded (late duplicate events land before it). */
  before: number;
  /**
   * Whether the object behind a subject still exists: its changes would be derived again after a restart
   * (e.g. a finished pod a Job keeps), so it stays as changes, which the ledger dedupes.
   */
  present: (subject: string) => boolean;
  timeZone: string;
  /** The rate card's validFrom instants: a bucket never spans a price change. */
  cuts: readonly number[];
}

/**
 * Whether a change is an end that may be folded: an allocation of an object that is gone and ended before
 * `before` (a department's own allocations never are). The last change of a foldable series is such an end.
 */
export function isFoldableEnd(
  change: AllocationChange,
  before: number,
  present: (subject: string) => boolean,
): boolean {
  return (
    change.amount === 0n &&
    change.at < before &&
    !change.subject.startsWith("department/") &&
    !present(change.subject)
  );
}

export function foldEnded(
  ledger: Ledger,
  folded: IntegralBucket[],
  options: FoldOptions,
): { ledger: Ledger; folded: IntegralBucket[]; series: number } {
  const buckets = new BucketSet(folded);
  const kept: AllocationChange[] = [];
  let series = 0;
  for (const changes of seriesOf(ledger.changes)) {
    const last = changes[changes.length - 1] as AllocationChange;
    if (!isFoldableEnd(last, options.before, options.present)) {
      kept.push(...changes);
      continue;
    }
    series++;
    for (let i = 0; i + 1 < changes.length; i++) {
      const change = changes[i] as AllocationChange;
      if (change.amount === 0n) continue;
      const line = {
        environment: change.environment,
        resource: change.resource,
        ...(change.eservice ? { eservice: change.eservice } : {}),
        ...(change.item ? { item: change.item } : {}),
        ...(change.priceMinor ? { priceMinor: change.priceMinor } : {}),
      };
      const to = (changes[i + 1] as AllocationChange).at;
      buckets.add(line, change.amount, change.at, to, options.timeZone, options.cuts);
    }
  }
  if (series === 0) return { ledger, folded, series };
  return {
    ledger: { ...ledger, changes: kept.sort((a, b) => a.at - b.at) },
    folded: buckets.list(),
    series,
  };
}

import type { Logger } from "pino";
import {
  type AboveRequestUsage,
  accumulate,
  compactUsage,
  type PodReading,
  parseUsage,
  serializeUsage,
} from "../../lib/chargeback/above-request.ts";
import { periodBounds, periodOf } from "../../lib/chargeback/calendar.ts";
import type { AllocationChange } from "../../lib/chargeback/engine.ts";
import {
  appendedLimit,
  appendRows,
  compact,
  forgetIndex,
  type Ledger,
  ledgerKeys,
  openAllocations,
  parseFolded,
  record,
  rememberContent,
  rememberParsed,
  serialize,
  serializeFolded,
} from "../../lib/chargeback/ledger.ts";
import { foldEnded, isFoldableEnd } from "./fold.ts";

// What one ledger shard's content becomes when changes or usage readings are recorded in it: pure functions
// of the shard's data, used by the meter inside its compare-and-swapped shard updates (meter.ts).

/**
 * Allocations are folded only once they ended this long ago. What keeps a folded allocation from being
 * recorded again is not this wait but who can still send it: a series is folded only when its object is
 * gone, i.e. this leader recorded its deletion, after which the informer says nothing more about that uid
 * (its watch resumes from the last resourceVersion, a relist reads from etcd, a uid is never reused), and a
 * replica that lost the lease cannot write (every write checks the lease, shard writes compare and swap).
 * The wait is a margin over that (eight lease durations). It was ten minutes; under steady churn the ledger
 * holds every allocation of the grace, so ten minutes made a busy department's live ledger, its memory and
 * its garbage collection five times what two minutes make (docs/metering.md, "Ledger size").
 */
const foldGraceMs = 2 * 60_000;

/**
 * A large shard is compacted for folding once the ends that can be folded are at least this share of its
 * changes. A pod's allocation is a start and an end per resource, so about a quarter of the shard goes.
 * Under steady churn, allocations pass the grace every second: folding whatever had passed it compacted the
 * shard on every batch, rewriting and re-indexing all of it each second.
 */
const foldableEndsShare = 1 / 8;

/** The start of the previous month: months before it are finalized and no longer change. */
export function oldestOpenMonthStart(timeZone: string, now = Date.now()): number {
  const current = periodBounds(periodOf(now, timeZone), timeZone);
  return periodBounds(periodOf(current.start - 1, timeZone), timeZone).start;
}

export interface ShardRecording {
  department: string;
  timeZone: string;
  /** Compact once the changes pass this size (drop finalized months, fold what ended and is gone). */
  compactAboveBytes: number;
  /** Whether a subject's object exists (as last seen): its changes may come again, so it is never folded. */
  present: (subject: string) => boolean;
  priceCuts: readonly number[];
  log: Logger;
}

/**
 * One shard's new content with `changes` recorded (compacted when too big), or none when unchanged. New
 * changes are appended after the base (ledger.ts, appendedLimit); the base is written again only when the
 * appended rows grow past their limit, or when the shard is compacted.
 */
export function recordInShard(
  data: Record<string, string>,
  ledger: Ledger,
  changes: AllocationChange[],
  o: ShardRecording,
): Record<string, string> | undefined {
  const recorded = record(ledger, changes);
  const base = data[ledgerKeys.changes] ?? "";
  let next: Record<string, string> | undefined;
  if (recorded.added > 0) {
    const appended = appendRows(data[ledgerKeys.appended], recorded.addedChanges);
    next =
      appended.length <= appendedLimit(base.length)
        ? { ...data, [ledgerKeys.appended]: appended }
        : withBase(data, recorded.ledger);
    rememberContent(next, recorded.ledger);
  }
  const current = next ?? data;
  const size = (current[ledgerKeys.changes]?.length ?? 0) + (current[ledgerKeys.appended]?.length ?? 0);
  const cutoff = oldestOpenMonthStart(o.timeZone);
  const before = Date.now() - foldGraceMs;
  const large = size > o.compactAboveBytes;
  const folded = large ? parseFolded(data[ledgerKeys.folded]) : [];
  const shrinkable =
    large && (folded.some((b) => b.at < cutoff) || compactable(recorded.ledger, cutoff, before, o.present));
  if (!shrinkable) return next;
  // Too big: drop the finalized months, and fold what ended and is gone into integrals.
  const compacted = compact(recorded.ledger, cutoff);
  const folding = foldEnded(
    compacted,
    folded.filter((b) => b.at >= cutoff),
    { before, present: o.present, timeZone: o.timeZone, cuts: o.priceCuts },
  );
  const shrunk = folding.series > 0 || compacted.changes.length < recorded.ledger.changes.length;
  if (!shrunk) return next;
  forgetIndex(recorded.ledger);
  o.log.info(
    {
      department: o.department,
      before: recorded.ledger.changes.length,
      after: folding.ledger.changes.length,
      folded: folding.series,
    },
    "compacted the metering ledger",
  );
  const compactedData = {
    ...withBase(data, folding.ledger),
    [ledgerKeys.folded]: serializeFolded(folding.folded),
  };
  rememberContent(compactedData, folding.ledger);
  return compactedData;
}

/** The shard's data with `ledger` written as its whole base, and no appended rows. */
function withBase(data: Record<string, string>, ledger: Ledger): Record<string, string> {
  const { [ledgerKeys.appended]: _, ...rest } = data;
  const text = serialize(ledger);
  rememberParsed(text, ledger);
  return { ...rest, [ledgerKeys.changes]: text };
}

/**
 * Whether compacting is worth it: a change before `cutoff` (a finalized month), or enough ends before
 * `before` of objects that are gone (the last change of a foldable series is such an end;
 * `foldableEndsShare`). A large ledger of recent churn has neither, and would otherwise be compacted in vain
 * on every batch. The ledger is in time order (record keeps it so), so only its changes before `before`
 * are read: this runs on every batch of a large shard, and reading all of it cost 6% of the controller's
 * time under steady churn (a hand-edited ledger out of order may be compacted a batch later).
 */
function compactable(
  ledger: Ledger,
  cutoff: number,
  before: number,
  present: (subject: string) => boolean,
): boolean {
  const needed = Math.max(1, Math.ceil(ledger.changes.length * foldableEndsShare));
  let ends = 0;
  for (const c of ledger.changes) {
    if (c.at < cutoff) return true;
    if (c.at >= before) return false;
    if (isFoldableEnd(c, before, present) && ++ends >= needed) return true;
  }
  return false;
}

/**
 * One shard's usage above requests with `readings` counted since its watermark (which moves, with or
 * without readings), or none when nothing changed.
 */
export function recordUsageInShard(
  data: Record<string, string>,
  readings: PodReading[],
  o: { now: number; intervalMs: number; timeZone: string },
): Record<string, string> | undefined {
  const usage: AboveRequestUsage = parseUsage(data[ledgerKeys.aboveRequest]);
  const next = accumulate(usage, readings, {
    now: o.now,
    intervalMs: o.intervalMs,
    maxGapMs: 3 * o.intervalMs,
    timeZone: o.timeZone,
  });
  if (next === usage) return undefined;
  const kept = compactUsage(next, oldestOpenMonthStart(o.timeZone));
  return { ...data, [ledgerKeys.aboveRequest]: serializeUsage(kept) };
}

/**
 * Ends, at `lastWatchedAt` (or just after their start), for the ledger's open allocations whose object is
 * gone: not a department's own, not seen present, not being deleted, not among the changes in flight.
 */
export function vanishedEnds(
  ledger: Ledger,
  lastWatchedAt: number,
  stillTracked: (subject: string) => boolean,
): AllocationChange[] {
  return openAllocations(ledger)
    .filter((c) => !c.subject.startsWith("department/") && !stillTracked(c.subject))
    .map((c) => ({ ...c, at: Math.max(lastWatchedAt, c.at + 1), amount: 0n }));
}

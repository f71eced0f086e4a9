import { periodBounds, periodOf } from "../../lib/chargeback/calendar.ts";
import {
  type AllocationChange,
  integrateSeries,
  type MeteredResource,
  type PriceVersion,
  statementLines,
} from "../../lib/chargeback/engine.ts";

// What the metrics endpoint and the budget check show for one department, computed from its ledger at an
// instant: cumulative usage (amount x ms), what is allocated now, cumulative cost per resource over every
// month (rounded per statement line, as billed), and this month's total so far.

export interface MeteringSnapshot {
  at: number;
  usageAmountMs: Map<string, bigint>; // key `${environment}|${resource}`
  allocated: Map<string, bigint>; // key `${environment}|${resource}`
  costMinor: Map<MeteredResource, number>;
  monthTotalMinor: number;
  monthStart: number;
  monthEnd: number;
}

/** A month's rounded statement as of `now` (the statements' own, when the caller already computed it). */
export type MonthStatement = (period: string) => ReturnType<typeof statementLines>;

export function monthStatement(
  series: AllocationChange[][],
  versions: PriceVersion[],
  timeZone: string,
  now: number,
): MonthStatement {
  const computed = new Map<string, ReturnType<typeof statementLines>>();
  return (period) => {
    let statement = computed.get(period);
    if (!statement) {
      const bounds = periodBounds(period, timeZone);
      statement = statementLines(
        integrateSeries(series, versions, { ...bounds, asOf: Math.min(now, bounds.end) }),
        versions,
      );
      computed.set(period, statement);
    }
    return statement;
  };
}

/** `series`: the department's changes grouped with `seriesOf` (once, for the statements as well). */
export function meteringSnapshot(
  series: AllocationChange[][],
  versions: PriceVersion[],
  timeZone: string,
  now: number,
  statementOf: MonthStatement = monthStatement(series, versions, timeZone, now),
): MeteringSnapshot {
  const usageAmountMs = new Map<string, bigint>();
  const allocated = new Map<string, bigint>();
  let first = now;
  for (const changes of series) {
    first = Math.min(first, (changes[0] as AllocationChange).at); // a series is in time order
    for (let i = 0; i < changes.length; i++) {
      const c = changes[i] as AllocationChange;
      if (c.at > now) break;
      const key = `${c.environment}|${c.resource}`;
      const until = Math.min(changes[i + 1]?.at ?? now, now);
      usageAmountMs.set(key, (usageAmountMs.get(key) ?? 0n) + c.amount * BigInt(until - c.at));
      if (i === changes.length - 1 || (changes[i + 1] as AllocationChange).at > now) {
        allocated.set(key, (allocated.get(key) ?? 0n) + c.amount);
      }
    }
  }

  const costMinor = new Map<MeteredResource, number>();
  const current = periodOf(now, timeZone);
  const { start: monthStart, end: monthEnd } = periodBounds(current, timeZone);
  let monthTotalMinor = 0;
  for (let period = periodOf(first, timeZone); ; ) {
    const bounds = periodBounds(period, timeZone);
    const { lines, totalMinor } = statementOf(period);
    for (const line of lines)
      costMinor.set(line.resource, (costMinor.get(line.resource) ?? 0) + line.amountMinor);
    if (period === current) {
      monthTotalMinor = totalMinor;
      break;
    }
    period = periodOf(bounds.end, timeZone);
  }
  return { at: now, usageAmountMs, allocated, costMinor, monthTotalMinor, monthStart, monthEnd };
}

/** Linear forecast of the month's total from what was spent so far. */
export function forecastMinor(snapshot: MeteringSnapshot): number {
  const elapsed = snapshot.at - snapshot.monthStart;
  if (elapsed <= 0) return snapshot.monthTotalMinor;
  return Math.round((snapshot.monthTotalMinor * (snapshot.monthEnd - snapshot.monthStart)) / elapsed);
}

import { periodBounds, periodOf } from "./calendar.ts";
import {
  type AllocationChange,
  billingUnits,
  integrate,
  type MeteredResource,
  type PriceVersion,
} from "./engine.ts";
import { add, type Rational, roundHalfUp, toDecimalString, zero } from "./rational.ts";

// Allocation queries over any window (like OpenCost's allocation API): the same exact integration as the
// statements, cut into steps and calendar-month slices (monthly units divide by their month's length), then
// summed per aggregation key. Pure.

export const aggregations = ["department", "environment", "eservice", "resource"] as const;
export type Aggregation = (typeof aggregations)[number];

export interface UsageQuery {
  start: number;
  end: number;
  /** Step length; the whole window as one step when undefined. */
  stepMs?: number;
  aggregate: Aggregation;
  timeZone: string;
}

export interface UsageItem {
  key: string;
  start: string;
  end: string;
  /** Exact quantities in each resource's billing unit (e.g. cpu in core-hours). */
  quantities: Partial<Record<MeteredResource, { quantity: string; unit: string }>>;
  costMinor: number;
}

function monthSlices(start: number, end: number, timeZone: string) {
  const slices: { start: number; end: number; monthMs: number }[] = [];
  let at = start;
  while (at < end) {
    const month = periodBounds(periodOf(at, timeZone), timeZone);
    const sliceEnd = Math.min(end, month.end);
    slices.push({ start: at, end: sliceEnd, monthMs: month.end - month.start });
    at = sliceEnd;
  }
  return slices;
}

function keyOf(
  aggregate: Aggregation,
  department: string,
  line: { environment: string; eservice?: string; resource: string },
) {
  switch (aggregate) {
    case "department":
      return department;
    case "environment":
      return `${department}/${line.environment}`;
    case "eservice":
      return `${department}/${line.environment}/${line.eservice ?? "(not an e-service)"}`;
    case "resource":
      return line.resource;
  }
}

export function usage(
  ledgers: { department: string; changes: AllocationChange[] }[],
  versions: PriceVersion[],
  query: UsageQuery,
): UsageItem[] {
  const items: UsageItem[] = [];
  const step = query.stepMs ?? query.end - query.start;
  for (let stepStart = query.start; stepStart < query.end; stepStart += step) {
    const stepEnd = Math.min(query.end, stepStart + step);
    const sums = new Map<string, { quantities: Map<MeteredResource, Rational>; cost: Rational }>();
    for (const ledger of ledgers) {
      for (const slice of monthSlices(stepStart, stepEnd, query.timeZone)) {
        for (const line of integrate(ledger.changes, versions, slice)) {
          const key = keyOf(query.aggregate, ledger.department, line);
          const sum = sums.get(key) ?? { quantities: new Map(), cost: zero };
          sum.quantities.set(line.resource, add(sum.quantities.get(line.resource) ?? zero, line.quantity));
          sum.cost = add(sum.cost, line.cost);
          sums.set(key, sum);
        }
      }
    }
    for (const [key, sum] of [...sums.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      items.push({
        key,
        start: new Date(stepStart).toISOString(),
        end: new Date(stepEnd).toISOString(),
        quantities: Object.fromEntries(
          [...sum.quantities.entries()].map(([resource, quantity]) => [
            resource,
            { quantity: toDecimalString(quantity), unit: billingUnits[resource].unit },
          ]),
        ),
        costMinor: Number(roundHalfUp(sum.cost)),
      });
    }
  }
  return items;
}

import { multiply, parseDecimal, type Rational, rational, roundHalfUp, toDecimalString } from "./rational.ts";

// The cost engine: exact integration of allocations over time, priced by the rate card version in force at
// each instant. Pure: the same function computes statements and the API's estimates. Time in epoch
// milliseconds; allocations in exact units (millicores, bytes, counts); money in minor units (cents).

export type MeteredResource =
  | "cpu"
  | "memory"
  | "storage"
  | "public-endpoint"
  | "eservice"
  | "shared-service";
/** Resources the rate card prices; a shared service is priced by its plan, carried on each change. */
export type RateCardResource = Exclude<MeteredResource, "shared-service">;

/** From `at` on, `subject` holds `amount` of `resource` (0 ends the allocation). */
export interface AllocationChange {
  at: number;
  subject: string;
  department: string;
  environment: string;
  eservice?: string;
  resource: MeteredResource;
  amount: bigint;
  /** What is billed when it is not the resource itself, e.g. a shared service and plan. */
  item?: string;
  /** Price per billing unit in minor units, when the change carries its own (a plan fee). */
  priceMinor?: string;
}

/** Prices in minor currency units per billing unit, in force from `validFrom`. */
export interface PriceVersion {
  id: string;
  validFrom: number;
  prices: Record<RateCardResource, Rational>;
}

const hourMs = 3_600_000n;
const gib = 2n ** 30n;

/** Billing unit per resource: how many (amount × ms) make one unit; monthly units depend on the month. */
export const billingUnits: Record<MeteredResource, { unit: string; divisor: (monthMs: bigint) => bigint }> = {
  cpu: { unit: "core-hour", divisor: () => 1000n * hourMs },
  memory: { unit: "GiB-hour", divisor: () => gib * hourMs },
  storage: { unit: "GiB-month", divisor: (monthMs) => gib * monthMs },
  "public-endpoint": { unit: "endpoint-month", divisor: (monthMs) => monthMs },
  eservice: { unit: "eservice-month", divisor: (monthMs) => monthMs },
  "shared-service": { unit: "plan-month", divisor: (monthMs) => monthMs },
};

export interface Line {
  environment: string;
  eservice?: string;
  item?: string;
  resource: MeteredResource;
  priceVersion: string;
  /** Price per billing unit in minor units. */
  price: Rational;
  quantity: Rational;
  cost: Rational;
}

export interface StatementLine {
  environment: string;
  eservice?: string;
  item?: string;
  resource: MeteredResource;
  quantity: string;
  unit: string;
  unitPriceMinor: string;
  amountMinor: number;
  priceVersion: string;
}

/** Each subject's changes of one resource, in time order (one piecewise-constant allocation each). */
export function seriesOf(changes: AllocationChange[]): AllocationChange[][] {
  // By subject, then among that subject's few series (one per resource): a key joining subject and
  // resource would be a new string per change, and pricing groups a whole ledger every time.
  const bySubject = new Map<string, AllocationChange[][]>();
  const all: AllocationChange[][] = [];
  for (const change of changes) {
    let ofSubject = bySubject.get(change.subject);
    if (!ofSubject) {
      ofSubject = [];
      bySubject.set(change.subject, ofSubject);
    }
    let series: AllocationChange[] | undefined;
    for (const candidate of ofSubject) {
      if ((candidate[0] as AllocationChange).resource !== change.resource) continue;
      series = candidate;
      break;
    }
    if (series) series.push(change);
    else {
      const created = [change];
      ofSubject.push(created);
      all.push(created);
    }
  }
  // A ledger records in time order, so most series are already sorted.
  for (const series of all) if (!inTimeOrder(series)) series.sort((a, b) => a.at - b.at);
  return all;
}

function inTimeOrder(series: AllocationChange[]): boolean {
  for (let i = 1; i < series.length; i++)
    if ((series[i] as AllocationChange).at < (series[i - 1] as AllocationChange).at) return false;
  return true;
}

/** The version in force at `instant` (latest validFrom at or before it), or undefined before the first. */
export function versionAt(versions: PriceVersion[], instant: number): PriceVersion | undefined {
  let found: PriceVersion | undefined;
  for (const v of versions)
    if (v.validFrom <= instant && (!found || v.validFrom >= found.validFrom)) found = v;
  return found;
}

/**
 * Integrates every allocation over [start, end) (a calendar month, or a slice of one with `monthMs`; `asOf`
 * cuts a draft short) and prices it.
 * Returns exact lines keyed by environment, e-service, resource and price version.
 */
export function integrate(
  changes: AllocationChange[],
  versions: PriceVersion[],
  period: { start: number; end: number; asOf?: number; monthMs?: number },
): Line[] {
  return integrateSeries(seriesOf(changes), versions, period);
}

/** `integrate`, for changes already grouped with `seriesOf` (several periods priced from one grouping). */
export function integrateSeries(
  allSeries: AllocationChange[][],
  versions: PriceVersion[],
  period: { start: number; end: number; asOf?: number; monthMs?: number },
): Line[] {
  // Monthly units divide by the length of the month; a slice of a month (usage queries) passes it.
  const monthMs = BigInt(period.monthMs ?? period.end - period.start);
  const stop = Math.min(period.end, period.asOf ?? period.end);
  const boundaries = [...new Set(versions.map((v) => v.validFrom))].sort((a, b) => a - b);
  // Sum exact amount x milliseconds per line in integers; divide and price once per line at the end.
  const sums = new Map<string, { line: Omit<Line, "quantity" | "cost">; amountMs: bigint }>();
  const addSegment = (change: AllocationChange, segmentStart: number, segmentEnd: number) => {
    const version = versionAt(versions, segmentStart);
    if (!version) return; // no price yet: not billable
    const price =
      change.priceMinor !== undefined
        ? parseDecimal(change.priceMinor)
        : change.resource === "shared-service"
          ? undefined
          : version.prices[change.resource];
    if (!price) return; // a plan fee must carry its price
    const amountMs = change.amount * BigInt(segmentEnd - segmentStart);
    const key = `${change.environment}\u0000${change.eservice ?? ""}\u0000${change.resource}\u0000${change.item ?? ""}\u0000${change.priceMinor ?? ""}\u0000${version.id}`;
    const sum = sums.get(key);
    if (sum) sum.amountMs += amountMs;
    else {
      sums.set(key, {
        line: {
          environment: change.environment,
          ...(change.eservice ? { eservice: change.eservice } : {}),
          ...(change.item ? { item: change.item } : {}),
          resource: change.resource,
          priceVersion: version.id,
          price,
        },
        amountMs,
      });
    }
  };
  for (const series of allSeries) {
    for (let i = 0; i < series.length; i++) {
      const change = series[i] as AllocationChange;
      const from = Math.max(change.at, period.start);
      const to = Math.min(series[i + 1]?.at ?? Number.POSITIVE_INFINITY, stop);
      if (change.amount === 0n || to <= from) continue;
      // Split at price changes (boundaries ascend) so each piece is priced by the version in force.
      let segmentStart = from;
      for (const boundary of boundaries) {
        if (boundary <= from) continue;
        if (boundary >= to) break;
        addSegment(change, segmentStart, boundary);
        segmentStart = boundary;
      }
      addSegment(change, segmentStart, to);
    }
  }
  const lines: Line[] = [...sums.values()].map(({ line, amountMs }) => {
    const quantity = rational(amountMs, billingUnits[line.resource].divisor(monthMs));
    return { ...line, quantity, cost: multiply(quantity, line.price) };
  });
  const sortKey = (l: Line) =>
    [l.environment, l.eservice ?? "", l.resource, l.item ?? "", l.priceVersion].join("/");
  return lines.sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
}

/** Rounds each line once, to whole minor units; the total is the sum of the rounded lines. */
export function statementLines(
  lines: Line[],
  _versions?: PriceVersion[],
): { lines: StatementLine[]; totalMinor: number } {
  const out = lines.map((line) => {
    return {
      environment: line.environment,
      ...(line.eservice ? { eservice: line.eservice } : {}),
      ...(line.item ? { item: line.item } : {}),
      resource: line.resource,
      quantity: toDecimalString(line.quantity),
      unit: billingUnits[line.resource].unit,
      unitPriceMinor: toDecimalString(line.price),
      amountMinor: Number(roundHalfUp(line.cost)),
      priceVersion: line.priceVersion,
    };
  });
  return { lines: out, totalMinor: out.reduce((sum, l) => sum + l.amountMinor, 0) };
}

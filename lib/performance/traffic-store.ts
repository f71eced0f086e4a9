import Type, { type Static, type TSchema } from "typebox";
import Value from "typebox/value";

// The traffic counts of one department's e-services, kept by the controller in one ConfigMap in the
// platform namespace (docs/performance.md): per month and e-service, what the ingress controller counted,
// and beside it, in the same object, the counter values already taken from each ingress controller
// instance. Both change in one write, so a crash between two reads of the counters neither loses nor counts
// twice what happened in between.

export const trafficStoreKeys = { months: "months", baselines: "baselines" } as const;

export const trafficStoreName = (department: string): string => `govhost-traffic-${department}`;

const Count = Type.Integer({ minimum: 0 });

export const TrafficCounts = Type.Object({
  /** Every request the ingress controller passed to the e-service. */
  requests: Count,
  /** Of those, answered 5xx (by the e-service, or by the ingress controller for it). */
  serverErrors: Count,
  /** Requests to the completed-transaction route with one of its methods. */
  started: Count,
  /** Of those, answered with one of its status classes. */
  completed: Count,
  /** Requests answered within each bound in seconds (Prometheus `le`, cumulative; "+Inf" is every request). */
  latency: Type.Record(Type.String(), Count),
});
export type TrafficCounts = Static<typeof TrafficCounts>;

/** Month (YYYY-MM) → e-service (`<namespace>/<name>`) → counts. */
export const TrafficMonths = Type.Record(Type.String(), Type.Record(Type.String(), TrafficCounts));
export type TrafficMonths = Static<typeof TrafficMonths>;

/** Ingress controller instance (`<pod uid>@<process start>`) → counter series → value already counted. */
export const TrafficBaselines = Type.Record(Type.String(), Type.Record(Type.String(), Type.Number()));
export type TrafficBaselines = Static<typeof TrafficBaselines>;

export interface DepartmentTraffic {
  months: TrafficMonths;
  baselines: TrafficBaselines;
}

export const emptyCounts = (): TrafficCounts => ({
  requests: 0,
  serverErrors: 0,
  started: 0,
  completed: 0,
  latency: {},
});

/**
 * The stored counts, or an error naming what is wrong: a store that cannot be read is never overwritten
 * (its counts would be lost), it is reported.
 */
export function readTrafficStore(data: Record<string, string> | undefined): DepartmentTraffic | Error {
  const months = parseStoreField(
    data?.[trafficStoreKeys.months],
    TrafficMonths,
    "traffic store field months",
  );
  if (months instanceof Error) return months;
  const baselines = parseStoreField(
    data?.[trafficStoreKeys.baselines],
    TrafficBaselines,
    "traffic store field baselines",
  );
  if (baselines instanceof Error) return baselines;
  return { months, baselines };
}

export function trafficStoreData(traffic: DepartmentTraffic): Record<string, string> {
  return {
    [trafficStoreKeys.months]: JSON.stringify(traffic.months),
    [trafficStoreKeys.baselines]: JSON.stringify(traffic.baselines),
  };
}

/** One stored JSON field, checked against its schema (absent: empty). */
export function parseStoreField<T extends TSchema>(
  text: string | undefined,
  schema: T,
  what: string,
): Static<T> | Error {
  if (text === undefined) return {} as Static<T>;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return new Error(`${what} is not JSON`);
  }
  if (!Value.Check(schema, value)) return new Error(`${what} does not match its schema`);
  return value as Static<T>;
}

import Type, { type Static } from "typebox";
import { parseStoreField } from "./traffic-store.ts";

// What the platform's availability probe found, per department: for each month and public e-service, how
// many probes it answered and how many it did not, and the latest one. Kept by the controller in one
// ConfigMap per department in the platform namespace, beside the traffic counts (docs/performance.md).
// A probe is a sample, not a count of citizens' requests: a round lost to a crash is simply not counted.

const availabilityStoreKey = "months";

export const availabilityStoreName = (department: string): string => `govhost-availability-${department}`;

const Count = Type.Integer({ minimum: 0 });

export const LastProbe = Type.Object({
  /** When it was sent (RFC 3339). */
  at: Type.String({ maxLength: 40 }),
  up: Type.Boolean(),
  /** What it got: `HTTP 200`, or why nothing came back (no personal data, bounded). */
  result: Type.String({ maxLength: 200 }),
});
export type LastProbe = Static<typeof LastProbe>;

export const ProbeCounts = Type.Object({
  /** Probes answered 2xx or 3xx through the ingress. */
  up: Count,
  /** Probes answered otherwise, or not within the probe's timeout. */
  down: Count,
  last: LastProbe,
});
export type ProbeCounts = Static<typeof ProbeCounts>;

/** Month (YYYY-MM) → e-service (`<namespace>/<name>`) → probe counts. */
export const AvailabilityMonths = Type.Record(Type.String(), Type.Record(Type.String(), ProbeCounts));
export type AvailabilityMonths = Static<typeof AvailabilityMonths>;

/** The stored months, or an error naming what is wrong (such a store is reported, never overwritten). */
export function readAvailabilityStore(data: Record<string, string> | undefined): AvailabilityMonths | Error {
  return parseStoreField(data?.[availabilityStoreKey], AvailabilityMonths, "availability store field months");
}

export function availabilityStoreData(months: AvailabilityMonths): Record<string, string> {
  return { [availabilityStoreKey]: JSON.stringify(months) };
}

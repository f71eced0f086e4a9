import Type, { type Static } from "typebox";
import { parseStoreField } from "./traffic-store.ts";

// The figures citizens are shown beside each public e-service in the one-stop catalogue: this month's
// availability from the platform's probe and satisfaction from citizens' ratings. The controller keeps them in one ConfigMap in the platform
// namespace (a single read for the public catalogue, whatever the number of departments); everything in it
// is public by design (docs/performance.md).

export const publicFiguresName = "govhost-public-figures";

const publicFiguresKey = "eservices";

export const PublicFigure = Type.Object({
  /** The month (YYYY-MM) the figure is for. */
  period: Type.String({ pattern: "^[0-9]{4}-(0[1-9]|1[0-2])$" }),
  /** Probes answered ÷ probes × 100 in that month, to one decimal (rounded down: never better than measured). */
  availabilityPercent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
  /** Ratings of 4 or 5 ÷ ratings × 100 in that month, likewise rounded down. */
  satisfactionPercent: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
  /** How many ratings the satisfaction is of. */
  ratings: Type.Optional(Type.Integer({ minimum: 1 })),
});
export type PublicFigure = Static<typeof PublicFigure>;

/** E-service (`<namespace>/<name>`) → its figure. */
export const PublicFigures = Type.Record(Type.String(), PublicFigure);
export type PublicFigures = Static<typeof PublicFigures>;

export function readPublicFigures(data: Record<string, string> | undefined): PublicFigures | Error {
  return parseStoreField(data?.[publicFiguresKey], PublicFigures, "public figures");
}

export function publicFiguresData(figures: PublicFigures): Record<string, string> {
  return { [publicFiguresKey]: JSON.stringify(figures) };
}

/** A share as shown to the public: one decimal, rounded down, so 99.96 % is not shown as 100 %. */
export function publicPercent(part: number, whole: number): number {
  return Math.floor((1000 * part) / whole) / 10;
}

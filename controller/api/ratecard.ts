import Type, { type Static } from "typebox";
import { ObjectMeta, StringEnum } from "./schema-helpers.ts";

// RateCard: time-versioned prices, in minor currency units per billing unit (decimal strings, exact).
// The metering engine prices every instant with the version whose validFrom is the latest not after it.

const Price = Type.String({
  pattern: "^[0-9]+(\\.[0-9]+)?$",
  description: "Minor currency units (e.g. cents) per billing unit, as an exact decimal",
});

export const RateCardVersion = Type.Object(
  {
    validFrom: Type.String({
      format: "date-time",
      description: "RFC 3339 instant this version takes effect",
    }),
    cpuCoreHour: Price,
    memoryGiBHour: Price,
    storageGiBMonth: Price,
    publicEndpointMonth: Price,
    eServiceMonth: Price,
    sharedServicePlanMonth: Type.Optional(
      Type.Record(Type.String(), Price, { description: "Keyed <service>/<plan>" }),
    ),
  },
  { additionalProperties: false },
);

export const RateCardSpec = Type.Object(
  {
    currency: Type.String({ pattern: "^[A-Z]{3}$", default: "HKD" }),
    allocationMode: StringEnum(["reserved", "consumed"] as const, {
      default: "consumed",
      description:
        "reserved: charge the quota; consumed: max(request, usage), requests when no usage metrics",
    }),
    departmentAllocationModes: Type.Optional(
      Type.Record(Type.String(), StringEnum(["reserved", "consumed"] as const)),
    ),
    versions: Type.Array(RateCardVersion, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export const RateCardStatus = Type.Object({ observedGeneration: Type.Optional(Type.Integer()) });

export const RateCard = Type.Object({
  apiVersion: Type.Literal("govhost.io/v1alpha1"),
  kind: Type.Literal("RateCard"),
  metadata: ObjectMeta,
  spec: RateCardSpec,
  status: Type.Optional(RateCardStatus),
});

export type RateCard = Static<typeof RateCard>;
export type RateCardVersion = Static<typeof RateCardVersion>;

import Type, { type Static } from "typebox";
import { platformDefaults } from "./defaults.ts";
import { ObjectMeta } from "./schema-helpers.ts";

// ChargebackStatement: one per department per calendar month. The metering issue fills in how lines are
// computed; the shape and the immutability once finalized (baseline rule GH-FIN-001) are fixed here.

/**
 * Labels the metering controller sets on every statement: which month, and whether it is finalized (so a
 * reader can keep the statements that still change apart from the immutable ones).
 */
export const statementLabels = { period: "govhost.io/period", finalized: "govhost.io/finalized" } as const;

export const StatementLine = Type.Object(
  {
    environment: Type.Optional(Type.String()),
    eservice: Type.Optional(Type.String()),
    item: Type.Optional(Type.String({ description: "What is billed, e.g. a shared service and plan" })),
    resource: Type.String({ description: "e.g. cpu, memory, storage, public-endpoint, shared-service" }),
    quantity: Type.String({
      description: "Exact quantity in the resource's billing unit, as a decimal string",
    }),
    unit: Type.String({ description: "e.g. core-hour, GiB-hour, GiB-month, endpoint-month" }),
    unitPriceMinor: Type.String({
      pattern: "^[0-9]+(\\.[0-9]+)?$",
      description: "Price per unit in minor currency units (e.g. cents), exact decimal",
    }),
    amountMinor: Type.Integer({
      description: "Line amount in minor currency units, rounded once at the line",
    }),
    priceVersion: Type.String({ description: "The RateCard and validFrom the price came from" }),
  },
  { additionalProperties: false },
);

export const ChargebackStatementSpec = Type.Object(
  {
    department: Type.String(),
    period: Type.String({ pattern: "^[0-9]{4}-(0[1-9]|1[0-2])$", description: "Calendar month, YYYY-MM" }),
    timeZone: Type.String({ default: platformDefaults.timeZone }),
    currency: Type.String({ pattern: "^[A-Z]{3}$" }),
    lines: Type.Array(StatementLine, { default: [] }),
    totalMinor: Type.Integer({ default: 0 }),
    finalized: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);

export const ChargebackStatementStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer()),
  computedAt: Type.Optional(Type.String()),
});

export const ChargebackStatement = Type.Object({
  apiVersion: Type.Literal("govhost.io/v1alpha1"),
  kind: Type.Literal("ChargebackStatement"),
  metadata: ObjectMeta,
  spec: ChargebackStatementSpec,
  status: Type.Optional(ChargebackStatementStatus),
});

export type ChargebackStatement = Static<typeof ChargebackStatement>;

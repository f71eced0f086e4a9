import Type, { type Static } from "typebox";
import { dataClassifications } from "./department.ts";
import { Condition, dnsLabelPattern, StringEnum } from "./schema-helpers.ts";

// API exchange between departments (joined-up government): a provider publishes an e-service's API as an
// ApiExport; a consumer department asks for access from one of its environments with an ApiGrant; the
// provider's admin decides with an ApiGrantDecision, in their own name. The controller then opens exactly
// that path (through the API gateway, which checks and counts every call: api-gateway.ts) until the grant
// expires, is refused or withdrawn.

const Name = Type.String({ pattern: dnsLabelPattern, minLength: 1, maxLength: 63 });

export const ApiExportSpec = Type.Object(
  {
    eservice: Type.String({
      pattern: dnsLabelPattern,
      minLength: 1,
      maxLength: 63,
      description: "The EService in this namespace whose pods serve the API (on the EService's port)",
    }),
    basePath: Type.String({ pattern: "^/[A-Za-z0-9._~/-]{0,200}$", default: "/", maxLength: 201 }),
    description: Type.Object(
      {
        en: Type.String({ minLength: 1, maxLength: 2000 }),
        zhHant: Type.String({ minLength: 1, maxLength: 2000 }),
      },
      { additionalProperties: false },
    ),
    openApi: Type.String({
      pattern: "^https?://",
      maxLength: 1000,
      description: "Where the API's OpenAPI document is published",
    }),
    dataClassification: StringEnum(dataClassifications, {
      description: "The classification of what the API returns; consumers need a ceiling at least this high",
    }),
    consumers: Type.Object(
      {
        all: Type.Boolean({ default: false, description: "Every department may ask for access" }),
        departments: Type.Array(Type.String({ pattern: dnsLabelPattern, maxLength: 63 }), {
          maxItems: 500,
          default: [],
          description: "Departments that may ask for access (when not all)",
        }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export const ApiExportStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer()),
  conditions: Type.Optional(Type.Array(Condition)),
});

export const ApiGrantSpec = Type.Object(
  {
    export: Type.Object(
      {
        department: Type.String({ pattern: dnsLabelPattern, minLength: 2, maxLength: 20 }),
        environment: Type.String({ pattern: "^[a-z0-9]{1,20}$" }),
        name: Name,
      },
      {
        additionalProperties: false,
        "x-kubernetes-validations": [
          { rule: "self == oldSelf", message: "spec.export is immutable; ask anew" },
        ],
      },
    ),
    purpose: Type.String({ minLength: 10, maxLength: 2000 }),
    dataClassification: StringEnum(dataClassifications, {
      description:
        "The export's classification, as the consumer acknowledges it; admission refuses one above the consumer department's ceiling (GH-API-002)",
    }),
    expiresAt: Type.String({ format: "date-time", description: "When access ends (at most a year ahead)" }),
  },
  { additionalProperties: false },
);

export const grantPhases = ["Pending", "Active", "Refused", "Expired", "Invalid"] as const;

export const ApiGrantStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer()),
  phase: Type.Optional(StringEnum(grantPhases)),
  conditions: Type.Optional(Type.Array(Condition)),
  /** Who decided, when the provider has decided. */
  decidedBy: Type.Optional(Type.String()),
  /** The provider namespace and e-service this grant reaches, and where to call it, when active. */
  provider: Type.Optional(
    Type.Object({
      namespace: Type.String(),
      eservice: Type.String(),
      port: Type.Integer(),
      url: Type.Optional(Type.String({ description: "The export's address at the API gateway" })),
    }),
  ),
  /**
   * Calls the API gateway answered for this grant (written by the gateway's check, before the call goes
   * through: every call let through is counted once, across controller restarts).
   */
  calls: Type.Optional(
    Type.Object({
      allowed: Type.Integer({ minimum: 0, description: "Calls let through to the provider" }),
      refused: Type.Integer({
        minimum: 0,
        description: "Calls from this environment refused while the grant was not active",
      }),
      lastCallAt: Type.Optional(Type.String({ format: "date-time" })),
    }),
  ),
});

export const ApiGrantDecisionSpec = Type.Object(
  {
    grant: Type.Object(
      {
        namespace: Type.String({ pattern: dnsLabelPattern, maxLength: 63 }),
        name: Name,
        uid: Type.String({ minLength: 1, maxLength: 64, description: "The grant's metadata.uid" }),
        generation: Type.Integer({
          minimum: 1,
          description:
            "The grant's metadata.generation decided on: a request changed after the decision needs a new one",
        }),
      },
      {
        additionalProperties: false,
        "x-kubernetes-validations": [{ rule: "self == oldSelf", message: "spec.grant is immutable" }],
      },
    ),
    export: Type.String({
      pattern: dnsLabelPattern,
      maxLength: 63,
      description: "The ApiExport in this namespace the grant asks for",
    }),
    decision: StringEnum(["approved", "refused"] as const),
    decidedBy: Type.String({
      minLength: 1,
      maxLength: 256,
      description: "The provider admin deciding: their own user name (GH-API-001)",
    }),
    reason: Type.String({ maxLength: 2000, default: "" }),
  },
  { additionalProperties: false },
);

export type ApiExportSpec = Static<typeof ApiExportSpec>;
export type ApiGrantSpec = Static<typeof ApiGrantSpec>;
export type ApiGrantDecisionSpec = Static<typeof ApiGrantDecisionSpec>;
export type ApiGrantStatus = Static<typeof ApiGrantStatus>;

export interface ApiExport {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; uid?: string; generation?: number };
  spec: ApiExportSpec;
  status?: Static<typeof ApiExportStatus>;
}

export interface ApiGrant {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    deletionTimestamp?: string;
  };
  spec: ApiGrantSpec;
  status?: ApiGrantStatus;
}

export interface ApiGrantDecision {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; uid?: string; creationTimestamp?: string };
  spec: ApiGrantDecisionSpec;
}

import Type, { type Static } from "typebox";
import { Condition, ObjectMeta, Quantity, StringEnum } from "./schema-helpers.ts";

export const dataClassifications = ["UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL"] as const;

export const defaultEnvironments = ["dev", "staging", "prod"];

/**
 * Environment names have no hyphen, so a namespace `<department>-<environment>` names exactly one pair:
 * with hyphens, department `ab` environment `cd-prod` and department `ab-cd` environment `prod` would share
 * namespace `ab-cd-prod`.
 */
export const environmentNamePattern = "^[a-z0-9]{1,20}$";

const GroupName = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: "^[A-Za-z0-9][A-Za-z0-9._:@/-]*$",
  description: "An OIDC group name as it appears in the groups claim",
  "x-kubernetes-validations": [
    {
      rule: "!self.startsWith('system:')",
      message: "Kubernetes system groups (system:*) cannot be granted department roles",
    },
  ],
});

const GroupList = Type.Array(GroupName, { maxItems: 20, default: [], "x-kubernetes-list-type": "set" });

/** The ResourceQuota resource each department quota field limits (the tenancy reconciler sets them). */
export const quotaResourceNames = {
  cpu: "requests.cpu",
  memory: "requests.memory",
  storage: "requests.storage",
  pods: "pods",
  eServices: "count/eservices.govhost.io",
  publicEndpoints: "count/ingresses.networking.k8s.io",
} as const;

export const DepartmentQuota = Type.Object(
  {
    cpu: Quantity("CPU requests across all the department's namespaces, in cores (e.g. 8 or 7500m)"),
    memory: Quantity("Memory requests and limits across all namespaces (e.g. 32Gi)"),
    storage: Quantity("Persistent volume claim storage across all namespaces (e.g. 500Gi)"),
    pods: Type.Integer({ minimum: 0, maximum: 100000, description: "Pods across all namespaces" }),
    eServices: Type.Integer({
      minimum: 0,
      maximum: 10000,
      description: "EService objects across all namespaces",
    }),
    publicEndpoints: Type.Integer({
      minimum: 0,
      maximum: 10000,
      description: "Ingresses across all namespaces",
    }),
    environmentWeights: Type.Optional(
      Type.Record(
        Type.String({ pattern: environmentNamePattern }),
        Type.Integer({ minimum: 1, maximum: 100 }),
        {
          description:
            "Relative share of the remaining headroom each environment may claim (default: equal shares); see docs/tenancy.md",
        },
      ),
    ),
  },
  { additionalProperties: false },
);

export const DepartmentSpec = Type.Object(
  {
    displayName: Type.Object(
      {
        en: Type.String({ minLength: 1, maxLength: 200 }),
        zhHant: Type.String({ minLength: 1, maxLength: 200 }),
      },
      { additionalProperties: false, description: "Display name in English and Traditional Chinese" },
    ),
    costCentre: Type.String({
      pattern: "^[A-Za-z0-9][A-Za-z0-9-]{0,31}$",
      description: "Finance cost centre code",
    }),
    contacts: Type.Array(
      Type.Object(
        {
          name: Type.String({ minLength: 1, maxLength: 200 }),
          email: Type.String({ maxLength: 254, pattern: "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$" }),
          role: Type.Optional(Type.String({ maxLength: 100 })),
        },
        { additionalProperties: false },
      ),
      { maxItems: 20, default: [] },
    ),
    groups: Type.Object(
      { admins: GroupList, developers: GroupList, viewers: GroupList },
      {
        additionalProperties: false,
        default: { admins: [], developers: [], viewers: [] },
        description: "OIDC groups mapped to department roles",
      },
    ),
    environments: Type.Array(Type.String({ pattern: environmentNamePattern, minLength: 1, maxLength: 20 }), {
      minItems: 1,
      maxItems: 10,
      default: defaultEnvironments,
      "x-kubernetes-list-type": "set",
      description:
        "One namespace <department>-<environment> is provisioned per environment; environment names are lowercase letters and digits only (no hyphen), so every namespace belongs to exactly one department",
    }),
    quota: DepartmentQuota,
    maxDataClassification: StringEnum(dataClassifications, {
      default: "UNCLASSIFIED",
      description: "Highest data classification the department's workloads may declare",
    }),
    monthlyBudget: Type.Optional(
      Type.Object(
        {
          amount: Type.Number({ minimum: 0, description: "Budget per calendar month in currency units" }),
          currency: Type.String({ pattern: "^[A-Z]{3}$", default: "HKD" }),
        },
        { additionalProperties: false },
      ),
    ),
    domains: Type.Optional(
      Type.Array(Type.String({ maxLength: 253, pattern: "^([a-z0-9]([-a-z0-9]*[a-z0-9])?\\.)+[a-z]{2,}$" }), {
        maxItems: 10,
        description: "DNS suffixes the department's public hostnames must end with",
      }),
    ),
    suspended: Type.Boolean({
      default: false,
      description: "Stops new workloads (pod quota 0) without deleting anything",
    }),
  },
  {
    additionalProperties: false,
    "x-kubernetes-validations": [
      {
        rule: "!has(self.quota.environmentWeights) || self.quota.environmentWeights.all(e, e in self.environments)",
        message: "quota.environmentWeights may only name environments listed in spec.environments",
      },
    ],
  },
);

export const DepartmentStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer()),
  // A map keyed by type, so the tenancy reconciler and the compliance scanner each own their conditions.
  conditions: Type.Optional(
    Type.Array(Condition, { "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] }),
  ),
  namespaces: Type.Optional(Type.Array(Type.String())),
  appliedChildren: Type.Optional(
    Type.String({
      description:
        "Digest of the children last applied (desired state and stored versions): while the children still match it, nothing is applied again",
    }),
  ),
  budget: Type.Optional(
    Type.Object({
      currency: Type.String(),
      limitMinor: Type.Integer(),
      spentMinor: Type.Integer(),
      forecastMinor: Type.Integer(),
      usedRatio: Type.Number(),
    }),
  ),
  compliance: Type.Optional(
    Type.Object({
      pass: Type.Integer(),
      fail: Type.Integer(),
      warn: Type.Integer(),
      failingRules: Type.Array(Type.String()),
      lastScan: Type.String({ format: "date-time" }),
    }),
  ),
  quota: Type.Optional(
    Type.Object({
      used: Type.Record(Type.String(), Type.String(), { description: "Usage summed over all namespaces" }),
      allocated: Type.Record(Type.String(), Type.Record(Type.String(), Type.String()), {
        description: "Per environment: the hard limits currently set on its ResourceQuota",
      }),
    }),
  ),
});

export const Department = Type.Object({
  apiVersion: Type.Literal("govhost.io/v1alpha1"),
  kind: Type.Literal("Department"),
  metadata: ObjectMeta,
  spec: DepartmentSpec,
  status: Type.Optional(DepartmentStatus),
});

export type DepartmentSpec = Static<typeof DepartmentSpec>;
export type DepartmentStatus = Static<typeof DepartmentStatus>;
export type DepartmentQuota = Static<typeof DepartmentQuota>;
export type Department = Static<typeof Department>;

/** A department's role groups, as the spec (or the portal API's view of it) lists them. */
export interface RoleGroups {
  admins?: string[];
  developers?: string[];
  viewers?: string[];
}

/** Every OIDC group a department maps to a role, once each, sorted. */
export function roleGroupsOf(groups: RoleGroups | undefined): string[] {
  return [
    ...new Set([...(groups?.admins ?? []), ...(groups?.developers ?? []), ...(groups?.viewers ?? [])]),
  ].sort();
}

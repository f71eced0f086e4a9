import Type, { type Static } from "typebox";
import { Condition, dnsLabelPattern, ObjectMeta, Quantity, StringEnum } from "./schema-helpers.ts";

// The shared services catalogue: operator-defined SharedServices (cluster-scoped, with plans and prices) and
// departments' subscriptions, SharedServiceInstances (namespaced, in one of their namespaces).

const Name = Type.String({ pattern: dnsLabelPattern, minLength: 1, maxLength: 63 });

export const SharedServicePlan = Type.Object(
  {
    name: Name,
    displayName: Type.Object(
      {
        en: Type.String({ minLength: 1, maxLength: 200 }),
        zhHant: Type.String({ minLength: 1, maxLength: 200 }),
      },
      { additionalProperties: false },
    ),
    priceMinorPerMonth: Type.Integer({
      minimum: 0,
      description: "Plan fee per month in minor currency units",
    }),
    brokerPlanId: Type.Optional(
      Type.String({
        maxLength: 200,
        description: "The broker's plan id (broker provisioning; default: the plan name)",
      }),
    ),
    limits: Type.Object(
      {
        seats: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
        storage: Quantity("Storage the instance may use"),
        cpu: Quantity("CPU limit of the instance's workload"),
        memory: Quantity("Memory limit of the instance's workload"),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export const sharedServiceTemplates = ["collaboration-workspace", "records-management"] as const;

export const SharedServiceSpec = Type.Object(
  {
    displayName: Type.Object(
      {
        en: Type.String({ minLength: 1, maxLength: 200 }),
        zhHant: Type.String({ minLength: 1, maxLength: 200 }),
      },
      { additionalProperties: false },
    ),
    description: Type.String({ maxLength: 2000, default: "" }),
    provisioning: Type.Object(
      {
        method: StringEnum(["rendered", "broker"] as const, {
          description:
            "rendered: the controller renders the workload into the department namespace; broker: an Open Service Broker",
        }),
        template: Type.Optional(StringEnum(sharedServiceTemplates)),
        image: Type.Optional(Type.String({ maxLength: 512, description: "Image of the rendered workload" })),
        broker: Type.Optional(
          Type.Object(
            {
              url: Type.String({ pattern: "^https?://", maxLength: 512 }),
              serviceId: Type.String({ maxLength: 200 }),
              credentialsSecret: Type.Optional(
                Type.String({
                  pattern: dnsLabelPattern,
                  maxLength: 63,
                  description: "Secret in govhost-system with the broker's basic-auth username and password",
                }),
              ),
            },
            { additionalProperties: false },
          ),
        ),
      },
      {
        additionalProperties: false,
        "x-kubernetes-validations": [
          {
            rule: "self.method != 'rendered' || (has(self.template) && has(self.image))",
            message: "rendered provisioning needs a template and an image",
          },
          {
            rule: "self.method != 'broker' || has(self.broker)",
            message: "broker provisioning needs broker.url and broker.serviceId",
          },
        ],
      },
    ),
    plans: Type.Array(SharedServicePlan, {
      minItems: 1,
      maxItems: 20,
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["name"],
    }),
  },
  { additionalProperties: false },
);

export const RetentionSchedule = Type.Object(
  {
    recordClass: Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9./-]{0,63}$" }),
    retainYears: Type.Integer({ minimum: 0, maximum: 200 }),
    disposal: StringEnum(["destroy", "transfer-to-archives"] as const, { default: "destroy" }),
  },
  { additionalProperties: false },
);

export const LegalHold = Type.Object(
  {
    id: Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9-]{0,63}$" }),
    reason: Type.String({ minLength: 10, maxLength: 1000 }),
    placedBy: Type.String({ minLength: 1, maxLength: 256 }),
  },
  { additionalProperties: false },
);

export const DisposalApproval = Type.Object(
  {
    recordClass: Type.String({ maxLength: 64 }),
    approvedBy: Type.String({ minLength: 1, maxLength: 256 }),
    approvedAt: Type.String({ format: "date-time" }),
  },
  { additionalProperties: false },
);

export const SharedServiceInstanceSpec = Type.Object(
  {
    service: Type.String({
      pattern: dnsLabelPattern,
      minLength: 1,
      maxLength: 63,
      // Records protection is keyed on the service: changing it would turn a held records instance into
      // something deletable.
      "x-kubernetes-validations": [
        { rule: "self == oldSelf", message: "spec.service is immutable; subscribe a new instance instead" },
      ],
    }),
    plan: Name,
    parameters: Type.Object(
      {
        seats: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
        filePlan: Type.Optional(
          Type.Array(
            Type.Object(
              { recordClass: Type.String({ maxLength: 64 }), title: Type.String({ maxLength: 200 }) },
              { additionalProperties: false },
            ),
            { maxItems: 500 },
          ),
        ),
        retentionSchedules: Type.Optional(Type.Array(RetentionSchedule, { maxItems: 500 })),
        legalHolds: Type.Optional(Type.Array(LegalHold, { maxItems: 100 })),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Record classes whose disposal a records manager has approved (the instance may go once all are). */
    disposalApprovals: Type.Optional(Type.Array(DisposalApproval, { maxItems: 500 })),
  },
  { additionalProperties: false },
);

export const SharedServiceInstanceStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer()),
  conditions: Type.Optional(
    Type.Array(Condition, { "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] }),
  ),
  phase: Type.Optional(Type.String()),
  plan: Type.Optional(Type.String()),
  url: Type.Optional(Type.String()),
  bindingSecret: Type.Optional(Type.String()),
  /** Broker-backed instances: what the broker has, and the asynchronous operation in flight. */
  broker: Type.Optional(
    Type.Object({
      plan: Type.Optional(Type.String({ description: "The plan the broker last confirmed" })),
      operation: Type.Optional(Type.String()),
      operationKind: Type.Optional(StringEnum(["provision", "update", "deprovision"] as const)),
      targetPlan: Type.Optional(Type.String()),
      bound: Type.Optional(Type.Boolean()),
    }),
  ),
  /** Each plan the instance has been on, from when, at what monthly fee: what metering bills. */
  planHistory: Type.Optional(
    Type.Array(
      Type.Object({
        plan: Type.String(),
        since: Type.String({ format: "date-time" }),
        priceMinorPerMonth: Type.Integer(),
      }),
      { maxItems: 100 },
    ),
  ),
});

export const SharedService = Type.Object({
  apiVersion: Type.Literal("govhost.io/v1alpha1"),
  kind: Type.Literal("SharedService"),
  metadata: ObjectMeta,
  spec: SharedServiceSpec,
});

export const SharedServiceInstance = Type.Object({
  apiVersion: Type.Literal("govhost.io/v1alpha1"),
  kind: Type.Literal("SharedServiceInstance"),
  metadata: ObjectMeta,
  spec: SharedServiceInstanceSpec,
  status: Type.Optional(SharedServiceInstanceStatus),
});

export type SharedServiceSpec = Static<typeof SharedServiceSpec>;
export type SharedService = Static<typeof SharedService>;
export type SharedServiceInstance = Static<typeof SharedServiceInstance>;
export type SharedServiceInstanceStatus = Static<typeof SharedServiceInstanceStatus>;

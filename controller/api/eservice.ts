import Type, { type Static } from "typebox";
import { dataClassifications } from "./department.ts";
import { Condition, dnsLabelPattern, ObjectMeta, Quantity, StringEnum } from "./schema-helpers.ts";

export const accessibilityStandards = ["WCAG21-AA", "WCAG22-AA"] as const;
export type AccessibilityStandard = (typeof accessibilityStandards)[number];

export const exposures = ["internal", "public"] as const;

const hostnamePattern = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?\\.)+[a-z]{2,}$";

const ContainerResources = Type.Object(
  {
    requests: Type.Object(
      { cpu: Quantity("CPU request per replica"), memory: Quantity("Memory request per replica") },
      { additionalProperties: false, default: { cpu: "100m", memory: "128Mi" } },
    ),
    limits: Type.Object(
      { cpu: Quantity("CPU limit per replica"), memory: Quantity("Memory limit per replica") },
      { additionalProperties: false, default: { cpu: "500m", memory: "256Mi" } },
    ),
  },
  {
    additionalProperties: false,
    default: {
      requests: { cpu: "100m", memory: "128Mi" },
      limits: { cpu: "500m", memory: "256Mi" },
    },
  },
);

export const AccessibilityWaiver = Type.Object(
  {
    justification: Type.String({
      minLength: 20,
      maxLength: 2000,
      description: "Why the e-service may be public despite the listed failures, and the remediation plan",
    }),
    approvedBy: Type.String({
      minLength: 1,
      maxLength: 256,
      description: "The approver's user name; admission checks it is the user who recorded the waiver",
    }),
    expires: Type.String({ format: "date-time", description: "When the waiver stops counting" }),
    rules: Type.Optional(
      Type.Array(Type.String({ pattern: "^[a-z0-9-]+$", maxLength: 100 }), {
        maxItems: 50,
        description: "axe rule ids the waiver covers (all blocking rules when omitted)",
      }),
    ),
  },
  { additionalProperties: false },
);

export const AccessibilitySpec = Type.Object(
  {
    standard: StringEnum(accessibilityStandards, {
      default: "WCAG22-AA",
      description: "The conformance target: WCAG 2.1 AA or WCAG 2.2 AA (levels A and AA of all earlier 2.x)",
    }),
    paths: Type.Array(Type.String({ pattern: "^/[^\\s]*$", maxLength: 512 }), {
      minItems: 1,
      maxItems: 20,
      default: ["/"],
      description: "Pages to scan, relative to the e-service root",
    }),
    previewUrl: Type.Optional(
      Type.String({
        pattern: "^https?://[^\\s/]+(/[^\\s]*)?$",
        maxLength: 512,
        description:
          "Where the scanner reaches the pages instead of the in-cluster Service (hosts must be allowed by the operator)",
      }),
    ),
    clientRendered: Type.Boolean({
      default: false,
      description: "Pages are built by JavaScript in the browser: all rules run in the browser tier",
    }),
    languages: Type.Array(Type.String({ pattern: "^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$" }), {
      maxItems: 4,
      default: [],
      description:
        "Languages the site is offered in (e.g. en, zh-HK); with two or more, every page needs a switch link to each other one",
    }),
    lookAndFeel: StringEnum(["report", "enforce"] as const, {
      default: "report",
      description: "Whether failed common look-and-feel checks only report or also block public exposure",
    }),
    onRegression: StringEnum(["warn", "withdraw"] as const, {
      default: "warn",
      description:
        "What happens when a public e-service later fails: keep it public and warn, or withdraw it",
    }),
    rescanIntervalHours: Type.Integer({ minimum: 1, maximum: 720, default: 24 }),
    waiver: Type.Optional(AccessibilityWaiver),
  },
  {
    additionalProperties: false,
    default: {
      standard: "WCAG22-AA",
      paths: ["/"],
      clientRendered: false,
      languages: [],
      lookAndFeel: "report",
      onRegression: "warn",
      rescanIntervalHours: 24,
    },
  },
);

export const transactionMethods = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export const completionStatusClasses = ["2xx", "3xx"] as const;

/**
 * What counts as one completed transaction of the e-service (a form submitted, an application made): a
 * request with one of these methods, to this path, answered with one of these status classes. Requests to
 * the path with the methods are the transactions started (docs/performance.md).
 */
export const CompletedTransaction = Type.Object(
  {
    path: Type.String({
      // Whole path elements of unreserved characters, none of them . or .. (which the Ingress API refuses).
      pattern: "^(/|(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+)$",
      maxLength: 256,
      description: "URL path of the step that completes a transaction (e.g. /apply/submit)",
    }),
    match: StringEnum(["Exact", "Prefix"] as const, {
      default: "Exact",
      description: "Exact: this path only; Prefix: this path and everything under it (whole path elements)",
    }),
    methods: Type.Array(StringEnum(transactionMethods), {
      minItems: 1,
      maxItems: 5,
      default: ["POST"],
      "x-kubernetes-list-type": "set",
      description: "HTTP methods that complete a transaction at that path",
    }),
    statusClasses: Type.Array(StringEnum(completionStatusClasses), {
      minItems: 1,
      maxItems: 2,
      default: ["2xx"],
      "x-kubernetes-list-type": "set",
      description:
        "Response status classes that mean the transaction completed (3xx for post-redirect-get forms)",
    }),
  },
  { additionalProperties: false },
);

/** The e-service's service-performance targets, reported against each month (docs/performance.md). */
export const ServiceTargets = Type.Object(
  {
    monthlyCompletedTransactions: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 1_000_000_000, description: "Completed transactions per month" }),
    ),
    completionRatePercent: Type.Optional(
      Type.Number({ minimum: 0, maximum: 100, description: "Completed transactions per 100 started" }),
    ),
    digitalTakeUpPercent: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 100,
        description: "Share of all the service's transactions (digital and other channels) made online",
      }),
    ),
    satisfactionPercent: Type.Optional(
      Type.Number({ minimum: 0, maximum: 100, description: "Users satisfied or very satisfied" }),
    ),
    availabilityPercent: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 100,
        description: "Share of the month the e-service answered (e.g. 99.9)",
      }),
    ),
    p95ResponseMilliseconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 600_000,
        description: "95th percentile of response time at the ingress",
      }),
    ),
  },
  { additionalProperties: false },
);

export const EServiceSpec = Type.Object(
  {
    displayName: Type.Optional(
      Type.Object(
        {
          en: Type.String({ minLength: 1, maxLength: 200 }),
          zhHant: Type.String({ minLength: 1, maxLength: 200 }),
        },
        { additionalProperties: false, description: "Name shown in the citizen-facing catalogue" },
      ),
    ),
    image: Type.String({
      minLength: 3,
      maxLength: 512,
      pattern: "^[a-z0-9][a-z0-9._\\-/:]*(@sha256:[a-f0-9]{64})?$",
      description: "Container image pinned by version tag or digest (never latest)",
      "x-kubernetes-validations": [
        {
          rule: "self.contains('@') || (self.substring(self.lastIndexOf('/') + 1).contains(':') && !self.endsWith(':latest'))",
          message:
            "image must be pinned by a version tag (e.g. :1.4.2) or a digest (@sha256:...), never latest",
        },
      ],
    }),
    port: Type.Integer({
      minimum: 1,
      maximum: 65535,
      default: 8080,
      description: "Container port serving HTTP",
    }),
    replicas: Type.Integer({ minimum: 0, maximum: 50, default: 2 }),
    resources: ContainerResources,
    env: Type.Array(
      Type.Object(
        {
          name: Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$", maxLength: 128 }),
          value: Type.String({ maxLength: 4096 }),
        },
        { additionalProperties: false },
      ),
      { maxItems: 50, default: [], description: "Plain configuration (secrets belong in Secrets)" },
    ),
    hostname: Type.Optional(
      Type.String({
        maxLength: 253,
        pattern: hostnamePattern,
        description: "Public host name under one of the department's domains (default <name>.<first domain>)",
      }),
    ),
    exposure: StringEnum(exposures, {
      default: "internal",
      description: "public: reachable through the platform ingress once every baseline passes",
    }),
    serviceCluster: Type.Optional(
      Type.String({
        pattern: dnsLabelPattern,
        maxLength: 63,
        description: "Citizen-facing service catalogue cluster (e.g. travel-and-immigration)",
      }),
    ),
    dataClassification: StringEnum(dataClassifications, { default: "UNCLASSIFIED" }),
    accessibility: AccessibilitySpec,
    utilisationTarget: Type.Optional(
      Type.Integer({
        minimum: 10,
        maximum: 100,
        description:
          "Autoscaling only: the pods' target CPU utilisation in percent (recorded; see docs/eservices.md). Not take-up: service targets are spec.targets",
      }),
    ),
    completedTransaction: Type.Optional(CompletedTransaction),
    targets: Type.Optional(ServiceTargets),
  },
  {
    additionalProperties: false,
    "x-kubernetes-validations": [
      {
        rule: "self.resources.requests.cpu == self.resources.limits.cpu || quantity(self.resources.requests.cpu).isLessThan(quantity(self.resources.limits.cpu))",
        message: "resources.requests.cpu must not exceed resources.limits.cpu",
      },
      {
        rule: "self.resources.requests.memory == self.resources.limits.memory || quantity(self.resources.requests.memory).isLessThan(quantity(self.resources.limits.memory))",
        message: "resources.requests.memory must not exceed resources.limits.memory",
      },
    ],
  },
);

export const impacts = ["critical", "serious", "moderate", "minor"] as const;
export type Impact = (typeof impacts)[number];

export const AccessibilitySummary = Type.Object({
  standard: Type.String(),
  image: Type.String(),
  paths: Type.Array(Type.String()),
  scanKey: Type.String({ description: "Digest of everything a scan depends on; a change triggers a rescan" }),
  contentDigest: Type.String({ description: "sha256 of the HTML the scanner was served" }),
  scannedAt: Type.String({ format: "date-time" }),
  tiers: Type.Array(Type.String()),
  counts: Type.Object({
    critical: Type.Integer(),
    serious: Type.Integer(),
    moderate: Type.Integer(),
    minor: Type.Integer(),
  }),
  failedRules: Type.Array(
    Type.Object({
      id: Type.String(),
      impact: Type.String(),
      tier: Type.String(),
      nodes: Type.Integer(),
      paths: Type.Array(Type.String()),
      help: Type.String(),
    }),
  ),
  lookAndFeel: Type.Array(
    Type.Object({ id: Type.String(), paths: Type.Array(Type.String()), message: Type.String() }),
  ),
  blockingRules: Type.Array(Type.String()),
  waivedRules: Type.Array(Type.String()),
  report: Type.String({ description: "Name of the PolicyReport with every finding" }),
  error: Type.Optional(Type.String()),
});

export const EServiceStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer()),
  conditions: Type.Optional(
    Type.Array(Condition, { "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] }),
  ),
  url: Type.Optional(Type.String()),
  internalUrl: Type.Optional(Type.String()),
  accessibility: Type.Optional(AccessibilitySummary),
  appliedChildren: Type.Optional(
    Type.String({
      description:
        "Digest of the children last applied (desired state and stored versions): while the children still match it, nothing is applied again",
    }),
  ),
});

export const EService = Type.Object({
  apiVersion: Type.Literal("govhost.io/v1alpha1"),
  kind: Type.Literal("EService"),
  metadata: ObjectMeta,
  spec: EServiceSpec,
  status: Type.Optional(EServiceStatus),
});

export type EServiceSpec = Static<typeof EServiceSpec>;
export type EServiceStatus = Static<typeof EServiceStatus>;
export type AccessibilitySpec = Static<typeof AccessibilitySpec>;
export type AccessibilitySummary = Static<typeof AccessibilitySummary>;
export type AccessibilityWaiver = Static<typeof AccessibilityWaiver>;
export type EService = Static<typeof EService>;
export type CompletedTransaction = Static<typeof CompletedTransaction>;
export type ServiceTargets = Static<typeof ServiceTargets>;

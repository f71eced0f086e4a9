import { fieldManager } from "./group.ts";

// Every status condition govhost writes: its type, the reasons it may carry, and which writer owns it.
// Each writer applies only its own part of a status with its own field manager (server-side apply), so
// writers never overwrite each other. Reconcilers write conditions through these types: a reason not
// listed here does not compile.

export const fieldManagers = {
  /** Tenancy, e-service and shared-service reconcilers, and every object they render. */
  controller: fieldManager,
  /** The compliance scanner's Department.status.compliance and PolicyCompliant. */
  compliance: "govhost-compliance",
  /** The meter's Department.status.budget, BudgetHealthy, ledgers and statements. */
  metering: "govhost-metering",
} as const;

export interface StatusOwner {
  kind: string;
  fieldManager: string;
  /** Top-level status fields this writer sets (besides conditions). */
  fields: readonly string[];
  /** Whether this writer records metadata.generation as status.observedGeneration. */
  observesGeneration: boolean;
  conditions: Record<string, readonly string[]>;
}

export const statusOwners = {
  tenancy: {
    kind: "Department",
    fieldManager: fieldManagers.controller,
    fields: ["namespaces", "quota", "appliedChildren"],
    observesGeneration: true,
    conditions: {
      Ready: [
        "Provisioned",
        "InvalidSpec",
        "ReconcileError",
        "NamespaceConflict",
        "NamespaceTerminating",
        "Deleting",
      ],
      QuotaHealthy: ["WithinQuota", "Rebalancing", "OverQuota"],
      Suspended: ["SuspendedBySpec", "Active"],
    },
  },
  compliance: {
    kind: "Department",
    fieldManager: fieldManagers.compliance,
    fields: ["compliance"],
    observesGeneration: false,
    conditions: { PolicyCompliant: ["NoViolations", "Violations"] },
  },
  metering: {
    kind: "Department",
    fieldManager: fieldManagers.metering,
    fields: ["budget"],
    observesGeneration: false,
    conditions: { BudgetHealthy: ["WithinBudget", "NearBudget", "OverBudget"] },
  },
  eservice: {
    kind: "EService",
    fieldManager: fieldManagers.controller,
    fields: ["url", "internalUrl", "accessibility", "appliedChildren"],
    observesGeneration: true,
    conditions: {
      Deployed: [
        "Available",
        "ScaledToZero",
        "NoAvailableReplicas",
        "PodsRefused",
        "RolloutStalled",
        "RefusedByAdmission",
        "ChildInvalid",
        "NotATenantNamespace",
        "ReconcileError",
      ],
      SecurityBaseline: ["Admitted", "Refused", "NotJudged"],
      AccessibilityBaseline: [
        "ScanPending",
        "ScanFailed",
        "Violations",
        "Waived",
        "Passed",
        "PreviewUrlNotAllowed",
        "NothingToScan",
      ],
      Exposed: [
        "Internal",
        "NoHostname",
        "HostnameNotAllowed",
        "SecurityBaseline",
        "ChildInvalid",
        "Public",
        "RescanPending",
        "ExposedWithRegression",
        "Withdrawn",
        "AccessibilityBaseline",
        "IngressRefused",
        "QuotaExceeded",
        "RolloutInProgress",
      ],
    },
  },
  sharedServiceInstance: {
    kind: "SharedServiceInstance",
    fieldManager: fieldManagers.controller,
    fields: ["phase", "plan", "url", "bindingSecret", "broker", "planHistory"],
    observesGeneration: true,
    conditions: {
      Ready: [
        "Provisioned",
        "Deprovisioning",
        "BrokerOperationInProgress",
        "BrokerUnreachable",
        "BrokerFault",
        "ProvisionFailed",
        "UpdateFailed",
        "NotATenantNamespace",
        "RefusedByAdmission",
        "ChildInvalid",
        "UnknownService",
        "UnknownPlan",
      ],
      StorageSized: ["AsPlanned", "ResizeRefused"],
      // Whether the rendered workload serves (its Deployment's available replicas): runtime/rollout.ts.
      Available: ["Available", "ScaledToZero", "NoAvailableReplicas", "PodsRefused", "RolloutStalled"],
    },
  },
  apiGrant: {
    kind: "ApiGrant",
    fieldManager: fieldManagers.controller,
    fields: ["phase", "decidedBy", "provider"],
    observesGeneration: true,
    conditions: {
      Ready: [
        "Active",
        "AwaitingDecision",
        "Refused",
        "Expired",
        "ExportNotFound",
        "EServiceNotFound",
        "NotAllowed",
        "ClassificationMismatch",
        "ExpiryTooFar",
        "NotATenantNamespace",
        "GatewayRouteRefused",
      ],
    },
  },
} as const satisfies Record<string, StatusOwner>;

/** A condition one writer may set: its type and reason come from that writer's catalogue entry. */
export type ConditionOf<O extends StatusOwner> = {
  [T in keyof O["conditions"] & string]: {
    type: T;
    status: "True" | "False" | "Unknown";
    reason: O["conditions"][T][number];
    message: string;
  };
}[keyof O["conditions"] & string];

export type DepartmentCondition = ConditionOf<typeof statusOwners.tenancy>;
export type EServiceCondition = ConditionOf<typeof statusOwners.eservice>;
export type InstanceCondition = ConditionOf<typeof statusOwners.sharedServiceInstance>;
export type ApiGrantCondition = ConditionOf<typeof statusOwners.apiGrant>;

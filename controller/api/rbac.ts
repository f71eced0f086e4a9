// The ClusterRoles govhost defines: the three tenant roles that departments' OIDC groups are bound to in
// their own namespaces (through RoleBindings, never ClusterRoleBindings), and the controller's own
// least-privilege role. Installed by the platform (infra/ or the local installer).

import { feedbackNamespace } from "../../lib/performance/feedback-store.ts";
import { apiGateway } from "./api-gateway.ts";

const read = ["get", "list", "watch"];
const write = ["create", "update", "patch", "delete", "deletecollection"];

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

const workloadResources: PolicyRule[] = [
  {
    apiGroups: [""],
    resources: ["pods", "services", "configmaps", "persistentvolumeclaims", "serviceaccounts"],
    verbs: [],
  },
  {
    apiGroups: ["apps"],
    resources: ["deployments", "replicasets", "statefulsets", "deployments/scale", "statefulsets/scale"],
    verbs: [],
  },
  { apiGroups: ["batch"], resources: ["jobs", "cronjobs"], verbs: [] },
  { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers"], verbs: [] },
  { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: [] },
  { apiGroups: ["govhost.io"], resources: ["eservices", "sharedserviceinstances"], verbs: [] },
];

const viewerRules: PolicyRule[] = [
  ...workloadResources.map((rule) => ({ ...rule, verbs: read })),
  {
    apiGroups: [""],
    resources: ["pods/log", "endpoints", "events", "resourcequotas", "limitranges"],
    verbs: read,
  },
  { apiGroups: ["networking.k8s.io"], resources: ["ingresses", "networkpolicies"], verbs: read },
  { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: read },
  {
    apiGroups: ["govhost.io"],
    resources: ["eservices/status", "sharedserviceinstances/status"],
    verbs: read,
  },
  {
    apiGroups: ["govhost.io"],
    resources: ["apiexports", "apiexports/status", "apigrants", "apigrants/status", "apigrantdecisions"],
    verbs: read,
  },
  // A RoleBinding in namespace X lets its subjects read namespace X itself (and no other).
  { apiGroups: [""], resources: ["namespaces"], verbs: ["get"] },
];

// Subscribing to a shared service commits the department to a monthly fee: admins only, as in the portal
// API (shared-service:subscribe), so developers may read instances but not create, change or delete them.
const subscriptions: PolicyRule = {
  apiGroups: ["govhost.io"],
  resources: ["sharedserviceinstances"],
  verbs: write,
};

const developerRules: PolicyRule[] = [
  ...viewerRules,
  ...workloadResources.map((rule) =>
    rule.apiGroups[0] === "govhost.io"
      ? { ...rule, resources: ["eservices"], verbs: write }
      : { ...rule, verbs: write },
  ),
  { apiGroups: [""], resources: ["secrets"], verbs: [...read, ...write] },
  { apiGroups: [""], resources: ["pods/exec", "pods/portforward", "pods/attach"], verbs: ["create", "get"] },
  // Asking another department for API access; the provider's admins decide (ApiGrantDecision).
  { apiGroups: ["govhost.io"], resources: ["apigrants"], verbs: write },
];

// Tenants may delegate inside their namespace; Kubernetes' escalation check still stops them granting
// anything they do not hold themselves, since neither `bind` nor `escalate` is granted. Admins may narrow
// traffic with their own NetworkPolicies; admission (GH-NET-003) keeps them inside the department.
const adminRules: PolicyRule[] = [
  ...developerRules,
  subscriptions,
  { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: write },
  // Publishing an API to other departments, and deciding their requests, in the admin's own name (GH-API-001).
  { apiGroups: ["govhost.io"], resources: ["apiexports", "apigrantdecisions"], verbs: write },
  {
    apiGroups: ["rbac.authorization.k8s.io"],
    resources: ["roles", "rolebindings"],
    verbs: [...read, ...write],
  },
];

export const tenantRoles = {
  admin: "govhost-tenant-admin",
  developer: "govhost-tenant-developer",
  viewer: "govhost-tenant-viewer",
} as const;

export type TenantRole = keyof typeof tenantRoles;

function clusterRole(name: string, rules: PolicyRule[], description: string) {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: {
      name,
      labels: { "app.kubernetes.io/part-of": "govhost", "app.kubernetes.io/managed-by": "govhost" },
      annotations: { "govhost.io/description": description },
    },
    rules,
  };
}

export const tenantClusterRoles = [
  clusterRole(
    tenantRoles.admin,
    adminRules,
    "Department admins: workloads, secrets and delegation inside their namespaces",
  ),
  clusterRole(
    tenantRoles.developer,
    developerRules,
    "Department developers: workloads and secrets in their namespaces",
  ),
  clusterRole(
    tenantRoles.viewer,
    viewerRules,
    "Department viewers: read workloads (not secrets) in their namespaces",
  ),
];

/**
 * Accessibility approvers (a central accessibility team) record waivers on EServices in any department.
 * Admission (GH-A11Y-001) checks the waiver is theirs; RBAC lets them read and patch EServices.
 */
export const accessibilityApproversGroup = "govhost:accessibility-approvers";
export const accessibilityApproverRole = clusterRole(
  "govhost-accessibility-approver",
  [
    { apiGroups: ["govhost.io"], resources: ["eservices"], verbs: [...read, "patch", "update"] },
    { apiGroups: ["govhost.io"], resources: ["eservices/status"], verbs: read },
    { apiGroups: ["wgpolicyk8s.io"], resources: ["policyreports"], verbs: read },
  ],
  "Accessibility approvers: read e-services and their reports everywhere, record waivers",
);

/** Platform-wide roles, bound to OIDC groups (the portal API maps the same groups, see portal-api/auth). */
export const platformGroups = {
  operator: "govhost:platform-operators",
  finance: "govhost:finance",
  auditor: "govhost:auditors",
} as const;

const govhostKinds = [
  "departments",
  "eservices",
  "sharedserviceinstances",
  "ratecards",
  "chargebackstatements",
  "apiexports",
  "apigrants",
  "apigrantdecisions",
];

export const platformRoleClusterRoles = [
  clusterRole(
    "govhost-platform-operator",
    [
      { apiGroups: ["govhost.io"], resources: govhostKinds, verbs: [...read, ...write] },
      { apiGroups: ["govhost.io"], resources: govhostKinds.map((k) => `${k}/status`), verbs: read },
      { apiGroups: ["wgpolicyk8s.io"], resources: ["policyreports"], verbs: read },
    ],
    "Platform operators: departments, e-services, rate cards and statements everywhere",
  ),
  clusterRole(
    "govhost-finance",
    [
      {
        apiGroups: ["govhost.io"],
        resources: ["departments", "ratecards", "chargebackstatements"],
        verbs: read,
      },
    ],
    "Finance officers: departments, rate cards and statements (read only)",
  ),
  clusterRole(
    "govhost-auditor",
    [
      {
        apiGroups: ["govhost.io"],
        resources: [...govhostKinds, ...govhostKinds.map((k) => `${k}/status`)],
        verbs: read,
      },
      { apiGroups: ["wgpolicyk8s.io"], resources: ["policyreports"], verbs: read },
    ],
    "Auditors: everything govhost defines, read only",
  ),
];

export const portalApiIdentity = {
  namespace: "govhost-system",
  serviceAccount: "govhost-portal-api",
} as const;

export const portalApiImpersonationRoleName = "govhost-portal-api-impersonation";

/**
 * The portal API's own rights: read what it lists for callers (it filters by the caller's departments),
 * and impersonate callers for every write so RBAC and admission judge the caller. It strips system:
 * groups from tokens before impersonating.
 */
export const portalApiClusterRole = clusterRole(
  "govhost-portal-api",
  [
    {
      apiGroups: ["govhost.io"],
      resources: [
        "departments",
        "eservices",
        "chargebackstatements",
        "ratecards",
        "sharedservices",
        "sharedserviceinstances",
        "apiexports",
        "apigrants",
      ],
      verbs: read,
    },
    // Department admins' edits of their own contacts and display name (the API checks the fields).
    { apiGroups: ["govhost.io"], resources: ["departments"], verbs: ["patch"] },
    { apiGroups: ["wgpolicyk8s.io"], resources: ["policyreports"], verbs: read },
    // A route acts in a namespace only once its platform labels show it was made for that department; the
    // API watches the platform's namespaces (by label) to check that without a round trip per request.
    { apiGroups: [""], resources: ["namespaces"], verbs: read },
    // Any user name (nothing is bound to user names); groups only through the role below.
    { apiGroups: [""], resources: ["users"], verbs: ["impersonate"] },
    // That role itself, watched, so the API acts only as the groups it has already been granted.
    {
      apiGroups: ["rbac.authorization.k8s.io"],
      resources: ["clusterroles"],
      verbs: read,
      resourceNames: [portalApiImpersonationRoleName],
    },
  ],
  "The govhost portal API",
);

/**
 * The portal API reads each department's traffic counts (`govhost-traffic-<dept>`, kept by the controller
 * in the platform namespace) for service-performance reports. `get` only: it cannot list the namespace's
 * ConfigMaps, and the names are per department, so a resourceNames list would have to follow every
 * Department (docs/performance.md).
 */
export const portalApiReportsRole = {
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "Role",
  metadata: { name: "govhost-portal-api-reports", namespace: portalApiIdentity.namespace },
  rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }],
};

/**
 * The portal API keeps citizens' ratings and comments (`govhost-ratings-<dept>`, `govhost-comments-<dept>`)
 * and departments' other-channel counts (`govhost-channels-<dept>`) in a namespace where nothing else lives,
 * so writing them gives it no way to change the controller's stores (docs/performance.md).
 */
export const portalApiFeedbackRole = {
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "Role",
  metadata: { name: "govhost-portal-api-feedback", namespace: feedbackNamespace },
  rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "create", "update"] }],
};

/**
 * The controller lists the departments' ratings stores for the public figures, drops comments past their
 * retention, and deletes a deleted department's stores.
 */
export const controllerFeedbackRole = {
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "Role",
  metadata: { name: "govhost-controller-ratings", namespace: feedbackNamespace },
  rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["list", "update", "delete"] }],
};

/** The shared services catalogue is public inside the platform: every signed-in user may browse it. */
export const catalogueReaderRole = clusterRole(
  "govhost-catalogue-reader",
  [{ apiGroups: ["govhost.io"], resources: ["sharedservices"], verbs: read }],
  "Everyone signed in: browse the shared services catalogue",
);

/** Records managers place and lift legal holds and approve disposal (GH-REC-002), in any department. */
export const recordsManagersGroup = "govhost:records-managers";
export const recordsManagerRole = clusterRole(
  "govhost-records-manager",
  [
    { apiGroups: ["govhost.io"], resources: ["sharedserviceinstances"], verbs: [...read, "patch", "update"] },
    {
      apiGroups: ["govhost.io"],
      resources: ["sharedserviceinstances/status", "sharedservices"],
      verbs: read,
    },
  ],
  "Records managers: legal holds and disposal approvals on records-management instances",
);

/**
 * The groups the portal API may impersonate: exactly those that mean something on the platform (platform
 * roles and every department's groups), never a Kubernetes system group. The controller keeps the list in
 * step with the Departments; an empty resourceNames list would mean "all", so the platform groups are
 * always in it.
 */
export function portalApiImpersonationRole(groups: string[]) {
  const names = [...new Set(groups.filter((g) => g && !g.startsWith("system:")))].sort();
  return clusterRole(
    portalApiImpersonationRoleName,
    [{ apiGroups: [""], resources: ["groups"], verbs: ["impersonate"], resourceNames: names }],
    "The groups the portal API may act as (kept in step with the Departments by the controller)",
  );
}

export const controllerIdentity = {
  namespace: "govhost-system",
  serviceAccount: "govhost-controller",
  /** The labels of the controller's pods where it runs in the cluster (infra/workloads.ts). */
  podLabels: { "app.kubernetes.io/name": "govhost-controller" },
} as const;
export const controllerLeaseName = "govhost-controller";

const manage = [...read, "create", "update", "patch", "delete"];

/**
 * What the controller writes inside tenant namespaces (an EService's workload and Ingress). Bound per
 * tenant namespace by the tenancy reconciler, so the controller cannot create workloads anywhere else.
 */
export const controllerTenantRole = clusterRole(
  "govhost-controller-tenant",
  [
    { apiGroups: ["apps"], resources: ["deployments"], verbs: manage },
    { apiGroups: [""], resources: ["services"], verbs: manage },
    { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: manage },
    { apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: manage },
    // Shared-service instances: their configuration and data volume, and a binding Secret it creates once
    // (never reads: no get/list/watch on secrets).
    { apiGroups: [""], resources: ["configmaps", "persistentvolumeclaims"], verbs: manage },
    { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
  ],
  "The govhost controller inside tenant namespaces (bound in each one by the tenancy reconciler)",
);

/** What the controller needs and nothing more (no wildcard, no secrets, no escalate). */
export const controllerClusterRole = clusterRole(
  "govhost-controller",
  [
    { apiGroups: ["govhost.io"], resources: ["departments"], verbs: [...read, "update", "patch"] },
    { apiGroups: ["govhost.io"], resources: ["departments/status"], verbs: ["get", "update", "patch"] },
    { apiGroups: ["govhost.io"], resources: ["departments/finalizers"], verbs: ["update"] },
    { apiGroups: ["govhost.io"], resources: ["eservices"], verbs: read },
    { apiGroups: ["govhost.io"], resources: ["eservices/status"], verbs: ["get", "update", "patch"] },
    // Needed to set blockOwnerDeletion on the objects an EService or an instance owns.
    {
      apiGroups: ["govhost.io"],
      resources: ["eservices/finalizers", "sharedserviceinstances/finalizers"],
      verbs: ["update"],
    },
    { apiGroups: ["govhost.io"], resources: ["sharedservices"], verbs: read },
    // API exchange: read exports, grants and decisions; report on exports and grants.
    { apiGroups: ["govhost.io"], resources: ["apiexports", "apigrants", "apigrantdecisions"], verbs: read },
    {
      apiGroups: ["govhost.io"],
      resources: ["apiexports/status", "apigrants/status"],
      verbs: ["get", "update", "patch"],
    },
    {
      apiGroups: ["govhost.io"],
      resources: ["apigrants/finalizers", "apiexports/finalizers"],
      verbs: ["update"],
    },
    // The API gateway's check: who a caller's service-account token names (controller/api-exchange/gateway).
    { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
    // update/patch: the finalizer that deprovisions broker-backed instances at the broker first.
    { apiGroups: ["govhost.io"], resources: ["sharedserviceinstances"], verbs: [...read, "update", "patch"] },
    {
      apiGroups: ["govhost.io"],
      resources: ["sharedserviceinstances/status"],
      verbs: ["get", "update", "patch"],
    },
    { apiGroups: [""], resources: ["namespaces", "resourcequotas", "limitranges"], verbs: manage },
    { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: manage },
    { apiGroups: ["rbac.authorization.k8s.io"], resources: ["rolebindings"], verbs: manage },
    // Binding the tenant roles needs `bind` on exactly those roles rather than holding all their rights.
    // Keeping the portal API's impersonation list in step with the Departments needs `escalate` (the
    // controller does not hold those impersonation rights itself), on that one ClusterRole only.
    {
      apiGroups: ["rbac.authorization.k8s.io"],
      resources: ["clusterroles"],
      verbs: ["get", "update", "patch", "escalate"],
      resourceNames: ["govhost-portal-api-impersonation"],
    },
    {
      apiGroups: ["rbac.authorization.k8s.io"],
      resources: ["clusterroles"],
      verbs: ["bind"],
      resourceNames: [...Object.values(tenantRoles), controllerTenantRole.metadata.name],
    },
    { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "patch", "update"] },
    // Background compliance: read tenant workloads, publish PolicyReports.
    { apiGroups: [""], resources: ["pods", "services", "persistentvolumeclaims"], verbs: read },
    {
      apiGroups: ["apps"],
      resources: ["deployments", "statefulsets", "replicasets", "daemonsets"],
      verbs: read,
    },
    { apiGroups: ["batch"], resources: ["jobs", "cronjobs"], verbs: read },
    { apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: read },
    // Whether an e-service's budget is still as applied (its cache of them, metadata only).
    { apiGroups: ["policy"], resources: ["poddisruptionbudgets"], verbs: read },
    { apiGroups: ["wgpolicyk8s.io"], resources: ["policyreports"], verbs: manage },
    // Metering: read the rate card and pods' usage (metrics-server), write the month's draft statements.
    { apiGroups: ["govhost.io"], resources: ["ratecards"], verbs: read },
    { apiGroups: ["metrics.k8s.io"], resources: ["pods"], verbs: ["get", "list"] },
    {
      apiGroups: ["govhost.io"],
      resources: ["chargebackstatements"],
      verbs: [...read, "create", "update", "patch"],
    },
    {
      apiGroups: ["admissionregistration.k8s.io"],
      resources: ["validatingadmissionpolicybindings"],
      verbs: read,
    },
  ],
  "The govhost controller",
);

/** Leader election: only its own Lease, only in the platform namespace. */
export const controllerLeaseRole = {
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "Role",
  metadata: { name: "govhost-controller-leader-election", namespace: controllerIdentity.namespace },
  rules: [
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
    {
      apiGroups: ["coordination.k8s.io"],
      resources: ["leases"],
      verbs: ["get", "update"],
      resourceNames: [controllerLeaseName],
    },
    {
      apiGroups: [""],
      resources: ["configmaps"],
      verbs: ["get", "list", "watch"],
      resourceNames: ["govhost-baseline"],
    },
    // The metering ledgers (a head and its shards per department) live in the platform namespace only;
    // delete retires a generation of shards after a re-shard.
    { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "create", "update", "delete"] },
    // The leader makes itself the API gateway check's only endpoint (controller/api-exchange/check-endpoint.ts).
    { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["create"] },
    {
      apiGroups: ["discovery.k8s.io"],
      resources: ["endpointslices"],
      verbs: ["get", "patch"],
      resourceNames: [`${apiGateway.checkService.name}-leader`],
    },
    // Service brokers' credentials (SharedService.spec.provisioning.broker.credentialsSecret), read only.
    { apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
  ],
};

import { feedbackNamespace } from "../../lib/performance/feedback-store.ts";
import {
  type BaselineSettings,
  baselineManifests,
  defaultBaselineSettings,
} from "../../policies/admission.ts";
import { platformOwned } from "../../policies/keys.ts";
import { allCrds } from "./crds.ts";
import { defaultCatalogue } from "./default-catalogue.ts";
import { defaultRateCard } from "./default-ratecard.ts";
import {
  accessibilityApproverRole,
  accessibilityApproversGroup,
  catalogueReaderRole,
  controllerClusterRole,
  controllerFeedbackRole,
  controllerIdentity,
  controllerLeaseRole,
  controllerTenantRole,
  platformGroups,
  platformRoleClusterRoles,
  portalApiClusterRole,
  portalApiFeedbackRole,
  portalApiIdentity,
  portalApiImpersonationRole,
  portalApiReportsRole,
  recordsManagerRole,
  recordsManagersGroup,
  tenantClusterRoles,
} from "./rbac.ts";

const partOf = { "app.kubernetes.io/part-of": "govhost" };

/** Marks a platform object that installs create when missing but never overwrite (another owner keeps it). */
export const createOnlyAnnotation = "govhost.io/create-only";

/** Groups that mean something on every installation, whatever the Departments say. */
export const staticImpersonableGroups = [
  ...Object.values(platformGroups),
  accessibilityApproversGroup,
  recordsManagersGroup,
];

/**
 * What the platform's own pods hold (user names in the audit log, department records): they declare it like
 * a department's workloads do, and the platform namespace's ceiling allows it (GH-DATA-001).
 */
export const platformDataClassification = "RESTRICTED";

const namespace = (
  name: string,
  extra: Record<string, string> = {},
  annotations: Record<string, string> = {},
) => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: {
    name,
    labels: { ...partOf, ...extra },
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  },
});

/** The platform objects every govhost installation has, in apply order (CRDs first). */
export function platformManifests(options: {
  ingressControllerNamespace: string;
  baseline?: BaselineSettings;
}) {
  const { namespace: systemNs, serviceAccount } = controllerIdentity;
  const subject = { kind: "ServiceAccount", name: serviceAccount, namespace: systemNs };
  return [
    ...allCrds,
    namespace(
      systemNs,
      { "pod-security.kubernetes.io/enforce": "restricted" },
      { [platformOwned.maxDataClassification]: platformDataClassification },
    ),
    namespace(options.ingressControllerNamespace),
    ...tenantClusterRoles,
    controllerClusterRole,
    controllerTenantRole,
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: serviceAccount, namespace: systemNs, labels: partOf },
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "govhost-controller", labels: partOf },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: controllerClusterRole.metadata.name,
      },
      subjects: [subject],
    },
    accessibilityApproverRole,
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: accessibilityApproverRole.metadata.name, labels: partOf },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: accessibilityApproverRole.metadata.name,
      },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: accessibilityApproversGroup }],
    },
    catalogueReaderRole,
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: catalogueReaderRole.metadata.name, labels: partOf },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: catalogueReaderRole.metadata.name,
      },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:authenticated" }],
    },
    recordsManagerRole,
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: recordsManagerRole.metadata.name, labels: partOf },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: recordsManagerRole.metadata.name,
      },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: recordsManagersGroup }],
    },
    ...platformRoleClusterRoles,
    ...(["operator", "finance", "auditor"] as const).map((role, i) => ({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: platformRoleClusterRoles[i]?.metadata.name, labels: partOf },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: platformRoleClusterRoles[i]?.metadata.name,
      },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: platformGroups[role] }],
    })),
    portalApiClusterRole,
    // Created once with the platform's own groups; from then on the controller keeps it in step with the
    // Departments, so installs must not overwrite it (create-only).
    {
      ...portalApiImpersonationRole(staticImpersonableGroups),
      metadata: {
        ...portalApiImpersonationRole(staticImpersonableGroups).metadata,
        annotations: {
          ...portalApiImpersonationRole(staticImpersonableGroups).metadata.annotations,
          [createOnlyAnnotation]: "true",
        },
      },
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "govhost-portal-api-impersonation", labels: partOf },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: "govhost-portal-api-impersonation",
      },
      subjects: [
        {
          kind: "ServiceAccount",
          name: portalApiIdentity.serviceAccount,
          namespace: portalApiIdentity.namespace,
        },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "govhost-portal-api-ledgers", namespace: systemNs, labels: partOf },
      // The usage query reads the metering ledgers (one ConfigMap per department), nothing else there.
      rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "govhost-portal-api-ledgers", namespace: systemNs, labels: partOf },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "govhost-portal-api-ledgers" },
      subjects: [
        {
          kind: "ServiceAccount",
          name: portalApiIdentity.serviceAccount,
          namespace: portalApiIdentity.namespace,
        },
      ],
    },
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: {
        name: portalApiIdentity.serviceAccount,
        namespace: portalApiIdentity.namespace,
        labels: partOf,
      },
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: portalApiClusterRole.metadata.name, labels: partOf },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: portalApiClusterRole.metadata.name,
      },
      subjects: [
        {
          kind: "ServiceAccount",
          name: portalApiIdentity.serviceAccount,
          namespace: portalApiIdentity.namespace,
        },
      ],
    },
    portalApiReportsRole,
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: portalApiReportsRole.metadata.name, namespace: systemNs, labels: partOf },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Role",
        name: portalApiReportsRole.metadata.name,
      },
      subjects: [
        {
          kind: "ServiceAccount",
          name: portalApiIdentity.serviceAccount,
          namespace: portalApiIdentity.namespace,
        },
      ],
    },
    namespace(feedbackNamespace, { "pod-security.kubernetes.io/enforce": "restricted" }),
    portalApiFeedbackRole,
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: portalApiFeedbackRole.metadata.name, namespace: feedbackNamespace, labels: partOf },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Role",
        name: portalApiFeedbackRole.metadata.name,
      },
      subjects: [
        {
          kind: "ServiceAccount",
          name: portalApiIdentity.serviceAccount,
          namespace: portalApiIdentity.namespace,
        },
      ],
    },
    controllerFeedbackRole,
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: controllerFeedbackRole.metadata.name, namespace: feedbackNamespace, labels: partOf },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Role",
        name: controllerFeedbackRole.metadata.name,
      },
      subjects: [subject],
    },
    controllerLeaseRole,
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: controllerLeaseRole.metadata.name, namespace: systemNs, labels: partOf },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "Role",
        name: controllerLeaseRole.metadata.name,
      },
      subjects: [subject],
    },
    ...baselineManifests(options.baseline ?? defaultBaselineSettings),
    defaultRateCard,
    ...defaultCatalogue,
  ];
}

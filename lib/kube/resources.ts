/** How to address a kind of object in the Kubernetes REST API. */
export interface ResourceType {
  group: string; // "" for the core group
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

const core = (kind: string, plural: string, namespaced = true): ResourceType => ({
  group: "",
  version: "v1",
  kind,
  plural,
  namespaced,
});

export const resources = {
  namespace: core("Namespace", "namespaces", false),
  resourceQuota: core("ResourceQuota", "resourcequotas"),
  limitRange: core("LimitRange", "limitranges"),
  configMap: core("ConfigMap", "configmaps"),
  secret: core("Secret", "secrets"),
  pod: core("Pod", "pods"),
  node: core("Node", "nodes", false),
  persistentVolumeClaim: core("PersistentVolumeClaim", "persistentvolumeclaims"),
  persistentVolume: core("PersistentVolume", "persistentvolumes", false),
  storageClass: {
    group: "storage.k8s.io",
    version: "v1",
    kind: "StorageClass",
    plural: "storageclasses",
    namespaced: false,
  },
  service: core("Service", "services"),
  serviceAccount: core("ServiceAccount", "serviceaccounts"),
  event: core("Event", "events"),
  deployment: { group: "apps", version: "v1", kind: "Deployment", plural: "deployments", namespaced: true },
  networkPolicy: {
    group: "networking.k8s.io",
    version: "v1",
    kind: "NetworkPolicy",
    plural: "networkpolicies",
    namespaced: true,
  },
  roleBinding: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "RoleBinding",
    plural: "rolebindings",
    namespaced: true,
  },
  role: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "Role",
    plural: "roles",
    namespaced: true,
  },
  clusterRole: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "ClusterRole",
    plural: "clusterroles",
    namespaced: false,
  },
  clusterRoleBinding: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    kind: "ClusterRoleBinding",
    plural: "clusterrolebindings",
    namespaced: false,
  },
  lease: { group: "coordination.k8s.io", version: "v1", kind: "Lease", plural: "leases", namespaced: true },
  crd: {
    group: "apiextensions.k8s.io",
    version: "v1",
    kind: "CustomResourceDefinition",
    plural: "customresourcedefinitions",
    namespaced: false,
  },
  department: {
    group: "govhost.io",
    version: "v1alpha1",
    kind: "Department",
    plural: "departments",
    namespaced: false,
  },
  rateCard: {
    group: "govhost.io",
    version: "v1alpha1",
    kind: "RateCard",
    plural: "ratecards",
    namespaced: false,
  },
  chargebackStatement: {
    group: "govhost.io",
    version: "v1alpha1",
    kind: "ChargebackStatement",
    plural: "chargebackstatements",
    namespaced: false,
  },
  policyReport: {
    group: "wgpolicyk8s.io",
    version: "v1alpha2",
    kind: "PolicyReport",
    plural: "policyreports",
    namespaced: true,
  },
  validatingAdmissionPolicy: {
    group: "admissionregistration.k8s.io",
    version: "v1",
    kind: "ValidatingAdmissionPolicy",
    plural: "validatingadmissionpolicies",
    namespaced: false,
  },
  validatingAdmissionPolicyBinding: {
    group: "admissionregistration.k8s.io",
    version: "v1",
    kind: "ValidatingAdmissionPolicyBinding",
    plural: "validatingadmissionpolicybindings",
    namespaced: false,
  },
  statefulSet: {
    group: "apps",
    version: "v1",
    kind: "StatefulSet",
    plural: "statefulsets",
    namespaced: true,
  },
  replicaSet: { group: "apps", version: "v1", kind: "ReplicaSet", plural: "replicasets", namespaced: true },
  daemonSet: { group: "apps", version: "v1", kind: "DaemonSet", plural: "daemonsets", namespaced: true },
  job: { group: "batch", version: "v1", kind: "Job", plural: "jobs", namespaced: true },
  cronJob: { group: "batch", version: "v1", kind: "CronJob", plural: "cronjobs", namespaced: true },
  eservice: {
    group: "govhost.io",
    version: "v1alpha1",
    kind: "EService",
    plural: "eservices",
    namespaced: true,
  },
  sharedService: {
    group: "govhost.io",
    version: "v1alpha1",
    kind: "SharedService",
    plural: "sharedservices",
    namespaced: false,
  },
  sharedServiceInstance: {
    group: "govhost.io",
    version: "v1alpha1",
    kind: "SharedServiceInstance",
    plural: "sharedserviceinstances",
    namespaced: true,
  },
  apiExport: {
    group: "govhost.io",
    version: "v1alpha1",
    kind: "ApiExport",
    plural: "apiexports",
    namespaced: true,
  },
  apiGrant: {
    group: "govhost.io",
    version: "v1alpha1",
    kind: "ApiGrant",
    plural: "apigrants",
    namespaced: true,
  },
  apiGrantDecision: {
    group: "govhost.io",
    version: "v1alpha1",
    kind: "ApiGrantDecision",
    plural: "apigrantdecisions",
    namespaced: true,
  },
  podDisruptionBudget: {
    group: "policy",
    version: "v1",
    kind: "PodDisruptionBudget",
    plural: "poddisruptionbudgets",
    namespaced: true,
  },
  ingress: {
    group: "networking.k8s.io",
    version: "v1",
    kind: "Ingress",
    plural: "ingresses",
    namespaced: true,
  },
  ingressClass: {
    group: "networking.k8s.io",
    version: "v1",
    kind: "IngressClass",
    plural: "ingressclasses",
    namespaced: false,
  },
  endpointSlice: {
    group: "discovery.k8s.io",
    version: "v1",
    kind: "EndpointSlice",
    plural: "endpointslices",
    namespaced: true,
  },
  apiService: {
    group: "apiregistration.k8s.io",
    version: "v1",
    kind: "APIService",
    plural: "apiservices",
    namespaced: false,
  },
  // Served by metrics-server (or any implementation of the resource metrics API), when installed.
  podMetrics: {
    group: "metrics.k8s.io",
    version: "v1beta1",
    kind: "PodMetrics",
    plural: "pods",
    namespaced: true,
  },
} as const satisfies Record<string, ResourceType>;

export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** The REST path of a collection or of one object (optionally a subresource). */
export function resourcePath(
  type: ResourceType,
  options: { namespace?: string; name?: string; subresource?: string } = {},
): string {
  const base = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  const ns =
    type.namespaced && options.namespace ? `/namespaces/${encodeURIComponent(options.namespace)}` : "";
  const name = options.name ? `/${encodeURIComponent(options.name)}` : "";
  const sub = options.name && options.subresource ? `/${options.subresource}` : "";
  return `${base}${ns}/${type.plural}${name}${sub}`;
}

const byKind = new Map<string, ResourceType>(
  Object.values(resources).map((r) => [`${apiVersionOf(r)}/${r.kind}`, r]),
);

/** Finds the resource type of a manifest from its apiVersion and kind (only the kinds govhost manages). */
export function resourceTypeOf(object: { apiVersion?: string; kind?: string }): ResourceType {
  const type = byKind.get(`${object.apiVersion}/${object.kind}`);
  if (!type) throw new Error(`govhost does not manage ${object.apiVersion}/${object.kind}`);
  return type;
}

import { dataClassificationLevels, isPlatformKeyCel, platformOwned, tenantDeclared } from "./keys.ts";

// The security baseline, as data: each rule has an id, a title, why it exists and what to do instead, and
// CEL that both the API server (ValidatingAdmissionPolicy) and govhost's own evaluator (policy reports,
// API dry-run feedback) run. Pod Security Admission `restricted` covers the pod-level controls; these
// rules cover what PSA is silent about.

export interface ResourceRule {
  apiGroups: string[];
  apiVersions: string[];
  resources: string[];
  operations: ("CREATE" | "UPDATE" | "DELETE")[];
}

export interface BaselineRule {
  id: string;
  /** DNS-safe name used for the Kubernetes objects (govhost-<name>). */
  name: string;
  title: string;
  rationale: string;
  remediation: string;
  category:
    | "images"
    | "resources"
    | "runtime"
    | "network"
    | "data"
    | "metadata"
    | "finance"
    | "accessibility"
    | "records"
    | "access";
  severity: "high" | "medium" | "low";
  /** Tenant namespaces only (selected by the platform-owned department label), or cluster-scoped objects. */
  scope: "tenant-namespaces" | "cluster";
  match: ResourceRule[];
  /** Requests this rule does not apply to, by exact identity (the platform's own narrow exemptions). */
  exemptUsers?: string[];
  variables?: { name: string; expression: string }[];
  validations: { expression: string; message: string; messageExpression?: string }[];
  /** Whether the rule can judge a stored object on its own (no oldObject, no request), for policy reports. */
  background: boolean;
  /**
   * The object the rule reads as `params`, when not the baseline's parameters ConfigMap (e.g. a catalogue
   * entry); a missing one lets requests through (the rule has nothing to judge by).
   */
  params?: { apiVersion: string; kind: string; name: string; namespace?: string };
}

const rw: ResourceRule["operations"] = ["CREATE", "UPDATE"];
const workloads: ResourceRule[] = [
  { apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], operations: rw },
  {
    apiGroups: ["apps"],
    apiVersions: ["v1"],
    resources: ["deployments", "statefulsets", "replicasets", "daemonsets"],
    operations: rw,
  },
  { apiGroups: ["batch"], apiVersions: ["v1"], resources: ["jobs", "cronjobs"], operations: rw },
];

/** CEL: `root.path` when every step exists, else {} (labels and annotations are optional at every level). */
function mapAt(root: string, path: string): string {
  const parts = path.split(".");
  const guards = parts.map((_, i) => `has(${root}.${parts.slice(0, i + 1).join(".")})`);
  return `(${guards.join(" && ")} ? ${root}.${path} : {})`;
}

/**
 * The metadata a workload hands down to the objects its controllers create, by where it sits: the pod
 * template (every workload kind) and, for a CronJob, the Job template too. Each is a CEL map of a workload
 * `root` (object or oldObject), {} for other kinds.
 */
const templateMetadata: { where: string; cel: (root: string) => string }[] = (
  ["labels", "annotations"] as const
).flatMap((field) => [
  {
    where: `pod template ${field.slice(0, -1)}`,
    cel: (root: string) =>
      `(${root}.kind in ['Deployment', 'StatefulSet', 'ReplicaSet', 'DaemonSet', 'Job'] ? ${mapAt(root, `spec.template.metadata.${field}`)} : (${root}.kind == 'CronJob' ? ${mapAt(root, `spec.jobTemplate.spec.template.metadata.${field}`)} : {}))`,
  },
  {
    where: `job template ${field.slice(0, -1)}`,
    cel: (root: string) =>
      `(${root}.kind == 'CronJob' ? ${mapAt(root, `spec.jobTemplate.metadata.${field}`)} : {})`,
  },
]);

/** Pod spec and pod metadata of any workload kind, and all its containers. */
const podVariables = [
  {
    name: "podTemplate",
    expression:
      "object.kind == 'Pod' ? object : (object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template : object.spec.template)",
  },
  { name: "podSpec", expression: "variables.podTemplate.spec" },
  {
    name: "containers",
    expression:
      "variables.podSpec.containers + (has(variables.podSpec.initContainers) ? variables.podSpec.initContainers : [])",
  },
  {
    name: "podLabels",
    expression:
      "has(variables.podTemplate.metadata) && has(variables.podTemplate.metadata.labels) ? variables.podTemplate.metadata.labels : {}",
  },
  {
    name: "podAnnotations",
    expression:
      "has(variables.podTemplate.metadata) && has(variables.podTemplate.metadata.annotations) ? variables.podTemplate.metadata.annotations : {}",
  },
];

/**
 * Pod Security `restricted` (Kubernetes v1.37) as CEL over a pod template (variables of GH-POD-001): one
 * check per control, named as Pod Security names them. `csc` are the containers' security contexts.
 */
const restrictedVolumeSources = [
  "hostPath",
  "gcePersistentDisk",
  "awsElasticBlockStore",
  "gitRepo",
  "nfs",
  "iscsi",
  "glusterfs",
  "rbd",
  "flexVolume",
  "cinder",
  "cephfs",
  "flocker",
  "fc",
  "azureFile",
  "vsphereVolume",
  "quobyte",
  "azureDisk",
  "portworxVolume",
  "photonPersistentDisk",
  "scaleIO",
  "storageos",
];
const podSecurityRestricted: { control: string; expression: string }[] = [
  {
    control: "hostProcess",
    expression:
      "!(has(variables.podSc.windowsOptions) && has(variables.podSc.windowsOptions.hostProcess) && variables.podSc.windowsOptions.hostProcess) && variables.csc.all(s, !(has(s.windowsOptions) && has(s.windowsOptions.hostProcess) && s.windowsOptions.hostProcess))",
  },
  {
    control: "host namespaces",
    expression:
      "!(has(variables.podSpec.hostNetwork) && variables.podSpec.hostNetwork) && !(has(variables.podSpec.hostPID) && variables.podSpec.hostPID) && !(has(variables.podSpec.hostIPC) && variables.podSpec.hostIPC)",
  },
  {
    control: "privileged",
    expression: "variables.csc.all(s, !(has(s.privileged) && s.privileged))",
  },
  {
    control: "hostPort",
    expression:
      "variables.containers.all(c, !has(c.ports) || c.ports.all(p, !has(p.hostPort) || p.hostPort == 0))",
  },
  {
    control: "restricted volume types",
    expression: `variables.volumes.all(v, ${restrictedVolumeSources.map((k) => `!has(v.${k})`).join(" && ")})`,
  },
  {
    control: "allowPrivilegeEscalation != false",
    expression: "variables.csc.all(s, has(s.allowPrivilegeEscalation) && !s.allowPrivilegeEscalation)",
  },
  {
    control: "unrestricted capabilities",
    expression:
      "variables.csc.all(s, has(s.capabilities) && has(s.capabilities.drop) && 'ALL' in s.capabilities.drop && (!has(s.capabilities.add) || s.capabilities.add.all(a, a == 'NET_BIND_SERVICE')))",
  },
  {
    control: "runAsNonRoot != true",
    expression:
      "!(has(variables.podSc.runAsNonRoot) && !variables.podSc.runAsNonRoot) && variables.csc.all(s, has(s.runAsNonRoot) ? s.runAsNonRoot : (has(variables.podSc.runAsNonRoot) && variables.podSc.runAsNonRoot))",
  },
  {
    control: "runAsUser=0",
    expression:
      "!(has(variables.podSc.runAsUser) && variables.podSc.runAsUser == 0) && variables.csc.all(s, !(has(s.runAsUser) && s.runAsUser == 0))",
  },
  {
    control: "seccompProfile",
    expression:
      "!(has(variables.podSc.seccompProfile) && !(variables.podSc.seccompProfile.type in ['RuntimeDefault', 'Localhost'])) && variables.csc.all(s, has(s.seccompProfile) ? s.seccompProfile.type in ['RuntimeDefault', 'Localhost'] : (has(variables.podSc.seccompProfile) && variables.podSc.seccompProfile.type in ['RuntimeDefault', 'Localhost']))",
  },
  {
    control: "AppArmor",
    expression:
      "!(has(variables.podSc.appArmorProfile) && variables.podSc.appArmorProfile.type == 'Unconfined') && variables.csc.all(s, !(has(s.appArmorProfile) && s.appArmorProfile.type == 'Unconfined')) && variables.podAnnotations.all(k, !k.startsWith('container.apparmor.security.beta.kubernetes.io/') || variables.podAnnotations[k] == 'runtime/default' || variables.podAnnotations[k].startsWith('localhost/'))",
  },
  {
    control: "seLinuxOptions",
    expression:
      "([variables.podSc] + variables.csc).all(s, !has(s.seLinuxOptions) || (!has(s.seLinuxOptions.user) && !has(s.seLinuxOptions.role) && (!has(s.seLinuxOptions.type) || s.seLinuxOptions.type in ['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t'])))",
  },
  {
    control: "procMount",
    expression: "variables.csc.all(s, !has(s.procMount) || s.procMount == 'Default')",
  },
  {
    control: "forbidden sysctls",
    expression:
      "!has(variables.podSc.sysctls) || variables.podSc.sysctls.all(x, x.name in ['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes'])",
  },
];

const levels = dataClassificationLevels.map((l, i) => `'${l}': ${i}`).join(", ");

/**
 * The EService spec fields whose change on a public e-service is the department admins' decision
 * (GH-PUB-001): everything but what accessibility approvers record (waiver, previewUrl; GH-A11Y-001/002).
 * A unit test keeps this list in step with the EService schema.
 */
export const eserviceAdminFields = [
  "displayName",
  "image",
  "port",
  "replicas",
  "resources",
  "env",
  "hostname",
  "exposure",
  "serviceCluster",
  "dataClassification",
  "utilisationTarget",
  ...[
    "standard",
    "paths",
    "clientRendered",
    "languages",
    "lookAndFeel",
    "onRegression",
    "rescanIntervalHours",
  ].map((field) => `accessibility.${field}`),
];
export const eserviceApproverFields = ["accessibility.waiver", "accessibility.previewUrl"];

/** Identities that copy already-admitted pod templates into pods, and the govhost controller itself. */
export const platformWriters = [
  "system:serviceaccount:govhost-system:govhost-controller",
  ...[
    "deployment-controller",
    "replicaset-controller",
    "statefulset-controller",
    "job-controller",
    "cronjob-controller",
    "daemon-set-controller",
  ].map((sa) => `system:serviceaccount:kube-system:${sa}`),
];

/**
 * What protects a records instance as stored (oldObject): its active legal holds (ids) and the record
 * classes under retention without an approved disposal. Shared by the delete and downsize rules.
 */
const recordsProtection = [
  {
    name: "recordsParams",
    expression: "has(oldObject.spec.parameters) ? oldObject.spec.parameters : {}",
  },
  {
    name: "holds",
    expression:
      "has(variables.recordsParams.legalHolds) ? variables.recordsParams.legalHolds.map(h, h.id) : []",
  },
  {
    name: "classes",
    expression:
      "has(variables.recordsParams.retentionSchedules) ? variables.recordsParams.retentionSchedules.map(r, r.recordClass) : []",
  },
  {
    name: "approved",
    expression:
      "has(oldObject.spec.disposalApprovals) ? oldObject.spec.disposalApprovals.map(a, a.recordClass) : []",
  },
  { name: "unapproved", expression: "variables.classes.filter(c, !(c in variables.approved))" },
];

const eservicesWritten: ResourceRule[] = [
  { apiGroups: ["govhost.io"], apiVersions: ["v1alpha1"], resources: ["eservices"], operations: rw },
];

/** Whether the requester is an accessibility approver (GH-A11Y-001/002). */
const approverVariables = [
  { name: "approvers", expression: "params.data.accessibilityApprovers.split(',')" },
  {
    name: "isApprover",
    expression:
      "has(request.userInfo.groups) && request.userInfo.groups.exists(g, g != '' && g in variables.approvers)",
  },
];

export const baselineRules: BaselineRule[] = [
  {
    id: "GH-IMG-001",
    name: "allowed-registries",
    title: "Images come from an allowed registry",
    rationale:
      "Only registries the platform scans and mirrors are trusted; public registries are a supply-chain risk.",
    remediation: "Push the image to an allowed registry and reference it from there.",
    category: "images",
    severity: "high",
    scope: "tenant-namespaces",
    match: workloads,
    variables: [
      ...podVariables,
      { name: "registries", expression: "params.data.allowedRegistries.split(',')" },
      {
        name: "foreign",
        expression:
          "variables.containers.filter(c, !variables.registries.exists(r, r != '' && c.image.startsWith(r)))",
      },
    ],
    validations: [
      {
        expression: "size(variables.foreign) == 0",
        message: "GH-IMG-001: images must come from an allowed registry",
        messageExpression:
          "'GH-IMG-001: images must come from an allowed registry (' + params.data.allowedRegistries + '); not allowed: ' + variables.foreign.map(c, c.name + '=' + c.image).join(', ') + '. Push the image to an allowed registry.'",
      },
    ],
    background: true,
  },
  {
    id: "GH-IMG-002",
    name: "pinned-image-tags",
    title: "Images are pinned by a version tag or a digest, never `latest` or untagged",
    rationale: "A mutable tag makes what runs unknowable and rollbacks unreliable.",
    remediation: "Reference a version tag (e.g. :1.4.2) or a digest (@sha256:...).",
    category: "images",
    severity: "high",
    scope: "tenant-namespaces",
    match: workloads,
    variables: [
      ...podVariables,
      {
        name: "unpinned",
        expression:
          "variables.containers.filter(c, !c.image.contains('@') && (!c.image.substring(c.image.lastIndexOf('/') + 1).contains(':') || c.image.endsWith(':latest')))",
      },
    ],
    validations: [
      {
        expression: "size(variables.unpinned) == 0",
        message: "GH-IMG-002: images must be pinned by a version tag or digest",
        messageExpression:
          "'GH-IMG-002: images must be pinned by a version tag or digest, not latest or untagged: ' + variables.unpinned.map(c, c.name + '=' + c.image).join(', ') + '. Use e.g. :1.4.2 or @sha256:...'",
      },
    ],
    background: true,
  },
  {
    id: "GH-IMG-003",
    name: "image-pull-always",
    title: "Tenant containers pull their image every time (imagePullPolicy: Always)",
    rationale:
      "Cached images on a shared node would let one department run another's private image without credentials.",
    remediation: "Set imagePullPolicy: Always on every container.",
    category: "images",
    severity: "medium",
    scope: "tenant-namespaces",
    match: workloads,
    variables: [
      ...podVariables,
      {
        name: "notAlways",
        expression:
          "variables.containers.filter(c, !has(c.imagePullPolicy) || c.imagePullPolicy != 'Always')",
      },
    ],
    validations: [
      {
        expression: "size(variables.notAlways) == 0",
        message: "GH-IMG-003: imagePullPolicy must be Always",
        messageExpression:
          "'GH-IMG-003: imagePullPolicy must be Always for containers: ' + variables.notAlways.map(c, c.name).join(', ')",
      },
    ],
    background: true,
  },
  {
    id: "GH-RES-001",
    name: "resources-required",
    title: "Every container declares CPU and memory requests and limits",
    rationale:
      "Requests drive scheduling, quota and chargeback; limits stop one workload starving its neighbours.",
    remediation: "Set resources.requests and resources.limits for cpu and memory on every container.",
    category: "resources",
    severity: "medium",
    scope: "tenant-namespaces",
    match: workloads,
    variables: [
      ...podVariables,
      {
        name: "unbounded",
        expression:
          "variables.containers.filter(c, !has(c.resources) || !has(c.resources.requests) || !has(c.resources.limits) || !('cpu' in c.resources.requests) || !('memory' in c.resources.requests) || !('cpu' in c.resources.limits) || !('memory' in c.resources.limits))",
      },
    ],
    validations: [
      {
        expression: "size(variables.unbounded) == 0",
        message: "GH-RES-001: every container needs cpu and memory requests and limits",
        messageExpression:
          "'GH-RES-001: set resources.requests and resources.limits for cpu and memory on containers: ' + variables.unbounded.map(c, c.name).join(', ')",
      },
    ],
    background: true,
  },
  {
    id: "GH-RUN-001",
    name: "read-only-root-filesystem",
    title: "Containers run with a read-only root filesystem unless a justification is declared",
    rationale: "A writable root filesystem lets an intruder persist tools and modify the application.",
    remediation: `Set securityContext.readOnlyRootFilesystem: true (mount an emptyDir for scratch space), or annotate the pod template with ${tenantDeclared.writableRootFilesystemJustification} explaining why not.`,
    category: "runtime",
    severity: "medium",
    scope: "tenant-namespaces",
    match: workloads,
    variables: [
      ...podVariables,
      {
        name: "writable",
        expression:
          "variables.containers.filter(c, !has(c.securityContext) || !has(c.securityContext.readOnlyRootFilesystem) || !c.securityContext.readOnlyRootFilesystem)",
      },
      {
        name: "justified",
        expression: `'${tenantDeclared.writableRootFilesystemJustification}' in variables.podAnnotations && size(variables.podAnnotations['${tenantDeclared.writableRootFilesystemJustification}']) >= 10`,
      },
    ],
    validations: [
      {
        expression: "size(variables.writable) == 0 || variables.justified",
        message: "GH-RUN-001: root filesystems must be read-only unless justified",
        messageExpression: `'GH-RUN-001: set securityContext.readOnlyRootFilesystem: true on containers ' + variables.writable.map(c, c.name).join(', ') + ', or annotate the pod template with ${tenantDeclared.writableRootFilesystemJustification} (at least 10 characters) saying why'`,
      },
    ],
    background: true,
  },
  {
    id: "GH-POD-001",
    name: "pod-templates-restricted",
    title: "Workload pod templates meet Pod Security `restricted` when they are applied",
    rationale:
      "Pod Security Admission enforces on pods only and merely warns on workload templates, so a refused template would surface later as a ReplicaSet event nobody reads; refusing the template gives the feedback at apply time.",
    remediation:
      "Make the pod template meet Pod Security restricted: runAsNonRoot, seccompProfile RuntimeDefault, allowPrivilegeEscalation: false, capabilities drop ALL (add at most NET_BIND_SERVICE), no host namespaces, ports or paths, only configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected and secret volumes.",
    category: "runtime",
    severity: "high",
    scope: "tenant-namespaces",
    match: workloads.slice(1),
    variables: [
      ...podVariables,
      {
        name: "podSc",
        expression: "has(variables.podSpec.securityContext) ? variables.podSpec.securityContext : {}",
      },
      {
        name: "csc",
        expression: "variables.containers.map(c, has(c.securityContext) ? c.securityContext : {})",
      },
      { name: "volumes", expression: "has(variables.podSpec.volumes) ? variables.podSpec.volumes : []" },
    ],
    validations: podSecurityRestricted.map(({ control, expression }) => ({
      expression,
      message: `GH-POD-001: the pod template violates Pod Security restricted (${control}); fix it in the template`,
    })),
    background: true,
  },
  {
    id: "GH-NET-001",
    name: "cluster-ip-services-only",
    title: "Services are ClusterIP only: no NodePort, LoadBalancer, ExternalName or externalIPs",
    rationale:
      "Public traffic must pass the platform ingress, where TLS, hostnames and the accessibility gate apply.",
    remediation: "Use a ClusterIP Service and expose it through an EService with exposure: public.",
    category: "network",
    severity: "high",
    scope: "tenant-namespaces",
    match: [{ apiGroups: [""], apiVersions: ["v1"], resources: ["services"], operations: rw }],
    validations: [
      {
        expression: "!has(object.spec.type) || object.spec.type == 'ClusterIP'",
        message: "GH-NET-001: only ClusterIP Services are allowed",
        messageExpression:
          "'GH-NET-001: Service type ' + object.spec.type + ' is not allowed; use ClusterIP and expose the service through an EService (exposure: public)'",
      },
      {
        expression: "!has(object.spec.externalIPs) || size(object.spec.externalIPs) == 0",
        message: "GH-NET-001: externalIPs are not allowed; expose the service through an EService",
      },
    ],
    background: true,
  },
  {
    id: "GH-NET-002",
    name: "ingress-hosts-and-tls",
    title: "Ingress hosts are under the department's domains and all served over TLS",
    rationale: "A department may only publish under its own names, and every government site must use HTTPS.",
    remediation: "Use a host under one of the department's domains and list every host in spec.tls.",
    category: "network",
    severity: "high",
    scope: "tenant-namespaces",
    match: [
      { apiGroups: ["networking.k8s.io"], apiVersions: ["v1"], resources: ["ingresses"], operations: rw },
    ],
    variables: [
      {
        name: "domains",
        expression: `has(namespaceObject.metadata.annotations) && '${platformOwned.domains}' in namespaceObject.metadata.annotations ? namespaceObject.metadata.annotations['${platformOwned.domains}'].split(',') : []`,
      },
      { name: "rules", expression: "has(object.spec.rules) ? object.spec.rules : []" },
      {
        name: "foreignHosts",
        expression:
          "variables.rules.filter(r, !has(r.host) || !variables.domains.exists(d, d != '' && (r.host == d || r.host.endsWith('.' + d))))",
      },
      {
        name: "plainHosts",
        expression:
          "variables.rules.filter(r, has(r.host) && !(has(object.spec.tls) && object.spec.tls.exists(t, has(t.hosts) && r.host in t.hosts)))",
      },
    ],
    validations: [
      {
        expression: "size(variables.foreignHosts) == 0",
        message: "GH-NET-002: ingress hosts must be under the department's domains",
        messageExpression:
          "'GH-NET-002: ingress hosts must be under the department domains (' + variables.domains.join(', ') + '); not allowed: ' + variables.foreignHosts.map(r, has(r.host) ? r.host : '(no host)').join(', ')",
      },
      {
        expression: "size(variables.plainHosts) == 0",
        message: "GH-NET-002: every ingress host must be listed in spec.tls",
        messageExpression:
          "'GH-NET-002: every ingress host must be served over TLS; add to spec.tls: ' + variables.plainHosts.map(r, r.host).join(', ')",
      },
    ],
    background: true,
  },
  {
    id: "GH-DATA-001",
    name: "data-classification",
    title: "Workloads declare their data classification, within the department's ceiling",
    rationale:
      "Classified data must stay off platforms not accredited for it; the declaration is what is audited.",
    remediation: `Label the pod template with ${tenantDeclared.dataClassification}: one of ${dataClassificationLevels.join(", ")}, at most the department's maximum.`,
    category: "data",
    severity: "high",
    scope: "tenant-namespaces",
    match: workloads,
    variables: [
      ...podVariables,
      { name: "levels", expression: `{${levels}}` },
      {
        name: "declared",
        expression: `'${tenantDeclared.dataClassification}' in variables.podLabels ? variables.podLabels['${tenantDeclared.dataClassification}'] : ''`,
      },
      {
        name: "ceiling",
        expression: `has(namespaceObject.metadata.annotations) && '${platformOwned.maxDataClassification}' in namespaceObject.metadata.annotations ? namespaceObject.metadata.annotations['${platformOwned.maxDataClassification}'] : 'UNCLASSIFIED'`,
      },
    ],
    validations: [
      {
        expression: "variables.declared != ''",
        message: `GH-DATA-001: label the pod template with ${tenantDeclared.dataClassification} (${dataClassificationLevels.join(", ")})`,
      },
      {
        expression: "variables.declared == '' || variables.declared in variables.levels",
        message: `GH-DATA-001: ${tenantDeclared.dataClassification} must be one of ${dataClassificationLevels.join(", ")}`,
      },
      {
        expression:
          "!(variables.declared in variables.levels) || variables.levels[variables.declared] <= variables.levels[variables.ceiling]",
        message: "GH-DATA-001: the data classification is above the department's maximum",
        messageExpression:
          "'GH-DATA-001: data classified ' + variables.declared + ' may not run in this department (maximum ' + variables.ceiling + '); host it on a platform accredited for it or lower the classification'",
      },
    ],
    background: true,
  },
  {
    id: "GH-A11Y-001",
    name: "accessibility-waiver-approval",
    title: "Accessibility waivers are recorded by an accessibility approver, in their own name",
    rationale:
      "A waiver lets an e-service go public with known accessibility failures; the team that built it cannot grant it to itself.",
    remediation:
      "Ask a member of an accessibility approver group to record the waiver (spec.accessibility.waiver) with approvedBy set to their own user name.",
    category: "accessibility",
    severity: "high",
    scope: "tenant-namespaces",
    match: eservicesWritten,
    variables: [
      {
        name: "hasWaiver",
        expression: "has(object.spec.accessibility) && has(object.spec.accessibility.waiver)",
      },
      {
        name: "unchanged",
        expression:
          "variables.hasWaiver && oldObject != null && has(oldObject.spec.accessibility) && has(oldObject.spec.accessibility.waiver) && oldObject.spec.accessibility.waiver == object.spec.accessibility.waiver",
      },
      ...approverVariables,
    ],
    validations: [
      {
        expression:
          "!variables.hasWaiver || variables.unchanged || (variables.isApprover && object.spec.accessibility.waiver.approvedBy == request.userInfo.username)",
        message: "GH-A11Y-001: accessibility waivers must be recorded by an accessibility approver",
        messageExpression:
          "'GH-A11Y-001: an accessibility waiver may only be recorded or changed by a member of ' + params.data.accessibilityApprovers + ' with approvedBy set to their own user name (' + request.userInfo.username + ' cannot record this one). Ask an accessibility approver to record it.'",
      },
    ],
    background: false,
  },
  {
    id: "GH-A11Y-002",
    name: "accessibility-preview-approval",
    title: "A preview URL stands in for the workload's pages only when an accessibility approver set it",
    rationale:
      "The scanner reads spec.accessibility.previewUrl instead of what the workload serves; if the team that builds the service could point it anywhere, a page that is not the workload could pass the gate for it.",
    remediation:
      "Leave previewUrl out so the scanner reads the workload's own pages once its pods run, or ask an accessibility approver to review the preview and set previewUrl themselves.",
    category: "accessibility",
    severity: "high",
    scope: "tenant-namespaces",
    match: eservicesWritten,
    variables: [
      {
        name: "preview",
        expression:
          "has(object.spec.accessibility) && has(object.spec.accessibility.previewUrl) ? object.spec.accessibility.previewUrl : ''",
      },
      {
        name: "oldPreview",
        expression:
          "oldObject != null && has(oldObject.spec.accessibility) && has(oldObject.spec.accessibility.previewUrl) ? oldObject.spec.accessibility.previewUrl : ''",
      },
      ...approverVariables,
    ],
    validations: [
      {
        // Removing the preview is always allowed: the workload's own pages are then scanned.
        expression:
          "variables.preview == '' || variables.preview == variables.oldPreview || variables.isApprover",
        message: "GH-A11Y-002: only an accessibility approver may set or change previewUrl",
        messageExpression:
          "'GH-A11Y-002: spec.accessibility.previewUrl may only be set or changed by a member of ' + params.data.accessibilityApprovers + ' (' + request.userInfo.username + ' may not): the scanner would judge that page instead of the workload. Leave it out, or ask an accessibility approver to set it.'",
      },
    ],
    background: false,
  },
  {
    id: "GH-REC-001",
    name: "records-retention-and-holds",
    title:
      "A records instance cannot be deleted while a legal hold is active or a record class lacks approved disposal",
    rationale:
      "Records under retention or a legal hold must survive until a records manager approves their disposal (ISO 15489); deleting the service would destroy them.",
    remediation:
      "Ask a records manager to lift the legal holds and record a disposal approval (spec.disposalApprovals) for every record class, then delete.",
    category: "records",
    severity: "high",
    scope: "tenant-namespaces",
    match: [
      {
        apiGroups: ["govhost.io"],
        apiVersions: ["v1alpha1"],
        resources: ["sharedserviceinstances"],
        operations: ["DELETE"],
      },
    ],
    variables: [
      { name: "isRecords", expression: "oldObject.spec.service == 'records-management'" },
      ...recordsProtection,
    ],
    validations: [
      {
        expression: "!variables.isRecords || size(variables.holds) == 0",
        message: "GH-REC-001: this records instance is under a legal hold and cannot be deleted",
        messageExpression:
          "'GH-REC-001: records instance ' + oldObject.metadata.name + ' cannot be deleted: legal holds ' + variables.holds.join(', ') + ' are active. A records manager must lift them first.'",
      },
      {
        expression: "!variables.isRecords || size(variables.unapproved) == 0",
        message: "GH-REC-001: record classes under retention have no approved disposal",
        messageExpression:
          "'GH-REC-001: records instance ' + oldObject.metadata.name + ' cannot be deleted: record classes ' + variables.unapproved.join(', ') + ' are under retention with no approved disposal. A records manager must approve their disposal (spec.disposalApprovals) first.'",
      },
    ],
    background: false,
  },
  {
    id: "GH-REC-002",
    name: "records-manager-actions",
    title:
      "Only records managers place or lift legal holds, approve disposal and remove retention schedules, in their own name",
    rationale:
      "Holds and disposal decide whether records survive; the department using the service cannot grant them to itself.",
    remediation:
      "Ask a records manager to place or lift the hold or approve the disposal; placedBy and approvedBy must be their own user name.",
    category: "records",
    severity: "high",
    scope: "tenant-namespaces",
    match: [
      {
        apiGroups: ["govhost.io"],
        apiVersions: ["v1alpha1"],
        resources: ["sharedserviceinstances"],
        operations: rw,
      },
    ],
    variables: [
      {
        name: "newHolds",
        expression:
          "has(object.spec.parameters) && has(object.spec.parameters.legalHolds) ? object.spec.parameters.legalHolds : []",
      },
      {
        name: "oldHolds",
        expression:
          "oldObject != null && has(oldObject.spec.parameters) && has(oldObject.spec.parameters.legalHolds) ? oldObject.spec.parameters.legalHolds : []",
      },
      {
        name: "newApprovals",
        expression: "has(object.spec.disposalApprovals) ? object.spec.disposalApprovals : []",
      },
      {
        name: "oldApprovals",
        expression:
          "oldObject != null && has(oldObject.spec.disposalApprovals) ? oldObject.spec.disposalApprovals : []",
      },
      { name: "managers", expression: "params.data.recordsManagers.split(',')" },
      {
        name: "isManager",
        expression:
          "has(request.userInfo.groups) && request.userInfo.groups.exists(g, g != '' && g in variables.managers)",
      },
      {
        name: "newSchedules",
        expression:
          "has(object.spec.parameters) && has(object.spec.parameters.retentionSchedules) ? object.spec.parameters.retentionSchedules : []",
      },
      {
        name: "oldSchedules",
        expression:
          "oldObject != null && has(oldObject.spec.parameters) && has(oldObject.spec.parameters.retentionSchedules) ? oldObject.spec.parameters.retentionSchedules : []",
      },
      {
        // Adding a schedule only protects more; removing or changing one could release records early.
        name: "schedulesWeakened",
        expression: "!variables.oldSchedules.all(o, variables.newSchedules.exists(n, n == o))",
      },
      {
        name: "changed",
        expression:
          "variables.newHolds != variables.oldHolds || variables.newApprovals != variables.oldApprovals || variables.schedulesWeakened",
      },
    ],
    validations: [
      {
        expression: "!variables.changed || variables.isManager",
        message:
          "GH-REC-002: only records managers may change legal holds, disposal approvals or remove retention schedules",
        messageExpression:
          "'GH-REC-002: only members of ' + params.data.recordsManagers + ' may place or lift legal holds, approve disposal, or remove or change retention schedules; ' + request.userInfo.username + ' may not. Ask a records manager.'",
      },
      {
        expression:
          "variables.newHolds.all(h, variables.oldHolds.exists(o, o == h) || h.placedBy == request.userInfo.username) && variables.newApprovals.all(a, variables.oldApprovals.exists(o, o == a) || a.approvedBy == request.userInfo.username)",
        message: "GH-REC-002: a new hold or approval must name the records manager who records it",
        messageExpression:
          "'GH-REC-002: placedBy and approvedBy of a new hold or approval must be your own user name (' + request.userInfo.username + ')'",
      },
    ],
    background: false,
  },
  {
    id: "GH-REC-003",
    name: "records-no-downsizing",
    title: "A records instance under retention or a legal hold cannot move to a plan with less storage",
    rationale: "A smaller plan could not hold the records that must be kept; downsizing would destroy them.",
    remediation:
      "Keep the plan (or move to a larger one) until a records manager has lifted the holds and approved disposal of every record class.",
    category: "records",
    severity: "high",
    scope: "tenant-namespaces",
    match: [
      {
        apiGroups: ["govhost.io"],
        apiVersions: ["v1alpha1"],
        resources: ["sharedserviceinstances"],
        operations: ["UPDATE"],
      },
    ],
    params: { apiVersion: "govhost.io/v1alpha1", kind: "SharedService", name: "records-management" },
    variables: [
      {
        name: "applies",
        expression:
          "oldObject.spec.service == 'records-management' && object.spec.service == 'records-management' && oldObject.spec.plan != object.spec.plan",
      },
      ...recordsProtection,
      { name: "protected", expression: "size(variables.holds) > 0 || size(variables.unapproved) > 0" },
      {
        name: "oldStorage",
        expression:
          "params.spec.plans.exists(p, p.name == oldObject.spec.plan) ? params.spec.plans.filter(p, p.name == oldObject.spec.plan)[0].limits.storage : '0'",
      },
      {
        name: "newStorage",
        expression:
          "params.spec.plans.exists(p, p.name == object.spec.plan) ? params.spec.plans.filter(p, p.name == object.spec.plan)[0].limits.storage : '0'",
      },
    ],
    validations: [
      {
        expression:
          "!variables.applies || !variables.protected || quantity(variables.newStorage).compareTo(quantity(variables.oldStorage)) >= 0",
        message: "GH-REC-003: records under retention or legal hold cannot move to a smaller plan",
        messageExpression:
          "'GH-REC-003: plan ' + object.spec.plan + ' (' + variables.newStorage + ') is smaller than ' + oldObject.spec.plan + ' (' + variables.oldStorage + ') while records are under retention or legal hold; keep the plan or choose a larger one'",
      },
    ],
    background: false,
  },
  {
    id: "GH-REC-004",
    name: "records-volume-protected",
    title: "A records instance's data volume is changed or deleted only through its instance",
    rationale:
      "The records live on the volume: deleting the claim directly (or cutting it loose from its instance) would destroy records that GH-REC-001 keeps the instance from losing.",
    remediation:
      "Delete the records instance instead, once a records manager has lifted the legal holds and approved disposal; the volume goes with it.",
    category: "records",
    severity: "high",
    scope: "tenant-namespaces",
    match: [
      {
        apiGroups: [""],
        apiVersions: ["v1"],
        resources: ["persistentvolumeclaims"],
        operations: ["UPDATE", "DELETE"],
      },
    ],
    // The garbage collector deletes the claim only once its instance is gone, which GH-REC-001 guards.
    exemptUsers: [
      "system:serviceaccount:govhost-system:govhost-controller",
      "system:serviceaccount:kube-system:generic-garbage-collector",
      "system:serviceaccount:kube-system:pvc-protection-controller",
      "system:serviceaccount:kube-system:persistent-volume-binder",
      "system:serviceaccount:kube-system:expand-controller",
      "system:kube-controller-manager",
    ],
    variables: [
      {
        name: "isRecordsVolume",
        expression: `has(oldObject.metadata.labels) && '${platformOwned.sharedService}' in oldObject.metadata.labels && oldObject.metadata.labels['${platformOwned.sharedService}'] == 'records-management'`,
      },
      {
        name: "sameOwners",
        expression:
          "object != null && (has(object.metadata.ownerReferences) ? object.metadata.ownerReferences : []) == (has(oldObject.metadata.ownerReferences) ? oldObject.metadata.ownerReferences : [])",
      },
    ],
    validations: [
      {
        expression: "!variables.isRecordsVolume || (request.operation == 'UPDATE' && variables.sameOwners)",
        message: "GH-REC-004: a records volume is deleted only with its records instance",
        messageExpression:
          "'GH-REC-004: ' + oldObject.metadata.name + ' holds the records of instance ' + oldObject.metadata.labels['govhost.io/shared-service-instance'] + '; it cannot be deleted or detached from it directly. Delete the instance once a records manager has approved disposal.'",
      },
    ],
    background: false,
  },
  {
    id: "GH-META-001",
    name: "platform-owned-metadata",
    title:
      "Tenants cannot set, change or remove platform-owned labels and annotations (also in workload pod templates)",
    rationale:
      "The platform relies on these keys for ownership, scoping, exemptions and scan results; forged keys would forge trust.",
    remediation: `Remove the platform-owned keys (govhost.io/*, app.kubernetes.io/managed-by) from your manifest; tenant-declared keys are ${Object.values(tenantDeclared).join(", ")}.`,
    category: "metadata",
    severity: "high",
    scope: "tenant-namespaces",
    match: [
      {
        apiGroups: [""],
        apiVersions: ["v1"],
        resources: ["pods", "services", "configmaps", "secrets", "persistentvolumeclaims", "serviceaccounts"],
        operations: rw,
      },
      ...workloads.slice(1),
      { apiGroups: ["networking.k8s.io"], apiVersions: ["v1"], resources: ["ingresses"], operations: rw },
      {
        apiGroups: ["rbac.authorization.k8s.io"],
        apiVersions: ["v1"],
        resources: ["roles", "rolebindings"],
        operations: rw,
      },
      { apiGroups: ["policy"], apiVersions: ["v1"], resources: ["poddisruptionbudgets"], operations: rw },
      {
        apiGroups: ["govhost.io"],
        apiVersions: ["v1alpha1"],
        resources: ["eservices", "sharedserviceinstances"],
        operations: rw,
      },
    ],
    exemptUsers: platformWriters,
    variables: [
      { name: "newLabels", expression: "has(object.metadata.labels) ? object.metadata.labels : {}" },
      {
        name: "oldLabels",
        expression: "oldObject != null && has(oldObject.metadata.labels) ? oldObject.metadata.labels : {}",
      },
      {
        name: "newAnnotations",
        expression: "has(object.metadata.annotations) ? object.metadata.annotations : {}",
      },
      {
        name: "oldAnnotations",
        expression:
          "oldObject != null && has(oldObject.metadata.annotations) ? oldObject.metadata.annotations : {}",
      },
      {
        name: "changedLabels",
        expression: `variables.newLabels.filter(k, ${isPlatformKeyCel} && !(k in variables.oldLabels && variables.oldLabels[k] == variables.newLabels[k])) + variables.oldLabels.filter(k, ${isPlatformKeyCel} && !(k in variables.newLabels))`,
      },
      {
        name: "changedAnnotations",
        expression: `variables.newAnnotations.filter(k, ${isPlatformKeyCel} && !(k in variables.oldAnnotations && variables.oldAnnotations[k] == variables.newAnnotations[k])) + variables.oldAnnotations.filter(k, ${isPlatformKeyCel} && !(k in variables.newAnnotations))`,
      },
      // Objects that controllers create from a workload's templates carry their metadata, and the controllers
      // are platform writers: the templates are where a tenant could otherwise plant a platform key.
      ...templateMetadata.flatMap(({ cel }, i) => [
        { name: `template${i}`, expression: cel("object") },
        { name: `oldTemplate${i}`, expression: `oldObject != null ? ${cel("oldObject")} : {}` },
      ]),
      {
        name: "changedTemplateKeys",
        expression: templateMetadata
          .map(
            ({ where }, i) =>
              `variables.template${i}.filter(k, ${isPlatformKeyCel} && !(k in variables.oldTemplate${i} && variables.oldTemplate${i}[k] == variables.template${i}[k])).map(k, '${where} ' + k)`,
          )
          .join(" + "),
      },
    ],
    validations: [
      {
        expression:
          "size(variables.changedLabels) == 0 && size(variables.changedAnnotations) == 0 && size(variables.changedTemplateKeys) == 0",
        message: "GH-META-001: platform-owned labels and annotations cannot be set or changed by tenants",
        messageExpression:
          "'GH-META-001: platform-owned keys cannot be set, changed or removed by tenants: ' + (variables.changedLabels + variables.changedAnnotations + variables.changedTemplateKeys).join(', ') + '. Remove them from your manifest.'",
      },
    ],
    background: false,
  },
  {
    id: "GH-RBAC-001",
    name: "role-binding-subjects",
    title: "Role bindings in a department namespace name only the department's groups and service accounts",
    rationale:
      "A department admin may share roles within the department, but binding them to system:authenticated, another department's group, a user or an outside service account would open the tenant to the world.",
    remediation:
      "Name one of the department's groups (Department spec.groups) or a service account in one of the department's namespaces; ask a platform operator to add a group to the department first.",
    category: "access",
    severity: "high",
    scope: "tenant-namespaces",
    match: [
      {
        apiGroups: ["rbac.authorization.k8s.io"],
        apiVersions: ["v1"],
        resources: ["rolebindings"],
        operations: rw,
      },
    ],
    exemptUsers: ["system:serviceaccount:govhost-system:govhost-controller"],
    variables: [
      {
        name: "groups",
        expression: `has(namespaceObject.metadata.annotations) && '${platformOwned.groups}' in namespaceObject.metadata.annotations ? namespaceObject.metadata.annotations['${platformOwned.groups}'].split(',') : []`,
      },
      {
        name: "department",
        expression: `has(namespaceObject.metadata.labels) && '${platformOwned.department}' in namespaceObject.metadata.labels ? namespaceObject.metadata.labels['${platformOwned.department}'] : ''`,
      },
      { name: "subjects", expression: "has(object.subjects) ? object.subjects : []" },
      {
        // Environment names have no hyphen, so <department>-<environment> is the department's and no other's.
        name: "outside",
        expression:
          "variables.subjects.filter(s, !((s.kind == 'Group' && s.name != '' && s.name in variables.groups) || (s.kind == 'ServiceAccount' && has(s.namespace) && variables.department != '' && s.namespace.startsWith(variables.department + '-') && s.namespace.substring(size(variables.department) + 1).matches('^[a-z0-9]+$'))))",
      },
    ],
    validations: [
      {
        expression: "size(variables.outside) == 0",
        message: "GH-RBAC-001: role bindings may name only the department's groups and service accounts",
        messageExpression:
          "'GH-RBAC-001: role bindings here may name only the department groups (' + variables.groups.join(', ') + ') and service accounts in the department namespaces; not allowed: ' + variables.outside.map(s, s.kind + ' ' + s.name).join(', ') + '. Ask a platform operator to add a group to the department instead.'",
      },
    ],
    background: true,
  },
  {
    id: "GH-PUB-001",
    name: "publishing-by-admins",
    title: "Only department admins publish an e-service, or change or delete a public one",
    rationale:
      "A public e-service speaks for the department to citizens and counts against its public endpoints; developers build, admins decide what the public sees (the portal API checks the same rule).",
    remediation:
      "Ask one of the department's admins (or a platform operator) to set exposure: public, or to change or delete the public e-service; or set exposure: internal first (an admin's decision too).",
    category: "access",
    severity: "high",
    scope: "tenant-namespaces",
    match: [
      {
        apiGroups: ["govhost.io"],
        apiVersions: ["v1alpha1"],
        resources: ["eservices"],
        operations: ["CREATE", "UPDATE", "DELETE"],
      },
    ],
    // Deleting a Department (an operator's decision) deletes its namespaces and everything in them.
    exemptUsers: [
      "system:serviceaccount:govhost-system:govhost-controller",
      "system:serviceaccount:kube-system:namespace-controller",
      "system:serviceaccount:kube-system:generic-garbage-collector",
    ],
    variables: [
      {
        name: "wasPublic",
        expression:
          "oldObject != null && has(oldObject.spec.exposure) && oldObject.spec.exposure == 'public'",
      },
      {
        name: "isPublic",
        expression: "object != null && has(object.spec.exposure) && object.spec.exposure == 'public'",
      },
      {
        name: "decides",
        expression: `(variables.isPublic || variables.wasPublic) && (object == null || oldObject == null || ${eserviceAdminFields
          .map((path) => {
            const [parent, leaf] = path.includes(".") ? (path.split(".") as [string, string]) : ["", path];
            const at = (root: string) => `${root}.spec${parent ? `.${parent}` : ""}`;
            return `has(${at("object")}.${leaf}) != has(${at("oldObject")}.${leaf}) || (has(${at("object")}.${leaf}) && ${at("object")}.${leaf} != ${at("oldObject")}.${leaf})`;
          })
          .join(" || ")})`,
      },
      {
        name: "deciders",
        expression: `params.data.platformOperators.split(',') + (has(namespaceObject.metadata.annotations) && '${platformOwned.adminGroups}' in namespaceObject.metadata.annotations ? namespaceObject.metadata.annotations['${platformOwned.adminGroups}'].split(',') : [])`,
      },
      {
        name: "isAdmin",
        expression:
          "has(request.userInfo.groups) && request.userInfo.groups.exists(g, g != '' && g in variables.deciders)",
      },
    ],
    validations: [
      {
        expression: "!variables.decides || variables.isAdmin",
        message: "GH-PUB-001: only department admins publish an e-service or change or delete a public one",
        messageExpression:
          "'GH-PUB-001: only the department admins (' + variables.deciders.join(', ') + ') may publish an e-service or change or delete a public one; ' + request.userInfo.username + ' may not. Ask a department admin.'",
      },
    ],
    background: false,
  },
  {
    id: "GH-FIN-001",
    name: "finalized-statements-immutable",
    title: "Chargeback statements are immutable once finalized",
    rationale:
      "A finalized statement has been journalled by finance; changing it would silently change a bill.",
    remediation: "Record corrections as an adjustment on the next month's statement.",
    category: "finance",
    severity: "high",
    scope: "cluster",
    match: [
      {
        apiGroups: ["govhost.io"],
        apiVersions: ["v1alpha1"],
        resources: ["chargebackstatements"],
        operations: ["UPDATE", "DELETE"],
      },
    ],
    validations: [
      {
        expression:
          "!(has(oldObject.spec.finalized) && oldObject.spec.finalized) || (object != null && object.spec == oldObject.spec)",
        message:
          "GH-FIN-001: this chargeback statement is finalized and cannot be changed or deleted; record corrections as an adjustment on a later statement",
      },
    ],
    background: false,
  },
];

export function ruleById(id: string): BaselineRule {
  const rule = baselineRules.find((r) => r.id === id);
  if (!rule) throw new Error(`no baseline rule ${id}`);
  return rule;
}

import { tenantDeclared } from "../keys.ts";
import { podVariables, workloads } from "./shared.ts";
import type { BaselineRule } from "./types.ts";

// Workloads: images from allowed registries, pinned and pulled; resources; non-root; Pod Security restricted.

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

export const workloadRules: BaselineRule[] = [
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
];

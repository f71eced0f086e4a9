import { dataClassificationLevels, platformOwned } from "../keys.ts";
import type { ResourceRule } from "./types.ts";

// Building blocks several rule files use: which resources are workloads, and CEL for their pod templates.

export const rw: ResourceRule["operations"] = ["CREATE", "UPDATE"];

/** CEL: is the object at `root` (object or oldObject) one the platform renders (managed-by govhost)? */
export const managedByGovhost = (root: string) =>
  `${root} != null && has(${root}.metadata.labels) && '${platformOwned.managedBy}' in ${root}.metadata.labels && ${root}.metadata.labels['${platformOwned.managedBy}'] == 'govhost'`;

/**
 * Who removes a department's objects when it goes (an operator's decision): the controller, and the
 * namespace controller and garbage collector deleting its namespaces and everything in them.
 */
export const departmentRemovers = [
  "system:serviceaccount:govhost-system:govhost-controller",
  "system:serviceaccount:kube-system:namespace-controller",
  "system:serviceaccount:kube-system:generic-garbage-collector",
];

/**
 * CEL variables `deciders` (platform operators and the namespace's department admin groups) and `isAdmin`
 * (whether the requester belongs to one of them): for decisions only a department's admins take.
 */
export const departmentAdminVariables = [
  {
    name: "deciders",
    expression: `params.data.platformOperators.split(',') + (has(namespaceObject.metadata.annotations) && '${platformOwned.adminGroups}' in namespaceObject.metadata.annotations ? namespaceObject.metadata.annotations['${platformOwned.adminGroups}'].split(',') : [])`,
  },
  {
    name: "isAdmin",
    expression:
      "has(request.userInfo.groups) && request.userInfo.groups.exists(g, g != '' && g in variables.deciders)",
  },
];

export const workloads: ResourceRule[] = [
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
export function mapAt(root: string, path: string): string {
  const parts = path.split(".");
  const guards = parts.map((_, i) => `has(${root}.${parts.slice(0, i + 1).join(".")})`);
  return `(${guards.join(" && ")} ? ${root}.${path} : {})`;
}

/**
 * The metadata a workload hands down to the objects its controllers create, by where it sits: the pod
 * template (every workload kind) and, for a CronJob, the Job template too. Each is a CEL map of a workload
 * `root` (object or oldObject), {} for other kinds.
 */
export const templateMetadata: { where: string; cel: (root: string) => string }[] = (
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
export const podVariables = [
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
 * CEL variables `levels` (each data classification's rank) and `ceiling` (the namespace's department
 * maximum, UNCLASSIFIED when unset): for rules that keep data within the department's ceiling.
 */
export const classificationCeilingVariables = [
  { name: "levels", expression: `{${dataClassificationLevels.map((l, i) => `'${l}': ${i}`).join(", ")}}` },
  {
    name: "ceiling",
    expression: `has(namespaceObject.metadata.annotations) && '${platformOwned.maxDataClassification}' in namespaceObject.metadata.annotations ? namespaceObject.metadata.annotations['${platformOwned.maxDataClassification}'] : 'UNCLASSIFIED'`,
  },
];

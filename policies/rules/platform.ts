import { isPlatformKeyCel, platformOwned, tenantDeclared } from "../keys.ts";
import {
  departmentRemovers,
  managedByGovhost,
  platformWriters,
  rw,
  templateMetadata,
  workloads,
} from "./shared.ts";
import type { BaselineRule, ResourceRule } from "./types.ts";

// Platform integrity: platform-owned metadata, role bindings within the department, the platform's own
// bindings, finalized statements.

const roleBindings = (operations: ResourceRule["operations"]): ResourceRule => ({
  apiGroups: ["rbac.authorization.k8s.io"],
  apiVersions: ["v1"],
  resources: ["rolebindings"],
  operations,
});

export const platformRules: BaselineRule[] = [
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
    match: [roleBindings(rw)],
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
    id: "GH-RBAC-002",
    name: "platform-role-bindings",
    title: "The platform's own role bindings in a department namespace are changed only by the platform",
    rationale:
      "The platform binds the department's groups to their roles and its own service account to what it needs in the namespace; a department admin who changed those bindings would move groups between roles or cut the platform's own access, and the controller would silently put them back. Refusing the change says why.",
    remediation:
      "Leave the bindings labelled app.kubernetes.io/managed-by: govhost alone; change the Department's spec.groups to change who holds a role, or write your own RoleBinding under another name.",
    category: "access",
    severity: "high",
    scope: "tenant-namespaces",
    match: [roleBindings(["UPDATE", "DELETE"])],
    // The controller renders them; the namespace controller and the garbage collector delete them with
    // their department.
    exemptUsers: departmentRemovers,
    variables: [
      {
        name: "isOperator",
        expression:
          "has(request.userInfo.groups) && request.userInfo.groups.exists(g, g == 'system:masters' || (has(params.data.platformOperators) && g != '' && g in params.data.platformOperators.split(',')))",
      },
      { name: "platformBinding", expression: managedByGovhost("oldObject") },
    ],
    validations: [
      {
        expression: "!variables.platformBinding || variables.isOperator",
        message: "GH-RBAC-002: the platform's own role bindings are changed only by the platform",
        messageExpression:
          "'GH-RBAC-002: RoleBinding ' + oldObject.metadata.name + ' belongs to the platform (app.kubernetes.io/managed-by: govhost); only platform operators may change or delete it. Change the Department spec.groups instead, or write your own RoleBinding under another name.'",
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

import { platformOwned } from "../keys.ts";
import { rw } from "./shared.ts";
import type { BaselineRule } from "./types.ts";

// Records: retention schedules and legal holds protect records services and their volumes.

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

export const recordsRules: BaselineRule[] = [
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
];

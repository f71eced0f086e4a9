import { departmentAdminVariables, departmentRemovers, rw } from "./shared.ts";
import type { BaselineRule, ResourceRule } from "./types.ts";

// E-services: who may approve accessibility waivers and previews, and publish public e-services.

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
  "completedTransaction",
  "targets",
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

export const eserviceRules: BaselineRule[] = [
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
    exemptUsers: departmentRemovers,
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
      ...departmentAdminVariables,
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
];

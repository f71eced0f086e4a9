import { classificationCeilingVariables, departmentAdminVariables, rw } from "./shared.ts";
import type { BaselineRule } from "./types.ts";

// API exchange between departments: who decides a request for access, and what a department may receive.

export const apiExchangeRules: BaselineRule[] = [
  {
    id: "GH-API-001",
    name: "api-grant-decided-by-provider-admin",
    title: "Only the providing department's admins decide a request for API access, in their own name",
    rationale:
      "Opening a department's API to another department is the provider's decision; the record of it must name the person who took it.",
    remediation:
      "Ask an admin of the department that publishes the API to decide; decidedBy must be their own user name.",
    category: "access",
    severity: "high",
    scope: "tenant-namespaces",
    match: [
      {
        apiGroups: ["govhost.io"],
        apiVersions: ["v1alpha1"],
        resources: ["apigrantdecisions"],
        operations: rw,
      },
    ],
    variables: departmentAdminVariables,
    validations: [
      {
        expression: "variables.isAdmin",
        message: "GH-API-001: only the providing department's admins decide requests for API access",
        messageExpression:
          "'GH-API-001: only the department admins (' + variables.deciders.join(', ') + ') may decide requests for API access; ' + request.userInfo.username + ' may not. Ask a department admin.'",
      },
      {
        expression: "object.spec.decidedBy == request.userInfo.username",
        message: "GH-API-001: decidedBy must be your own user name",
        messageExpression:
          "'GH-API-001: decidedBy must be your own user name (' + request.userInfo.username + '), not ' + object.spec.decidedBy",
      },
    ],
    background: false,
  },
  {
    id: "GH-API-002",
    name: "api-grant-within-ceiling",
    title: "A department asks for access only to APIs within its data classification ceiling",
    rationale:
      "An API returning data above the consumer department's ceiling would move classified data onto a platform not accredited for it.",
    remediation:
      "Ask for APIs classified at most at your department's maximum, or have the platform operators raise the ceiling once accredited.",
    category: "data",
    severity: "high",
    scope: "tenant-namespaces",
    match: [
      { apiGroups: ["govhost.io"], apiVersions: ["v1alpha1"], resources: ["apigrants"], operations: rw },
    ],
    variables: [...classificationCeilingVariables],
    validations: [
      {
        expression:
          "object.spec.dataClassification in variables.levels && variables.levels[object.spec.dataClassification] <= variables.levels[variables.ceiling]",
        message: "GH-API-002: the API's data classification is above the department's maximum",
        messageExpression:
          "'GH-API-002: the API returns data classified ' + object.spec.dataClassification + ', above this department\\'s maximum (' + variables.ceiling + '); it may not receive it'",
      },
    ],
    background: true,
  },
];

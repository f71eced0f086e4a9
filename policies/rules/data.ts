import { dataClassificationLevels, tenantDeclared } from "../keys.ts";
import { classificationCeilingVariables, podVariables, workloads } from "./shared.ts";
import type { BaselineRule } from "./types.ts";

// Data classification: no workload above its department's ceiling.

export const dataRules: BaselineRule[] = [
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
      ...classificationCeilingVariables,
      {
        name: "declared",
        expression: `'${tenantDeclared.dataClassification}' in variables.podLabels ? variables.podLabels['${tenantDeclared.dataClassification}'] : ''`,
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
];

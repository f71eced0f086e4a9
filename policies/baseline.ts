import { apiExchangeRules } from "./rules/api-exchange.ts";
import { dataRules } from "./rules/data.ts";
import { eserviceRules } from "./rules/eservices.ts";
import { networkRules } from "./rules/network.ts";
import { platformRules } from "./rules/platform.ts";
import { recordsRules } from "./rules/records.ts";
import type { BaselineRule } from "./rules/types.ts";
import { workloadRules } from "./rules/workloads.ts";

// The security baseline, as data: each rule has an id, a title, why it exists and what to do instead, and
// CEL that both the API server (ValidatingAdmissionPolicy) and govhost's own evaluator (policy reports,
// API dry-run feedback) run. Pod Security Admission `restricted` covers the pod-level controls; these
// rules cover what PSA is silent about. One file per category under rules/.

export { eserviceAdminFields, eserviceApproverFields } from "./rules/eservices.ts";
export type { BaselineRule } from "./rules/types.ts";

export const baselineRules: BaselineRule[] = [
  ...workloadRules,
  ...networkRules,
  ...dataRules,
  ...eserviceRules,
  ...recordsRules,
  ...platformRules,
  ...apiExchangeRules,
];

export function ruleById(id: string): BaselineRule {
  const rule = baselineRules.find((r) => r.id === id);
  if (!rule) throw new Error(`no baseline rule ${id}`);
  return rule;
}

import { isIP } from "node:net";
import { type BaselineRule, baselineRules } from "./baseline.ts";
import { platformOwned } from "./keys.ts";
import { type BaselineModes, denyEverywhere, type ModePlacement, placements } from "./modes.ts";

// Generates the Kubernetes objects that make the API server enforce the baseline:
// a ValidatingAdmissionPolicy per rule and one ValidatingAdmissionPolicyBinding per (rule, mode).

export const baselineParams = { namespace: "govhost-system", name: "govhost-baseline" } as const;

export interface BaselineSettings {
  /** Registry prefixes images may come from, e.g. "registry.gov.example/". */
  allowedRegistries: string[];
  /** Groups whose members may record accessibility waivers (GH-A11Y-001). */
  accessibilityApprovers: string[];
  /** Groups whose members place and lift legal holds and approve disposal (GH-REC-002). */
  recordsManagers: string[];
  /** Groups of platform operators, who may act as any department's admin (GH-PUB-001). */
  platformOperators: string[];
  /**
   * Outside addresses (CIDRs, exactly as written in a NetworkPolicy ipBlock) that departments may open egress
   * to in their own NetworkPolicies (GH-NET-003), e.g. a payment gateway or a legacy data centre.
   */
  egressAllowlist?: string[];
  modes: BaselineModes;
  /** Rule ids not installed at all (a rule that is not yet rolled out). */
  disabled?: string[];
}

export const defaultBaselineSettings: BaselineSettings = {
  allowedRegistries: ["registry.gov.example/", "harbor.gov.example/"],
  // Kept literal here (policies/ does not depend on controller/): see accessibilityApproversGroup.
  accessibilityApprovers: ["govhost:accessibility-approvers", "govhost:platform-operators"],
  recordsManagers: ["govhost:records-managers"],
  platformOperators: ["govhost:platform-operators"],
  modes: denyEverywhere,
};

const partOf = { "app.kubernetes.io/part-of": "govhost" };

/** Refuses an allowlist entry that is not an IP range in CIDR form (a NetworkPolicy would not accept it). */
function checkedCidrs(cidrs: string[]): string[] {
  for (const cidr of cidrs) {
    const [address = "", prefix = "", ...rest] = cidr.split("/");
    const family = isIP(address);
    const bits = Number(prefix);
    if (!family || rest.length || !/^\d+$/.test(prefix) || bits > (family === 4 ? 32 : 128))
      throw new Error(
        `egressAllowlist: "${cidr}" is not a CIDR; write an address range such as 203.0.113.10/32`,
      );
  }
  return cidrs;
}

/** The platform-wide parameters every policy reads (a ConfigMap tenants cannot reach). */
export function baselineParamsConfigMap(settings: BaselineSettings) {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { ...baselineParams, labels: partOf },
    data: {
      allowedRegistries: settings.allowedRegistries.join(","),
      accessibilityApprovers: settings.accessibilityApprovers.join(","),
      recordsManagers: settings.recordsManagers.join(","),
      platformOperators: settings.platformOperators.join(","),
      egressAllowlist: checkedCidrs(settings.egressAllowlist ?? []).join(","),
    },
  };
}

export function policyName(rule: BaselineRule): string {
  return `govhost-${rule.name}`;
}

export function validatingAdmissionPolicy(rule: BaselineRule) {
  const exempt = rule.exemptUsers?.length
    ? [
        {
          name: "not-a-platform-writer",
          expression: `!(request.userInfo.username in [${rule.exemptUsers.map((u) => `'${u}'`).join(", ")}])`,
        },
      ]
    : [];
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicy",
    metadata: {
      name: policyName(rule),
      labels: { ...partOf, "govhost.io/baseline-rule": rule.id },
      annotations: {
        "govhost.io/title": rule.title,
        "govhost.io/rationale": rule.rationale,
        "govhost.io/remediation": rule.remediation,
      },
    },
    spec: {
      failurePolicy: "Fail",
      paramKind: rule.params
        ? { apiVersion: rule.params.apiVersion, kind: rule.params.kind }
        : { apiVersion: "v1", kind: "ConfigMap" },
      matchConstraints: { resourceRules: rule.match.map((m) => ({ ...m, scope: "*" })) },
      ...(exempt.length ? { matchConditions: exempt } : {}),
      ...(rule.variables ? { variables: rule.variables } : {}),
      validations: rule.validations.map((v) => ({ ...v, reason: "Forbidden" })),
    },
  };
}

function namespaceSelector(rule: BaselineRule, placement: ModePlacement) {
  if (rule.scope === "cluster") return undefined;
  const expressions: { key: string; operator: string; values?: string[] }[] = [
    { key: platformOwned.department, operator: "Exists" },
  ];
  if (placement.except?.length) {
    const covered = new Set(placement.environments ?? []);
    const excluded = placement.except.filter((e) => !covered.has(e));
    if (excluded.length)
      expressions.push({ key: platformOwned.environment, operator: "NotIn", values: excluded });
  } else if (placement.environments) {
    expressions.push({ key: platformOwned.environment, operator: "In", values: placement.environments });
  }
  return { matchExpressions: expressions };
}

export function validatingAdmissionPolicyBindings(rule: BaselineRule, modes: BaselineModes) {
  return placements(modes, rule.id).map((placement) => {
    const selector = namespaceSelector(rule, placement);
    return {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicyBinding",
      metadata: {
        name: `${policyName(rule)}-${placement.mode.toLowerCase()}`,
        labels: { ...partOf, "govhost.io/baseline-rule": rule.id, "govhost.io/policy-mode": placement.mode },
      },
      spec: {
        policyName: policyName(rule),
        validationActions: placement.mode === "Deny" ? ["Deny"] : [placement.mode],
        paramRef: rule.params
          ? {
              name: rule.params.name,
              ...(rule.params.namespace ? { namespace: rule.params.namespace } : {}),
              parameterNotFoundAction: "Allow",
            }
          : { ...baselineParams, parameterNotFoundAction: "Deny" },
        ...(selector ? { matchResources: { namespaceSelector: selector } } : {}),
      },
    };
  });
}

/** Everything to apply for the baseline; policies and bindings not listed here must be pruned. */
export function baselineManifests(settings: BaselineSettings = defaultBaselineSettings) {
  const enabled = baselineRules.filter((rule) => !settings.disabled?.includes(rule.id));
  return [
    baselineParamsConfigMap(settings),
    ...enabled.map(validatingAdmissionPolicy),
    ...enabled.flatMap((rule) => validatingAdmissionPolicyBindings(rule, settings.modes)),
  ];
}

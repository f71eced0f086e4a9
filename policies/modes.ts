/** How a failed rule is acted on (ValidatingAdmissionPolicyBinding validationActions). */
export type PolicyMode = "Deny" | "Warn" | "Audit";

/**
 * Which mode each rule runs in: a default for all rules, per-rule defaults, and per-environment overrides
 * (e.g. roll a new rule out as Audit in dev first). Later entries win: default < rules < environments.
 */
export interface BaselineModes {
  default: PolicyMode;
  rules?: Record<string, PolicyMode>;
  environments?: Record<string, { default?: PolicyMode; rules?: Record<string, PolicyMode> }>;
}

export const denyEverywhere: BaselineModes = { default: "Deny" };

/** The mode of `ruleId` in `environment` (or outside any overridden environment when undefined). */
export function modeFor(modes: BaselineModes, ruleId: string, environment?: string): PolicyMode {
  const env = environment ? modes.environments?.[environment] : undefined;
  return env?.rules?.[ruleId] ?? env?.default ?? modes.rules?.[ruleId] ?? modes.default;
}

export interface ModePlacement {
  mode: PolicyMode;
  /** Environments this placement covers explicitly; `except` lists those it must not cover. */
  environments?: string[];
  except?: string[];
}

/** Splits one rule's environments into one placement per distinct mode (one binding each). */
export function placements(modes: BaselineModes, ruleId: string): ModePlacement[] {
  const overridden = Object.keys(modes.environments ?? {});
  const byMode = new Map<PolicyMode, string[]>();
  for (const env of overridden) {
    const mode = modeFor(modes, ruleId, env);
    byMode.set(mode, [...(byMode.get(mode) ?? []), env]);
  }
  const fallback = modeFor(modes, ruleId);
  const result: ModePlacement[] = [
    { mode: fallback, except: overridden, environments: byMode.get(fallback) },
  ];
  for (const [mode, environments] of byMode) {
    if (mode !== fallback) result.push({ mode, environments });
  }
  return result;
}

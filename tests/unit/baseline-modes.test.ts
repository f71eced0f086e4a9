import { describe, expect, it } from "vitest";
import { matchesSelector } from "../../controller/compliance/selector.ts";
import {
  baselineParamsConfigMap,
  defaultBaselineSettings,
  validatingAdmissionPolicyBindings,
} from "../../policies/admission.ts";
import { baselineRules } from "../../policies/baseline.ts";
import { modeFor, placements } from "../../policies/modes.ts";

const rule = baselineRules.find((r) => r.id === "GH-IMG-002");
if (!rule) throw new Error("rule missing");

describe("baseline modes", () => {
  it("resolves environment rule > environment default > rule > global default", () => {
    const modes = {
      default: "Deny" as const,
      rules: { "GH-IMG-002": "Audit" as const },
      environments: { dev: { default: "Warn" as const }, uat: { rules: { "GH-IMG-002": "Deny" as const } } },
    };
    expect(modeFor(modes, "GH-IMG-002")).toBe("Audit");
    expect(modeFor(modes, "GH-IMG-002", "dev")).toBe("Warn");
    expect(modeFor(modes, "GH-IMG-002", "uat")).toBe("Deny");
    expect(modeFor(modes, "GH-RES-001", "uat")).toBe("Deny");
    expect(modeFor(modes, "GH-RES-001", "prod")).toBe("Deny");
  });

  it("produces one binding per mode whose namespace selectors partition the tenant namespaces", () => {
    const modes = {
      default: "Deny" as const,
      environments: { dev: { default: "Warn" as const }, test: { default: "Deny" as const } },
    };
    expect(placements(modes, rule.id)).toEqual([
      { mode: "Deny", except: ["dev", "test"], environments: ["test"] },
      { mode: "Warn", environments: ["dev"] },
    ]);
    const bindings = validatingAdmissionPolicyBindings(rule, modes);
    expect(bindings.map((b) => [b.metadata.name, b.spec.validationActions])).toEqual([
      ["govhost-pinned-image-tags-deny", ["Deny"]],
      ["govhost-pinned-image-tags-warn", ["Warn"]],
    ]);
    for (const env of ["dev", "test", "prod", "staging"]) {
      const labels = { "govhost.io/department": "immd", "govhost.io/environment": env };
      const matching = bindings.filter((b) =>
        matchesSelector(b.spec.matchResources?.namespaceSelector, labels),
      );
      expect(matching, env).toHaveLength(1);
      expect(matching[0]?.spec.validationActions[0]).toBe(modeFor(modes, rule.id, env));
    }
    const platformNamespace = { "kubernetes.io/metadata.name": "kube-system" };
    expect(
      bindings.some((b) => matchesSelector(b.spec.matchResources?.namespaceSelector, platformNamespace)),
    ).toBe(false);
  });
});

describe("baseline parameters", () => {
  it("carry the operators' egress allowlist, and refuse an entry that is not a CIDR", () => {
    const params = baselineParamsConfigMap({
      ...defaultBaselineSettings,
      egressAllowlist: ["203.0.113.10/32", "2001:db8::/48"],
    });
    expect(params.data.egressAllowlist).toBe("203.0.113.10/32,2001:db8::/48");
    expect(baselineParamsConfigMap(defaultBaselineSettings).data.egressAllowlist).toBe("");
    for (const bad of ["203.0.113.10", "gateway.gov.example/32", "203.0.113.0/33", "10.0.0.0/8/1"])
      expect(() => baselineParamsConfigMap({ ...defaultBaselineSettings, egressAllowlist: [bad] })).toThrow(
        `egressAllowlist: "${bad}" is not a CIDR`,
      );
  });
});

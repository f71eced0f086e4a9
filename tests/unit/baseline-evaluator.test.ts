import { describe, expect, it } from "vitest";
import { baselineRules } from "../../policies/baseline.ts";
import { evaluateRule, ruleApplies } from "../../policies/evaluate.ts";
import { platformOwned } from "../../policies/keys.ts";
import { corpus, corpusDepartment, corpusRegistries } from "../policy-corpus/corpus.ts";

// The same corpus the integration tests send to the API server, judged by govhost's own CEL evaluator:
// the two must agree, because policy reports and the API's dry-run feedback rely on this evaluator.

const namespaceObject = {
  metadata: {
    name: "corpus-dev",
    annotations: {
      [platformOwned.domains]: corpusDepartment.domains.join(","),
      [platformOwned.maxDataClassification]: corpusDepartment.maxDataClassification,
    },
  },
};
const params = { data: { allowedRegistries: corpusRegistries.join(",") } };
const request = { operation: "CREATE" as const, userInfo: { username: "alice@corpus" } };

function failedRules(manifest: Record<string, unknown>): string[] {
  return baselineRules
    .filter((rule) => ruleApplies(rule, manifest))
    .map((rule) => evaluateRule(rule, { object: manifest, namespaceObject, params, request }))
    .filter((outcome) => !outcome.passed)
    .map((outcome) => outcome.ruleId);
}

describe("baseline evaluator agrees with the corpus", () => {
  for (const c of corpus) {
    const expected = c.expect === "deny" && !c.rule?.startsWith("psa:") ? [c.rule] : [];
    it(`${c.name}: ${expected.length ? `rejected by ${expected[0]}` : "no baseline rule fails"}`, () => {
      expect(failedRules(c.manifest)).toEqual(expected);
    });
  }

  it("renders the same actionable message as the admission policy", () => {
    const latest = corpus.find((c) => c.name === "img-latest");
    const rule = baselineRules.find((r) => r.id === "GH-IMG-002");
    if (!latest || !rule) throw new Error("corpus case or rule missing");
    const outcome = evaluateRule(rule, { object: latest.manifest, namespaceObject, params, request });
    expect(outcome.messages).toEqual([
      "GH-IMG-002: images must be pinned by a version tag or digest, not latest or untagged: app=registry.gov.example/corpus/web:latest. Use e.g. :1.4.2 or @sha256:...",
    ]);
  });

  it("detects changed and removed platform-owned keys on update, but not for platform identities", () => {
    const rule = baselineRules.find((r) => r.id === "GH-META-001");
    if (!rule) throw new Error("rule missing");
    const old = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "x", labels: { "govhost.io/environment": "dev" } },
    };
    const removed = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", labels: {} } };
    const update = { operation: "UPDATE" as const, userInfo: { username: "alice@corpus" } };
    expect(
      evaluateRule(rule, { object: removed, oldObject: old, params, request: update }).messages[0],
    ).toContain("govhost.io/environment");
    expect(evaluateRule(rule, { object: old, oldObject: old, params, request: update }).passed).toBe(true);
    const controller = {
      operation: "UPDATE" as const,
      userInfo: { username: "system:serviceaccount:govhost-system:govhost-controller" },
    };
    expect(evaluateRule(rule, { object: removed, oldObject: old, params, request: controller }).passed).toBe(
      true,
    );
  });
});

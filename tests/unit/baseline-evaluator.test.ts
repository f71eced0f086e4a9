import { describe, expect, it } from "vitest";
import { baselineRules } from "../../policies/baseline.ts";
import { type EvaluationInput, evaluateRule, ruleApplies } from "../../policies/evaluate.ts";
import { platformOwned } from "../../policies/keys.ts";
import { corpus, corpusDepartment, corpusRegistries } from "../policy-corpus/corpus.ts";

// The same corpus the integration tests send to the API server, judged by govhost's own CEL evaluator:
// the two must agree, because policy reports and the API's dry-run feedback rely on this evaluator.

const namespaceObject = {
  metadata: {
    name: "corpus-dev",
    labels: { [platformOwned.department]: "corpus", [platformOwned.environment]: "dev" },
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

describe("GH-NET-003: department network rules", () => {
  const rule = baselineRules.find((r) => r.id === "GH-NET-003");
  if (!rule) throw new Error("rule missing");
  const settings = {
    data: {
      ...params.data,
      egressAllowlist: "203.0.113.10/32,198.51.100.0/24",
      platformOperators: "govhost:platform-operators",
    },
  };
  const admin = {
    operation: "CREATE" as const,
    userInfo: { username: "alice@corpus", groups: ["corpus-admins"] },
  };
  const toAddress = (cidr: string) => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "to-gateway" },
    spec: { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr } }] }] },
  });
  const judge = (
    object: Record<string, unknown> | null,
    request: EvaluationInput["request"] = admin,
    oldObject?: Record<string, unknown>,
  ) => evaluateRule(rule, { object, oldObject, namespaceObject, params: settings, request });

  it("lets an admin open egress to an address on the operators' allowlist, and only exactly that", () => {
    expect(judge(toAddress("203.0.113.10/32")).passed).toBe(true);
    const wider = judge(toAddress("203.0.113.0/24"));
    expect(wider.passed).toBe(false);
    expect(wider.messages[0]).toContain("one of the egress allowlist (203.0.113.10/32, 198.51.100.0/24)");
    const empty = evaluateRule(rule, {
      object: toAddress("203.0.113.10/32"),
      namespaceObject,
      params,
      request: admin,
    });
    expect(empty.messages[0]).toContain("egress allowlist (empty: ask the platform operators)");
  });

  it("names the department a namespaceSelector must pin", () => {
    const foreign = corpus.find((c) => c.name === "net-policy-foreign-department");
    if (!foreign) throw new Error("corpus case missing");
    expect(judge(foreign.manifest).messages).toEqual([
      "GH-NET-003: NetworkPolicy net-policy-foreign-department reaches outside department corpus; a namespaceSelector must have matchLabels govhost.io/department=corpus and an ipBlock cidr must be one of the egress allowlist (203.0.113.10/32, 198.51.100.0/24)",
    ]);
  });

  it("keeps the platform's own policies from tenants, and lets operators and cluster admins repair them", () => {
    const platformPolicy = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "govhost-default-deny", labels: { "app.kubernetes.io/managed-by": "govhost" } },
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    };
    const deletion = { ...admin, operation: "DELETE" as const };
    const refused = judge(null, deletion, platformPolicy);
    expect(refused.passed).toBe(false);
    expect(refused.messages[0]).toContain("govhost-default-deny belongs to the platform");
    const weakened = { ...platformPolicy, spec: { podSelector: { matchLabels: { app: "none" } } } };
    expect(judge(weakened, { ...admin, operation: "UPDATE" as const }, platformPolicy).passed).toBe(false);
    const operator = {
      operation: "DELETE" as const,
      userInfo: { username: "op", groups: ["govhost:platform-operators"] },
    };
    expect(judge(null, operator, platformPolicy).passed).toBe(true);
    const clusterAdmin = {
      operation: "DELETE" as const,
      userInfo: { username: "kubernetes-admin", groups: ["system:masters"] },
    };
    expect(judge(null, clusterAdmin, platformPolicy).passed).toBe(true);
    const gc = {
      operation: "DELETE" as const,
      userInfo: { username: "system:serviceaccount:kube-system:generic-garbage-collector" },
    };
    expect(judge(null, gc, platformPolicy).passed).toBe(true);
  });

  it("lets an admin delete a policy of their own", () => {
    const own = corpus.find((c) => c.name === "net-policy-inside-department");
    if (!own) throw new Error("corpus case missing");
    expect(judge(null, { ...admin, operation: "DELETE" as const }, own.manifest).passed).toBe(true);
  });
});

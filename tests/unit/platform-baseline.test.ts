import { describe, expect, it } from "vitest";
import { platformManifests } from "../../controller/api/platform.ts";
import type { Manifest } from "../../infra/resources.ts";
import { workloadManifests } from "../../infra/workloads.ts";
import { baselineRules } from "../../policies/baseline.ts";
import { evaluateRule, ruleApplies } from "../../policies/evaluate.ts";
import { localStackBaseline } from "../../tools/install-platform.ts";

// The platform's own pods meet the security baseline it holds departments to: every rule that judges stored
// workloads and Services, with the local stack's parameters (its registry) and the platform namespace as
// installed. The evaluator runs the same CEL as the API server (the policy corpus tests keep the two in
// agreement). The API's Ingress is left out: GH-NET-002 checks hosts against a department's allotted domains,
// which the platform namespace has none of (its host is the operator's govhost:apiHost).

const image = `registry.govhost.local/govhost/govhost:0.1.0-abc@sha256:${"0".repeat(64)}`;
const installed = platformManifests({
  ingressControllerNamespace: "govhost-ingress",
  baseline: localStackBaseline,
});
const byKindAndName = (kind: string, name: string) =>
  installed.find((m) => m.kind === kind && m.metadata.name === name) as Manifest | undefined;

describe("the platform's own workloads", () => {
  const workloads = workloadManifests({
    images: { controller: image, portalApi: image },
    ingressControllerNamespace: "govhost-ingress",
    oidc: { issuer: "https://login.gov.example", audience: "govhost", clientId: "govhost" },
    api: { host: "api.gov.example", ingressClassName: "traefik" },
    auditStorage: "1Gi",
    serviceMonitor: false,
  });
  const namespaceObject = byKindAndName("Namespace", "govhost-system") as Record<string, unknown>;
  const params = { data: byKindAndName("ConfigMap", "govhost-baseline")?.data as Record<string, string> };

  it("pass every baseline rule that judges stored workloads and Services", () => {
    expect(namespaceObject).toBeDefined();
    expect(params.data.allowedRegistries).toContain("registry.govhost.local/");
    const judged: string[] = [];
    const failures: string[] = [];
    for (const object of workloads.filter((m) => m.kind !== "Ingress"))
      for (const rule of baselineRules.filter((r) => r.background && ruleApplies(r, object))) {
        const outcome = evaluateRule(rule, { object, namespaceObject, params });
        judged.push(`${object.kind}/${object.metadata.name}/${rule.id}`);
        if (!outcome.passed)
          failures.push(`${object.kind} ${object.metadata.name}: ${outcome.messages.join("; ")}`);
      }
    expect(failures).toEqual([]);
    for (const deployment of ["govhost-controller", "govhost-portal-api"])
      for (const rule of [
        "GH-IMG-001",
        "GH-IMG-002",
        "GH-IMG-003",
        "GH-RES-001",
        "GH-RUN-001",
        "GH-POD-001",
        "GH-DATA-001",
      ])
        expect(judged).toContain(`Deployment/${deployment}/${rule}`);
  });

  it("would be refused by the baseline from a registry it does not allow, or unlabelled", () => {
    const controller = workloads.find(
      (m) => m.kind === "Deployment" && m.metadata.name === "govhost-controller",
    );
    const foreign = structuredClone(controller) as Manifest & {
      spec: {
        template: { metadata: { labels: Record<string, string> }; spec: { containers: { image: string }[] } };
      };
    };
    const [main] = foreign.spec.template.spec.containers;
    if (main) main.image = "docker.io/library/govhost:1.0";
    delete foreign.spec.template.metadata.labels["govhost.io/data-classification"];
    const outcomes = baselineRules
      .filter((r) => ["GH-IMG-001", "GH-DATA-001"].includes(r.id))
      .map((rule) => evaluateRule(rule, { object: foreign, namespaceObject, params }));
    expect(outcomes.map((o) => [o.ruleId, o.passed]).sort()).toEqual([
      ["GH-DATA-001", false],
      ["GH-IMG-001", false],
    ]);
  });
});

import { describe, expect, it } from "vitest";
import type { AccessibilitySummary, EService } from "../../controller/api/eservice.ts";
import { renderEService } from "../../controller/eservice/desired.ts";
import { decideExposure, type GateInput } from "../../controller/eservice/gate.ts";
import { podToScan, scanDue, scanKey, scanTarget } from "../../controller/eservice/scan-plan.ts";
import { ScanQueue } from "../../controller/eservice/scan-queue.ts";
import { defaultEServiceSettings } from "../../controller/eservice/settings.ts";
import { rolloutComplete } from "../../controller/runtime/rollout.ts";
import { baselineRules } from "../../policies/baseline.ts";
import { evaluateRule, ruleApplies } from "../../policies/evaluate.ts";
import { compliantPodSpec } from "../policy-corpus/corpus.ts";

function eservice(
  spec: Partial<EService["spec"]> = {},
  accessibility: Partial<EService["spec"]["accessibility"]> = {},
): EService {
  return {
    apiVersion: "govhost.io/v1alpha1",
    kind: "EService",
    metadata: { name: "portal", namespace: "immd-prod", uid: "uid-1", generation: 1 },
    spec: {
      image: "registry.gov.example/immd/portal:1.0.0",
      port: 8080,
      replicas: 2,
      resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
      env: [],
      exposure: "public",
      dataClassification: "UNCLASSIFIED",
      ...spec,
      accessibility: {
        standard: "WCAG22-AA",
        paths: ["/"],
        clientRendered: false,
        languages: [],
        lookAndFeel: "report",
        onRegression: "warn",
        rescanIntervalHours: 24,
        ...accessibility,
      },
    },
  };
}

function summary(overrides: Partial<AccessibilitySummary> = {}): AccessibilitySummary {
  return {
    standard: "WCAG22-AA",
    image: "registry.gov.example/immd/portal:1.0.0",
    paths: ["/"],
    scanKey: "sha256:x",
    contentDigest: "sha256:y",
    scannedAt: "2026-11-23T00:00:00Z",
    tiers: ["chromium", "jsdom"],
    counts: { critical: 0, serious: 0, moderate: 1, minor: 0 },
    failedRules: [],
    lookAndFeel: [],
    blockingRules: [],
    waivedRules: [],
    report: "govhost-a11y-portal",
    ...overrides,
  };
}

const failing = summary({
  counts: { critical: 1, serious: 0, moderate: 0, minor: 0 },
  failedRules: [
    {
      id: "image-alt",
      impact: "critical",
      tier: "jsdom",
      nodes: 1,
      paths: ["/"],
      help: "Images must have alternative text",
    },
  ],
  blockingRules: ["image-alt"],
});

const gate = (overrides: Partial<GateInput>) =>
  decideExposure({
    spec: eservice().spec,
    host: "portal.immd.gov.example",
    workload: { admitted: true, message: "applied" },
    scan: { state: "current", summary: summary() },
    wasExposed: false,
    ...overrides,
  });

describe("exposure gate", () => {
  it("publishes a public, admitted e-service whose pages pass", () => {
    const decision = gate({});
    expect(decision.expose).toBe(true);
    expect(decision.exposed).toMatchObject({ status: "True", reason: "Public" });
    expect(decision.accessibility).toMatchObject({ status: "True", reason: "Passed" });
  });

  it("waits for the rollout to replace every pod of the earlier version before a first exposure", () => {
    const rolling = gate({ rollout: { complete: false, message: "1/2 replicas run the current version" } });
    expect(rolling.expose).toBe(false);
    expect(rolling.exposed).toMatchObject({ status: "False", reason: "RolloutInProgress" });
    expect(rolling.exposed.message).toContain("1/2 replicas run the current version");
    expect(gate({ rollout: { complete: true, message: "2/2" } }).expose).toBe(true);
    // Already public: a rollout of a version that passes keeps it public.
    expect(gate({ wasExposed: true, rollout: { complete: false, message: "1/2" } }).expose).toBe(true);
  });

  it("keeps a first-time e-service private while its scan is pending or failing", () => {
    expect(gate({ scan: { state: "pending", message: "scanning" } }).expose).toBe(false);
    const decision = gate({ scan: { state: "current", summary: failing } });
    expect(decision.expose).toBe(false);
    expect(decision.exposed.reason).toBe("AccessibilityBaseline");
    expect(decision.accessibility.message).toContain("image-alt (critical, /)");
  });

  it("never publishes a refused workload, an internal e-service or a host outside the domains", () => {
    expect(gate({ workload: { admitted: false, message: "GH-IMG-001: ..." } }).exposed.reason).toBe(
      "SecurityBaseline",
    );
    // A child the API server found invalid (not a policy's refusal) is not published either, and says so.
    const invalid = gate({
      wasExposed: true,
      workload: { admitted: false, refusal: "invalid", message: 'Service "x": Duplicate value' },
    });
    expect(invalid.expose).toBe(false);
    expect(invalid.exposed).toMatchObject({ status: "False", reason: "ChildInvalid" });
    expect(invalid.exposed.message).toContain("Duplicate value");
    expect(gate({ spec: eservice({ exposure: "internal" }).spec }).exposed.reason).toBe("Internal");
    expect(gate({ host: undefined }).exposed.reason).toBe("NoHostname");
    expect(gate({ hostProblem: "outside" }).exposed.reason).toBe("HostnameNotAllowed");
  });

  it("a scan that could not reach every page fails closed", () => {
    const decision = gate({ scan: { state: "current", summary: summary({ error: "/: HTTP 500" }) } });
    expect(decision.expose).toBe(false);
    expect(decision.accessibility.reason).toBe("ScanFailed");
  });

  it("a public e-service that regresses stays public with warn, is withdrawn with withdraw", () => {
    const regressed = { scan: { state: "current" as const, summary: failing }, wasExposed: true };
    expect(gate(regressed).exposed).toMatchObject({ status: "True", reason: "ExposedWithRegression" });
    const withdraw = eservice({}, { onRegression: "withdraw" }).spec;
    expect(gate({ ...regressed, spec: withdraw }).exposed).toMatchObject({
      status: "False",
      reason: "Withdrawn",
    });
    // The withdrawal is still reported as one on the next reconcile, when the e-service is no longer exposed.
    expect(
      gate({ ...regressed, spec: withdraw, wasExposed: false, previousReason: "Withdrawn" }).exposed.reason,
    ).toBe("Withdrawn");
    // A routine rescan does not take a public e-service down.
    expect(gate({ scan: { state: "pending", message: "rescanning" }, wasExposed: true }).exposed.reason).toBe(
      "RescanPending",
    );
  });
});

describe("scan plan", () => {
  it("rescans when the image, pages or a rescan request change, and on schedule", () => {
    const es = eservice();
    const key = scanKey(es);
    expect(scanKey(eservice({ image: "registry.gov.example/immd/portal:1.0.1" }))).not.toBe(key);
    expect(scanKey(eservice({}, { paths: ["/", "/apply"] }))).not.toBe(key);
    expect(
      scanKey({ ...es, metadata: { ...es.metadata, annotations: { "govhost.io/rescan-requested": "1" } } }),
    ).not.toBe(key);
    expect(scanKey(eservice({ replicas: 5 }))).toBe(key);

    const scanned = {
      ...es,
      status: { accessibility: summary({ scanKey: key, scannedAt: "2026-11-23T00:00:00Z" }) },
    };
    expect(scanDue(scanned, new Date("2026-11-23T23:59:00Z"))).toBe(false);
    expect(scanDue(scanned, new Date("2026-11-24T00:00:00Z"))).toBe(true);
    expect(scanDue(es, new Date())).toBe(true);

    // A scan that could not reach every page is tried again soon, not a day later.
    const incomplete = {
      ...es,
      status: {
        accessibility: summary({
          scanKey: key,
          scannedAt: "2026-11-23T00:00:00Z",
          error: "/: connect ECONNREFUSED",
        }),
      },
    };
    expect(scanDue(incomplete, new Date("2026-11-23T00:00:59Z"), 60_000)).toBe(false);
    expect(scanDue(incomplete, new Date("2026-11-23T00:01:00Z"), 60_000)).toBe(true);
    expect(scanDue(incomplete, new Date("2026-11-23T00:00:05Z"), 5_000)).toBe(true);
  });

  it("scans a ready, running pod of exactly the judged image, never an old or terminating replica", () => {
    const es = eservice();
    const pod = (
      name: string,
      image: string,
      extra: { ready?: boolean; deleting?: boolean; ip?: string } = {},
    ) => ({
      metadata: { name, ...(extra.deleting ? { deletionTimestamp: "2026-11-30T00:00:00Z" } : {}) },
      spec: { containers: [{ image }] },
      status: {
        phase: "Running",
        ...(extra.ip === "" ? {} : { podIP: extra.ip ?? `10.244.0.${name.length}` }),
        conditions: [{ type: "Ready", status: extra.ready === false ? "False" : "True" }],
      },
    });
    const old = "registry.gov.example/immd/portal:0.9.0";
    expect(
      podToScan(es, [
        pod("old", old),
        pod("terminating", es.spec.image, { deleting: true }),
        pod("starting", es.spec.image, { ready: false }),
        pod("no-ip", es.spec.image, { ip: "" }),
        pod("current", es.spec.image, { ip: "10.244.0.9" }),
      ]),
    ).toEqual({ address: "10.244.0.9", port: es.spec.port });
    expect(
      podToScan(es, [pod("old", old), pod("terminating", es.spec.image, { deleting: true })]),
    ).toBeUndefined();
  });

  it("reaches the pages through the Service unless an allowed preview host is given", () => {
    const internal = scanTarget(
      eservice(),
      { url: "http://portal.immd-prod.svc", connectTo: { address: "10.244.0.7", port: 8080 } },
      defaultEServiceSettings,
    );
    // The Service's name stays the host; the scanner connects to a pod of the judged version.
    expect(internal).toMatchObject({
      target: { baseUrl: "http://portal.immd-prod.svc", connectTo: { address: "10.244.0.7", port: 8080 } },
    });
    const preview = eservice({}, { previewUrl: "http://169.254.169.254/latest" });
    expect(scanTarget(preview, { url: "http://x" }, defaultEServiceSettings)).toMatchObject({
      problem: expect.stringContaining("169.254.169.254 is not one the platform allows"),
    });
    const allowed = { ...defaultEServiceSettings, previewHosts: ["preview.gov.example"] };
    const ok = eservice({}, { previewUrl: "https://preview.gov.example/portal" });
    const previewTarget = scanTarget(
      ok,
      { url: "http://x", connectTo: { address: "10.244.0.7", port: 8080 } },
      allowed,
    );
    expect(previewTarget).toMatchObject({ target: { baseUrl: "https://preview.gov.example/portal" } });
    expect(previewTarget).not.toHaveProperty("target.connectTo");
  });
});

describe("rendered children", () => {
  const tenant = { department: "immd", environment: "prod", domains: ["immd.gov.example"] };

  it("renders a workload that passes every background baseline rule", () => {
    const children = renderEService(eservice(), tenant, defaultEServiceSettings);
    const namespaceObject = {
      metadata: {
        annotations: {
          "govhost.io/domains": "immd.gov.example",
          "govhost.io/max-data-classification": "RESTRICTED",
        },
      },
    };
    const params = { data: { allowedRegistries: "registry.gov.example/", accessibilityApprovers: "a" } };
    const objects = [children.deployment, children.service, children.ingress].filter((o) => o !== undefined);
    const judged: string[] = [];
    for (const object of objects) {
      for (const rule of baselineRules.filter((r) => r.background && ruleApplies(r, object))) {
        const outcome = evaluateRule(rule, { object, namespaceObject, params });
        expect(outcome.passed, `${object.kind} ${rule.id}: ${outcome.messages.join("; ")}`).toBe(true);
        judged.push(`${object.kind}/${rule.id}`);
      }
    }
    expect(judged).toEqual(
      expect.arrayContaining([
        "Deployment/GH-IMG-001",
        "Deployment/GH-DATA-001",
        "Service/GH-NET-001",
        "Ingress/GH-NET-002",
      ]),
    );
    // The pod template meets Pod Security restricted exactly like the corpus's compliant pod.
    const pod = (children.deployment.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    expect(pod.securityContext).toEqual(compliantPodSpec().securityContext);
  });

  it("lets only the ingress controller and the platform's own scanner pods reach the pods, on the e-service's port", () => {
    const policy = renderEService(eservice(), tenant, defaultEServiceSettings).networkPolicy.spec as {
      ingress: { from: unknown[]; ports: unknown[] }[];
    };
    expect(policy.ingress).toHaveLength(1);
    expect(policy.ingress[0]?.from).toEqual([
      {
        namespaceSelector: {
          matchLabels: { "kubernetes.io/metadata.name": defaultEServiceSettings.ingressControllerNamespace },
        },
      },
      // Both selectors in one peer: the controller's pods in the platform namespace, not pods so labelled
      // in a department's namespace.
      {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "govhost-system" } },
        podSelector: { matchLabels: { "app.kubernetes.io/name": "govhost-controller" } },
      },
    ]);
    expect(policy.ingress[0]?.ports).toEqual([{ protocol: "TCP", port: eservice().spec.port }]);
  });

  it("adds a disruption budget only with more than one replica, and a TLS host under the first domain", () => {
    expect(
      renderEService(eservice({ replicas: 1 }), tenant, defaultEServiceSettings).podDisruptionBudget,
    ).toBeUndefined();
    const children = renderEService(eservice(), tenant, {
      ...defaultEServiceSettings,
      tlsClusterIssuer: "gov-ca",
    });
    expect(children.podDisruptionBudget).toBeDefined();
    expect(children.host).toBe("portal.immd.gov.example");
    expect(children.ingress?.metadata?.annotations).toEqual({ "cert-manager.io/cluster-issuer": "gov-ca" });
    expect(children.ingress?.spec).toMatchObject({
      tls: [{ hosts: ["portal.immd.gov.example"], secretName: "portal-tls" }],
    });
    // Without an issuer nothing would write a secret: the ingress controller's default certificate serves.
    const plain = renderEService(eservice(), tenant, defaultEServiceSettings).ingress?.spec as
      | { tls: Record<string, unknown>[] }
      | undefined;
    expect(plain?.tls).toEqual([{ hosts: ["portal.immd.gov.example"] }]);
    expect(
      renderEService(eservice(), { ...tenant, domains: [] }, defaultEServiceSettings).ingress,
    ).toBeUndefined();
  });

  it("routes the completed-transaction path through the Service's second port, the rest through the first", () => {
    const completedTransaction = {
      path: "/apply/submit",
      match: "Exact" as const,
      methods: ["POST" as const],
      statusClasses: ["2xx" as const],
    };
    const children = renderEService(eservice({ completedTransaction }), tenant, defaultEServiceSettings);
    expect((children.service.spec as { ports: unknown[] }).ports).toEqual([
      { name: "http", port: 80, targetPort: "http", protocol: "TCP" },
      { name: "completed", port: 81, targetPort: "http", protocol: "TCP" },
    ]);
    const backend = (port: number) => ({ service: { name: "portal", port: { number: port } } });
    expect(children.ingress?.spec).toMatchObject({
      rules: [
        {
          host: "portal.immd.gov.example",
          http: {
            paths: [
              { path: "/apply/submit", pathType: "Exact", backend: backend(81) },
              { path: "/", pathType: "Prefix", backend: backend(80) },
            ],
          },
        },
      ],
    });
    // Without a declared transaction: one port, one path, as before.
    const plain = renderEService(eservice(), tenant, defaultEServiceSettings);
    expect((plain.service.spec as { ports: unknown[] }).ports).toHaveLength(1);
    expect(plain.ingress?.spec).toMatchObject({
      rules: [{ http: { paths: [{ path: "/", pathType: "Prefix", backend: backend(80) }] } }],
    });
    // A prefix of "/" takes every request: no second path to the same place.
    const all = renderEService(
      eservice({ completedTransaction: { ...completedTransaction, path: "/", match: "Prefix" } }),
      tenant,
      defaultEServiceSettings,
    );
    expect(all.ingress?.spec).toMatchObject({
      rules: [{ http: { paths: [{ path: "/", pathType: "Prefix", backend: backend(81) }] } }],
    });
  });
});

describe("scan queue", () => {
  const target = {
    baseUrl: "http://x",
    paths: ["/"],
    standard: "WCAG22-AA" as const,
    clientRendered: false,
    languages: [],
  };
  const emptyResult = (digest: string) => ({
    findings: [],
    lookAndFeel: [],
    errors: [],
    tiers: [],
    contentDigest: digest,
  });

  it("runs one scan per object and key, keeps only the newest key's result, and calls back when done", async () => {
    const started: string[] = [];
    const release: (() => void)[] = [];
    const scanner = {
      scan: (t: typeof target) => {
        started.push(t.baseUrl);
        return new Promise<ReturnType<typeof emptyResult>>((resolve) =>
          release.push(() => resolve(emptyResult(t.baseUrl))),
        );
      },
    };
    const done: string[] = [];
    const queue = new ScanQueue(scanner, (key) => done.push(key));
    expect(queue.request("ns/a", "k1", { ...target, baseUrl: "http://v1" }).state).toBe("queued");
    expect(queue.request("ns/a", "k1", { ...target, baseUrl: "http://v1" }).state).toBe("running");
    // A new key while k1 runs: k1's result is discarded, k2 runs after it.
    queue.request("ns/a", "k2", { ...target, baseUrl: "http://v2" });
    release.shift()?.();
    await new Promise((r) => setTimeout(r, 0));
    expect(done).toEqual([]);
    expect(started).toEqual(["http://v1", "http://v2"]);
    release.shift()?.();
    await new Promise((r) => setTimeout(r, 0));
    expect(done).toEqual(["ns/a"]);
    const outcome = queue.request("ns/a", "k2", target);
    expect(outcome.state === "done" && outcome.result.contentDigest).toBe("http://v2");
    queue.forget("ns/a", "k2");
    expect(queue.request("ns/a", "k2", target).state).toBe("queued");
  });
});

describe("rolloutComplete", () => {
  it("is complete only when every replica runs the observed template and none of an earlier one is left", () => {
    const status = { observedGeneration: 3, updatedReplicas: 2, replicas: 2, availableReplicas: 2 };
    expect(rolloutComplete(2, 3, status).complete).toBe(true);
    expect(rolloutComplete(2, 4, status).complete).toBe(false);
    expect(rolloutComplete(2, 3, { ...status, replicas: 3 })).toMatchObject({
      complete: false,
      message: "2/2 replicas run the current version, 1 of an earlier one remain, 2 available",
    });
    expect(rolloutComplete(2, 3, { ...status, availableReplicas: 1 }).complete).toBe(false);
    expect(rolloutComplete(0, 1, { observedGeneration: 1 }).complete).toBe(true);
  });
});

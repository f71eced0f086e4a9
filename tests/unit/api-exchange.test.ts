import { describe, expect, it } from "vitest";
import type { ApiExport, ApiGrant, ApiGrantDecision } from "../../controller/api/api-exchange.ts";
import type { EService } from "../../controller/api/eservice.ts";
import { desiredGrant, type GrantInputs } from "../../controller/api-exchange/desired.ts";
import type { KubeObject } from "../../lib/kube/client.ts";

// What a grant opens, as a pure function: every way to not open anything, and exactly the consumer's path to
// the API gateway and the export's route there when the provider's admin approved this very request.

const now = new Date("2026-12-01T10:00:00Z");
const grant: ApiGrant & KubeObject = {
  apiVersion: "govhost.io/v1alpha1",
  kind: "ApiGrant",
  metadata: {
    name: "visa-lookup",
    namespace: "lands-dev",
    uid: "grant-uid",
    generation: 2,
    creationTimestamp: "2026-11-30T00:00:00Z",
  },
  spec: {
    export: { department: "immd", environment: "prod", name: "visa-status" },
    purpose: "Check visa status when processing land applications",
    dataClassification: "RESTRICTED",
    expiresAt: "2027-01-01T00:00:00Z",
  },
};
const apiExport: ApiExport & KubeObject = {
  apiVersion: "govhost.io/v1alpha1",
  kind: "ApiExport",
  metadata: { name: "visa-status", namespace: "immd-prod", uid: "export-uid" },
  spec: {
    eservice: "visa-api",
    basePath: "/v1",
    description: { en: "Visa status", zhHant: "簽證狀態" },
    openApi: "https://visa-api.immd.gov.example/openapi.json",
    dataClassification: "RESTRICTED",
    consumers: { all: false, departments: ["lands"] },
  },
};
const eservice = {
  apiVersion: "govhost.io/v1alpha1",
  kind: "EService",
  metadata: { name: "visa-api", namespace: "immd-prod" },
  spec: { port: 8080 },
} as unknown as EService & KubeObject;
const decision = (overrides: Partial<ApiGrantDecision["spec"]> = {}, created = "2026-11-30T01:00:00Z") =>
  ({
    metadata: { name: `d-${created}`, namespace: "immd-prod", creationTimestamp: created },
    spec: {
      grant: { namespace: "lands-dev", name: "visa-lookup", uid: "grant-uid", generation: 2 },
      export: "visa-status",
      decision: "approved",
      decidedBy: "https://login.gov.example#ada",
      reason: "",
      ...overrides,
    },
  }) as ApiGrantDecision;

const inputs = (overrides: Partial<GrantInputs> = {}): GrantInputs => ({
  grant,
  consumer: { department: "lands", environment: "dev", domains: [] },
  export: apiExport,
  eservice,
  decisions: [decision()],
  gateway: { namespace: "govhost-ingress", className: "govhost" },
  now,
  ...overrides,
});

describe("what an ApiGrant opens", () => {
  it("opens the consumer environment's path to the API gateway, and routes the export there, until expiry", () => {
    const outcome = desiredGrant(inputs());
    expect(outcome.phase).toBe("Active");
    expect(outcome.ready).toMatchObject({ status: "True", reason: "Active" });
    const url = "http://api-gateway.govhost-ingress.svc.cluster.local/immd-prod/visa-status/";
    expect(outcome.ready.message).toContain(url);
    expect(outcome.provider).toEqual({ namespace: "immd-prod", eservice: "visa-api", port: 8080, url });
    expect(outcome.expiresInMs).toBe(Date.parse("2027-01-01T00:00:00Z") - now.getTime());
    // One policy, in the consumer's namespace: egress to the gateway's pods on its API entry point only.
    // Nothing opens the provider's pods to the consumer: a call cannot go around the gateway's count.
    const [toGateway, ...others] = outcome.policies as (KubeObject & { spec: unknown })[];
    expect(others).toEqual([]);
    expect(toGateway?.metadata?.namespace).toBe("lands-dev");
    expect(toGateway?.spec).toEqual({
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [
        {
          to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "govhost-ingress" } } }],
          ports: [{ protocol: "TCP", port: 8081 }],
        },
      ],
    });
    // A platform policy (GH-NET-003 keeps it from tenants), found again by the grant's labels.
    expect(toGateway?.metadata?.labels).toMatchObject({
      "app.kubernetes.io/managed-by": "govhost",
      "govhost.io/api-grant-namespace": "lands-dev",
      "govhost.io/api-grant": "visa-lookup",
    });
    // The route: in the provider's namespace, owned by the export, on the API entry point only, through
    // the check, the token removal and the prefix strip, to the e-service's Service.
    const route = outcome.route as KubeObject & { spec: unknown };
    expect(route.metadata).toMatchObject({
      name: "govhost-api-visa-status",
      namespace: "immd-prod",
      labels: { "govhost.io/api-export": "visa-status" },
      annotations: {
        "traefik.ingress.kubernetes.io/router.entrypoints": "apis",
        "traefik.ingress.kubernetes.io/router.middlewares":
          "govhost-api-auth@file,govhost-api-forward@file,govhost-api-strip@file",
      },
      ownerReferences: [expect.objectContaining({ kind: "ApiExport", uid: "export-uid", controller: true })],
    });
    expect(route.spec).toEqual({
      ingressClassName: "govhost",
      rules: [
        {
          http: {
            paths: [
              {
                path: "/immd-prod/visa-status",
                pathType: "Prefix",
                backend: { service: { name: "visa-api", port: { number: 80 } } },
              },
            ],
          },
        },
      ],
    });
  });

  const closed: [string, Partial<GrantInputs>, string, string][] = [
    ["no decision yet", { decisions: [] }, "Pending", "AwaitingDecision"],
    [
      "a decision about an earlier version of the request",
      { decisions: [decision({ grant: { ...decision().spec.grant, generation: 1 } })] },
      "Pending",
      "AwaitingDecision",
    ],
    [
      "a decision about a deleted grant of the same name",
      { decisions: [decision({ grant: { ...decision().spec.grant, uid: "old-uid" } })] },
      "Pending",
      "AwaitingDecision",
    ],
    [
      "a refusal made after the approval",
      {
        decisions: [
          decision(),
          decision({ decision: "refused", reason: "no legal basis" }, "2026-11-30T02:00:00Z"),
        ],
      },
      "Refused",
      "Refused",
    ],
    ["an expired grant", { now: new Date("2027-01-01T00:00:00Z") }, "Expired", "Expired"],
    [
      "a department the export is not offered to",
      { consumer: { department: "hyd", environment: "dev", domains: [] } },
      "Refused",
      "NotAllowed",
    ],
    ["no such export", { export: undefined }, "Invalid", "ExportNotFound"],
    ["no such e-service", { eservice: undefined }, "Invalid", "EServiceNotFound"],
    [
      "a classification other than the export's",
      { grant: { ...grant, spec: { ...grant.spec, dataClassification: "UNCLASSIFIED" } } },
      "Invalid",
      "ClassificationMismatch",
    ],
    [
      "an expiry more than a year after the request",
      { grant: { ...grant, spec: { ...grant.spec, expiresAt: "2028-01-01T00:00:00Z" } } },
      "Invalid",
      "ExpiryTooFar",
    ],
    ["a namespace that is no department's", { consumer: undefined }, "Invalid", "NotATenantNamespace"],
  ];
  for (const [what, overrides, phase, reason] of closed)
    it(`opens nothing for ${what}`, () => {
      const outcome = desiredGrant(inputs(overrides));
      expect(outcome.policies).toEqual([]);
      expect(outcome.route).toBeUndefined();
      expect(outcome.phase).toBe(phase);
      expect(outcome.ready).toMatchObject({ status: "False", reason });
    });

  it("names who refused and why", () => {
    const outcome = desiredGrant(
      inputs({ decisions: [decision({ decision: "refused", reason: "no legal basis" })] }),
    );
    expect(outcome.ready.message).toBe("Refused by https://login.gov.example#ada: no legal basis");
    expect(outcome.decidedBy).toBe("https://login.gov.example#ada");
  });

  it("lets every department ask when the export is offered to all", () => {
    const open = { ...apiExport, spec: { ...apiExport.spec, consumers: { all: true, departments: [] } } };
    const outcome = desiredGrant(
      inputs({ export: open, consumer: { department: "hyd", environment: "dev", domains: [] } }),
    );
    expect(outcome.phase).toBe("Active");
  });
});

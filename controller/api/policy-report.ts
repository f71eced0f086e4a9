// The wg-policy PolicyReport CRD (wgpolicyk8s.io/v1alpha2), which govhost publishes its background
// compliance results in, so existing policy tooling and dashboards can read them.

const result = {
  type: "object",
  properties: {
    source: { type: "string" },
    policy: { type: "string" },
    rule: { type: "string" },
    category: { type: "string" },
    severity: { type: "string", enum: ["critical", "high", "low", "medium", "info"] },
    timestamp: { type: "object", properties: { seconds: { type: "integer" }, nanos: { type: "integer" } } },
    result: { type: "string", enum: ["pass", "fail", "warn", "error", "skip"] },
    scored: { type: "boolean" },
    message: { type: "string" },
    resources: { type: "array", items: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
    properties: { type: "object", additionalProperties: { type: "string" } },
  },
};

const summary = {
  type: "object",
  properties: Object.fromEntries(
    ["pass", "fail", "warn", "error", "skip"].map((k) => [k, { type: "integer" }]),
  ),
};

function reportCrd(kind: "PolicyReport" | "ClusterPolicyReport", scope: "Namespaced" | "Cluster") {
  const plural = `${kind.toLowerCase()}s`;
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.wgpolicyk8s.io`, labels: { "app.kubernetes.io/part-of": "govhost" } },
    spec: {
      group: "wgpolicyk8s.io",
      scope,
      names: {
        kind,
        listKind: `${kind}List`,
        plural,
        singular: kind.toLowerCase(),
        shortNames: [kind === "PolicyReport" ? "polr" : "cpolr"],
      },
      versions: [
        {
          name: "v1alpha2",
          served: true,
          storage: true,
          additionalPrinterColumns: ["pass", "fail", "warn", "error", "skip"].map((k) => ({
            name: k[0]?.toUpperCase() + k.slice(1),
            type: "integer",
            jsonPath: `.summary.${k}`,
          })),
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                scope: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                scopeSelector: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
                summary,
                results: { type: "array", items: result },
              },
            },
          },
        },
      ],
    },
  };
}

export const policyReportCrds = [
  reportCrd("PolicyReport", "Namespaced"),
  reportCrd("ClusterPolicyReport", "Cluster"),
];

import { describe, expect, it } from "vitest";
import type { Department } from "../../controller/api/department.ts";
import { childNames, renderTenant } from "../../controller/tenancy/desired.ts";
import { defaultTenancySettings } from "../../controller/tenancy/settings.ts";

// The NetworkPolicies of a tenant namespace, as rendered. That they are enforced is proven on the real node
// (tests/integration/tenant-isolation-node.test.ts).

const department = {
  apiVersion: "govhost.io/v1alpha1",
  kind: "Department",
  metadata: { name: "lands", uid: "0f0e" },
  spec: {
    displayName: { en: "Lands Department", zhHant: "地政總署" },
    environments: ["prod"],
    maxDataClassification: "RESTRICTED",
    groups: { admins: ["lands-admins"], developers: [], viewers: [] },
  },
} as unknown as Department;

function dnsPolicy(clusterDnsCidrs: string[]) {
  const [prod] = renderTenant(department, { ...defaultTenancySettings, clusterDnsCidrs });
  const policy = prod?.objects.find((o) => o.kind === "NetworkPolicy" && o.metadata?.name === childNames.dns);
  return (policy as { spec: { egress: { to: unknown[]; ports: unknown[] }[] } }).spec;
}

describe("a tenant namespace's DNS policy", () => {
  it("allows cluster DNS pods in kube-system on port 53 only", () => {
    const spec = dnsPolicy([]);
    expect(spec.egress).toHaveLength(1);
    expect(spec.egress[0]?.to).toEqual([
      {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
        podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
      },
    ]);
    expect(spec.egress[0]?.ports).toEqual([
      { protocol: "UDP", port: 53 },
      { protocol: "TCP", port: 53 },
    ]);
  });

  it("also allows DNS that runs outside pods (GOVHOST_CLUSTER_DNS_CIDRS), still on port 53 only", () => {
    const spec = dnsPolicy(["10.250.0.1/32"]);
    expect(spec.egress).toHaveLength(1);
    expect(spec.egress[0]?.to).toContainEqual({ ipBlock: { cidr: "10.250.0.1/32" } });
    expect(spec.egress[0]?.ports).toHaveLength(2);
  });
});

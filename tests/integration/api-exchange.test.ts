import { beforeAll, describe, expect, it } from "vitest";
import type { ApiGrant } from "../../controller/api/api-exchange.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import {
  compliantPodSpec,
  departmentManifest,
  isReady,
  rejection,
  useAdminAndController,
  waitForDepartment,
} from "./support/govhost.ts";
import { eventually, uniqueName } from "./support/kube.ts";

// API exchange against the real API server and the real controller, as an attacker would try it: a consumer
// stretching its approved request, a decision forged in the consumer's own namespace, a department the API
// is not offered to, a refusal after an approval, and the grant deleted while its path is open. What must
// happen on the wire is proven with real pods in tenant-isolation-node.test.ts; here, which
// NetworkPolicies exist.

type Grant = KubeObject & ApiGrant;

const env = useAdminAndController();
const provider = uniqueName("apip");
const consumer = uniqueName("apic");
const stranger = uniqueName("apis");
const providerNs = `${provider}-prod`;
const consumerNs = `${consumer}-dev`;
let providerAdmin: KubeClient;
let consumerAdmin: KubeClient;

const inAYear = () => new Date(Date.now() + 300 * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z");

function grantManifest(namespace: string, name: string, expiresAt = inAYear()): Grant {
  return {
    apiVersion: "govhost.io/v1alpha1",
    kind: "ApiGrant",
    metadata: { name, namespace },
    spec: {
      export: { department: provider, environment: "prod", name: "records-api" },
      purpose: "Look up case records when processing appeals",
      dataClassification: "RESTRICTED",
      expiresAt,
    },
  };
}

async function decide(
  grant: Grant,
  decision: "approved" | "refused",
  namespace = providerNs,
  client = providerAdmin,
  decidedBy = "pat",
) {
  return client.create({
    apiVersion: "govhost.io/v1alpha1",
    kind: "ApiGrantDecision",
    metadata: { name: `${grant.metadata?.name}-${decision}-${grant.metadata?.generation}`, namespace },
    spec: {
      grant: {
        namespace: grant.metadata?.namespace,
        name: grant.metadata?.name,
        uid: grant.metadata?.uid,
        generation: grant.metadata?.generation,
      },
      export: "records-api",
      decision,
      decidedBy,
      reason: decision === "refused" ? "No legal basis for bulk lookups" : "",
    },
  });
}

const phaseOf = async (namespace: string, name: string) =>
  (await env.admin.get<Grant>(resources.apiGrant, name, namespace)).status;

function waitForPhase(namespace: string, name: string, phase: string, reason?: string) {
  return eventually(`grant ${namespace}/${name} to be ${phase}`, async () => {
    const grant = await env.admin.get<Grant>(resources.apiGrant, name, namespace);
    const ready = grant.status?.conditions?.find((c) => c.type === "Ready");
    return grant.status?.phase === phase &&
      grant.status.observedGeneration === grant.metadata?.generation &&
      (!reason || ready?.reason === reason)
      ? grant
      : undefined;
  });
}

/** The NetworkPolicies opened for a grant, wherever they are, by name. */
async function policiesOf(namespace: string, name: string): Promise<string[]> {
  const list = await env.admin.list<KubeObject>(resources.networkPolicy, {
    labelSelector: `govhost.io/api-grant-namespace=${namespace},govhost.io/api-grant=${name}`,
  });
  return list.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`).sort();
}

const waitForPolicies = (namespace: string, name: string, expected: string[]) =>
  eventually(`the policies of ${namespace}/${name} to be [${expected.join(", ")}]`, async () => {
    const now = await policiesOf(namespace, name);
    return JSON.stringify(now) === JSON.stringify([...expected].sort()) ? true : undefined;
  });

beforeAll(async () => {
  await env.admin.create(departmentManifest(provider, { environments: ["prod"] }));
  await env.admin.create(departmentManifest(consumer, { environments: ["dev"] }));
  await env.admin.create(departmentManifest(stranger, { environments: ["dev"] }));
  for (const dept of [provider, consumer, stranger])
    await waitForDepartment(env.admin, dept, isReady, "ready");
  providerAdmin = env.admin.impersonating({ user: "pat", groups: [`${provider}-admins`] });
  consumerAdmin = env.admin.impersonating({ user: "cho", groups: [`${consumer}-admins`] });
  const spec = compliantPodSpec() as { containers: { image: string }[] };
  await providerAdmin.create({
    apiVersion: "govhost.io/v1alpha1",
    kind: "EService",
    metadata: { name: "records", namespace: providerNs },
    spec: {
      image: spec.containers[0]?.image,
      exposure: "internal",
      replicas: 1,
      port: 8443,
      displayName: { en: "Case records", zhHant: "個案紀錄" },
    },
  });
  await providerAdmin.create({
    apiVersion: "govhost.io/v1alpha1",
    kind: "ApiExport",
    metadata: { name: "records-api", namespace: providerNs },
    spec: {
      eservice: "records",
      description: { en: "Case records by case number", zhHant: "按個案編號查詢紀錄" },
      openApi: `https://records.${provider}.gov.example/openapi.json`,
      dataClassification: "RESTRICTED",
      consumers: { all: false, departments: [consumer] },
    },
  });
}, 120_000);

describe("an approved grant opens exactly its path, and only while it stands as decided", () => {
  let grant: Grant;
  const opened = [
    `${providerNs}/govhost-api-from-${consumerNs}-appeals`,
    `${consumerNs}/govhost-api-to-appeals`,
  ];

  it("opens the provider's pods to the consumer environment on the e-service's port once approved", async () => {
    grant = await consumerAdmin.create<Grant>(grantManifest(consumerNs, "appeals"));
    await waitForPhase(consumerNs, "appeals", "Pending", "AwaitingDecision");
    expect(await policiesOf(consumerNs, "appeals")).toEqual([]);
    await decide(grant, "approved");
    const active = await waitForPhase(consumerNs, "appeals", "Active");
    expect(active.status?.decidedBy).toBe("pat");
    expect(active.status?.provider).toEqual({ namespace: providerNs, eservice: "records", port: 8443 });
    await waitForPolicies(consumerNs, "appeals", opened);
    const providerSide = await env.admin.get<KubeObject & { spec: unknown }>(
      resources.networkPolicy,
      `govhost-api-from-${consumerNs}-appeals`,
      providerNs,
    );
    expect(providerSide.spec).toEqual({
      podSelector: { matchLabels: { "govhost.io/eservice": "records" } },
      policyTypes: ["Ingress"],
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": consumerNs } } }],
          ports: [{ protocol: "TCP", port: 8443 }],
        },
      ],
    });
  });

  it("closes again when the consumer stretches the approved request (a later expiry needs a new decision)", async () => {
    const stretched = await consumerAdmin.mergePatch<Grant>(
      resources.apiGrant,
      "appeals",
      { spec: { expiresAt: new Date(Date.now() + 360 * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z") } },
      { namespace: consumerNs },
    );
    expect(stretched.metadata?.generation).toBe((grant.metadata?.generation ?? 0) + 1);
    await waitForPhase(consumerNs, "appeals", "Pending", "AwaitingDecision");
    await waitForPolicies(consumerNs, "appeals", []);
    grant = stretched;
  });

  it("ignores a decision the consumer's admin writes in its own namespace, and refuses one in the provider's", async () => {
    // Admission lets the consumer's admin decide in its own namespace (it is an admin there, in its own
    // name), but the controller only counts decisions beside the export.
    await decide(grant, "approved", consumerNs, consumerAdmin, "cho");
    const inProvider = await rejection(decide(grant, "approved", providerNs, consumerAdmin, "cho"));
    expect(inProvider.code).toBe(403);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect((await phaseOf(consumerNs, "appeals"))?.phase).toBe("Pending");
    expect(await policiesOf(consumerNs, "appeals")).toEqual([]);
  });

  it("opens on a decision about the request as it now stands, and closes on a later refusal", async () => {
    await decide(grant, "approved");
    await waitForPhase(consumerNs, "appeals", "Active");
    await waitForPolicies(consumerNs, "appeals", opened);
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // a later creationTimestamp (seconds)
    await providerAdmin.create({
      apiVersion: "govhost.io/v1alpha1",
      kind: "ApiGrantDecision",
      metadata: { name: "appeals-withdrawn", namespace: providerNs },
      spec: {
        grant: {
          namespace: consumerNs,
          name: "appeals",
          uid: grant.metadata?.uid,
          generation: grant.metadata?.generation,
        },
        export: "records-api",
        decision: "refused",
        decidedBy: "pat",
        reason: "Access withdrawn after the audit",
      },
    });
    const refused = await waitForPhase(consumerNs, "appeals", "Refused", "Refused");
    expect(refused.status?.conditions?.find((c) => c.type === "Ready")?.message).toBe(
      "Refused by pat: Access withdrawn after the audit",
    );
    await waitForPolicies(consumerNs, "appeals", []);
  });

  it("closes the provider's side too when the consumer deletes an open grant", async () => {
    const second = await consumerAdmin.create<Grant>(grantManifest(consumerNs, "bulk"));
    await decide(second, "approved");
    await waitForPhase(consumerNs, "bulk", "Active");
    await waitForPolicies(consumerNs, "bulk", [
      `${providerNs}/govhost-api-from-${consumerNs}-bulk`,
      `${consumerNs}/govhost-api-to-bulk`,
    ]);
    await consumerAdmin.delete(resources.apiGrant, "bulk", consumerNs);
    await waitForPolicies(consumerNs, "bulk", []);
  });
});

describe("who may ask", () => {
  it("refuses a department the API is not offered to, even with an approval", async () => {
    const strangerNs = `${stranger}-dev`;
    const strangerAdmin = env.admin.impersonating({ user: "sam", groups: [`${stranger}-admins`] });
    const grant = await strangerAdmin.create<Grant>(grantManifest(strangerNs, "records"));
    await decide(grant, "approved");
    await waitForPhase(strangerNs, "records", "Refused", "NotAllowed");
    expect(await policiesOf(strangerNs, "records")).toEqual([]);
  });

  it("marks a grant that understates the API's classification invalid", async () => {
    const understated = grantManifest(consumerNs, "understated");
    understated.spec = { ...understated.spec, dataClassification: "UNCLASSIFIED" };
    const grant = await consumerAdmin.create<Grant>(understated);
    await decide(grant, "approved");
    await waitForPhase(consumerNs, "understated", "Invalid", "ClassificationMismatch");
    expect(await policiesOf(consumerNs, "understated")).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiGrant } from "../../controller/api/api-exchange.ts";
import { apiGateway } from "../../controller/api/api-gateway.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { freePort } from "../../tools/cluster/ports.ts";
import type { ControllerProcess } from "../../tools/controller-process.ts";
import { startController } from "./support/controller-process.ts";
import {
  client,
  compliantPodSpec,
  departmentManifest,
  isReady,
  rejection,
  waitForDepartment,
  waitForQuotaToCount,
} from "./support/govhost.ts";
import { eventually, uniqueName } from "./support/kube.ts";

// API exchange against the real API server and the real controller, as an attacker would try it: a consumer
// stretching its approved request, a decision forged in the consumer's own namespace, a department the API
// is not offered to, a refusal after an approval, and the grant deleted while its path is open; then the
// gateway's check of each call (real service-account tokens, reviewed by the API server): who gets through,
// and that every call let through is counted exactly once, across a controller killed and restarted. What
// must happen on the wire (through Traefik, between real pods) is proven in tenant-isolation-node.test.ts.

type Grant = KubeObject & ApiGrant;

const env = {} as { admin: KubeClient; controller: ControllerProcess; checkPort: number };
const startWithCheck = () =>
  startController({
    env: {
      GOVHOST_API_GATEWAY_CHECK_HOST: "127.0.0.1",
      GOVHOST_API_GATEWAY_CHECK_PORT: String(env.checkPort),
    },
  });
beforeAll(async () => {
  env.admin = await client();
  env.checkPort = await freePort();
  env.controller = await startWithCheck();
});
afterAll(async () => {
  await env.controller?.stop();
  env.admin?.close();
});
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
  exportName = "records-api",
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
      export: exportName,
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
  // On a fresh cluster (this file run alone) the quota controller needs a moment to count the CRD.
  await waitForQuotaToCount(env.admin, providerNs, "count/eservices.govhost.io");
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
  const opened = [`${consumerNs}/govhost-api-to-appeals`];

  it("opens the consumer environment's path to the API gateway once approved, and routes the export there", async () => {
    grant = await consumerAdmin.create<Grant>(grantManifest(consumerNs, "appeals"));
    await waitForPhase(consumerNs, "appeals", "Pending", "AwaitingDecision");
    expect(await policiesOf(consumerNs, "appeals")).toEqual([]);
    await decide(grant, "approved");
    const active = await waitForPhase(consumerNs, "appeals", "Active");
    expect(active.status?.decidedBy).toBe("pat");
    expect(active.status?.provider).toEqual({
      namespace: providerNs,
      eservice: "records",
      port: 8443,
      url: `http://api-gateway.govhost-ingress.svc.cluster.local/${providerNs}/records-api/`,
    });
    await waitForPolicies(consumerNs, "appeals", opened);
    const toGateway = await env.admin.get<KubeObject & { spec: unknown }>(
      resources.networkPolicy,
      "govhost-api-to-appeals",
      consumerNs,
    );
    expect(toGateway.spec).toEqual({
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [
        {
          to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "govhost-ingress" } } }],
          ports: [{ protocol: "TCP", port: apiGateway.containerPort }],
        },
      ],
    });
    // Nothing in the provider's namespace lets the consumer's pods in: calls go through the gateway.
    const intoProvider = await env.admin.list<KubeObject>(resources.networkPolicy, { namespace: providerNs });
    expect(intoProvider.items.length).toBeGreaterThan(0);
    for (const policy of intoProvider.items) expect(JSON.stringify(policy)).not.toContain(consumerNs);
    const route = await env.admin.get<KubeObject & { spec: { rules: unknown[] } }>(
      resources.ingress,
      "govhost-api-records-api",
      providerNs,
    );
    expect(route.metadata?.annotations?.["traefik.ingress.kubernetes.io/router.entrypoints"]).toBe("apis");
    expect(route.spec.rules).toEqual([
      {
        http: {
          paths: [
            {
              path: `/${providerNs}/records-api`,
              pathType: "Prefix",
              backend: { service: { name: "records", port: { number: 80 } } },
            },
          ],
        },
      },
    ]);
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

  it("closes the path when the consumer deletes an open grant", async () => {
    const second = await consumerAdmin.create<Grant>(grantManifest(consumerNs, "bulk"));
    await decide(second, "approved");
    await waitForPhase(consumerNs, "bulk", "Active");
    await waitForPolicies(consumerNs, "bulk", [`${consumerNs}/govhost-api-to-bulk`]);
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

describe("a provider with no room for the export's route", () => {
  it("says so on the grant, and opens nothing", async () => {
    const tight = uniqueName("apiq");
    await env.admin.create(
      departmentManifest(tight, {
        environments: ["prod"],
        quota: { cpu: "4", memory: "8Gi", storage: "10Gi", pods: 10, eServices: 5, publicEndpoints: 0 },
      }),
    );
    await waitForDepartment(env.admin, tight, isReady, "ready");
    const tightAdmin = env.admin.impersonating({ user: "tia", groups: [`${tight}-admins`] });
    await waitForQuotaToCount(env.admin, `${tight}-prod`, "count/eservices.govhost.io");
    const spec = compliantPodSpec() as { containers: { image: string }[] };
    await tightAdmin.create({
      apiVersion: "govhost.io/v1alpha1",
      kind: "EService",
      metadata: { name: "ledger", namespace: `${tight}-prod` },
      spec: {
        image: spec.containers[0]?.image,
        exposure: "internal",
        replicas: 1,
        displayName: { en: "Ledger", zhHant: "分類帳" },
      },
    });
    await tightAdmin.create({
      apiVersion: "govhost.io/v1alpha1",
      kind: "ApiExport",
      metadata: { name: "ledger-api", namespace: `${tight}-prod` },
      spec: {
        eservice: "ledger",
        description: { en: "Ledger entries", zhHant: "分類帳記項" },
        openApi: `https://ledger.${tight}.gov.example/openapi.json`,
        dataClassification: "RESTRICTED",
        consumers: { all: true, departments: [] },
      },
    });
    const manifest = grantManifest(consumerNs, "ledger");
    manifest.spec = {
      ...manifest.spec,
      export: { department: tight, environment: "prod", name: "ledger-api" },
    };
    const grant = await consumerAdmin.create<Grant>(manifest);
    await decide(grant, "approved", `${tight}-prod`, tightAdmin, "tia", "ledger-api");
    const refused = await waitForPhase(consumerNs, "ledger", "Pending", "GatewayRouteRefused");
    expect(refused.status?.conditions?.find((c) => c.type === "Ready")?.message).toMatch(
      /^Approved by tia, but the export's route at the API gateway was refused in .*exceeded quota/,
    );
    expect(await policiesOf(consumerNs, "ledger")).toEqual([]);
  });
});

describe("the API gateway's check of each call (real service-account tokens, reviewed by the API server)", () => {
  const verify = (uri: string, token?: string, extra: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${env.checkPort}${apiGateway.verifyPath}`, {
      headers: { "x-forwarded-uri": uri, ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra },
    });
  const path = `/${providerNs}/records-api/cases/42`;
  /** A token the API server issues to a service account of `namespace`, for `audience`. */
  async function tokenFor(namespace: string, audience: string = apiGateway.audience): Promise<string> {
    await env.admin
      .create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "caller", namespace } })
      .catch(() => undefined);
    const request = await env.admin.call<{ status: { token: string } }>(
      "POST",
      `/api/v1/namespaces/${namespace}/serviceaccounts/caller/token`,
      {
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { audiences: [audience], expirationSeconds: 600 },
        },
      },
    );
    return request.status.token;
  }
  const callsOf = async (name: string) =>
    (await env.admin.get<Grant>(resources.apiGrant, name, consumerNs)).status?.calls;
  let consumerToken = "";

  beforeAll(async () => {
    const grant = await consumerAdmin.create<Grant>(grantManifest(consumerNs, "calls"));
    await decide(grant, "approved");
    await waitForPhase(consumerNs, "calls", "Active");
    consumerToken = await tokenFor(consumerNs);
  });

  it("refuses a call with no token, a token for another audience, no grant, or not an API path", async () => {
    const noToken = await verify(path);
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get("content-type")).toBe("application/problem+json");
    expect((await noToken.json()).detail).toContain("audience govhost-api-gateway");
    // A token the API server would accept for itself is not one for the gateway.
    expect((await verify(path, await tokenFor(consumerNs, "https://kubernetes.default.svc"))).status).toBe(
      401,
    );
    expect((await verify(path, `${consumerToken.slice(0, -4)}AAAA`)).status).toBe(401);
    // The stranger's grant was refused (the API is not offered to it); the consumer has no grant for
    // another export of the provider.
    const fromStranger = await verify(path, await tokenFor(`${stranger}-dev`));
    expect(fromStranger.status).toBe(403);
    expect((await fromStranger.json()).detail).toContain(`ApiGrant records in ${stranger}-dev is Refused`);
    const otherExport = await verify(`/${providerNs}/payroll-api/`, consumerToken);
    expect(otherExport.status).toBe(403);
    expect((await otherExport.json()).detail).toContain("has no ApiGrant");
    expect((await verify("/", consumerToken)).status).toBe(400);
  });

  it("lets a granted caller through with its identity, counting every call exactly once, across a controller killed and restarted", {
    timeout: 120_000,
  }, async () => {
    const before = (await callsOf("calls"))?.allowed ?? 0;
    const burst = async (n: number) => {
      const answers = await Promise.all(
        Array.from({ length: n }, () =>
          verify(path, consumerToken, { [apiGateway.consumerHeader]: "someone-else" }),
        ),
      );
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(answer.headers.get(apiGateway.consumerHeader)).toBe(consumerNs);
        expect(answer.headers.get(apiGateway.grantHeader)).toBe("calls");
      }
    };
    await burst(25);
    // Written before the gateway was answered: no waiting.
    expect((await callsOf("calls"))?.allowed).toBe(before + 25);
    await env.controller.kill();
    env.controller = await startWithCheck();
    await burst(15);
    const calls = await callsOf("calls");
    expect(calls?.allowed).toBe(before + 40);
    expect(Date.parse(calls?.lastCallAt ?? "")).toBeGreaterThan(Date.now() - 60_000);
  });

  it("refuses, and counts as refused, calls once the consumer edits its approved grant", async () => {
    const refusedBefore = (await callsOf("calls"))?.refused ?? 0;
    await consumerAdmin.mergePatch<Grant>(
      resources.apiGrant,
      "calls",
      { spec: { purpose: "Look up case records, and now also bulk exports" } },
      { namespace: consumerNs },
    );
    // Refused at once: the grant's reported phase was for the request before the edit.
    const answer = await verify(path, consumerToken);
    expect(answer.status).toBe(403);
    expect((await answer.json()).title).toBe("Grant not active");
    expect((await callsOf("calls"))?.refused).toBe(refusedBefore + 1);
  });
});

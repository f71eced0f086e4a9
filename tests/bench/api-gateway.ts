// Benchmark: the controller's check of each call at the API gateway (Traefik's forwardAuth, issue #21) under
// autocannon at fixed rates: one consumer environment with an approved grant, a real projected-style token
// (TokenRequest) reviewed by the API server, every call counted in the grant's status before it is let
// through. Prints latency percentiles and throughput per rate, the controller's CPU per 1,000 calls, and
// whether the stored count equals the calls answered 200 (it must, under load too).
//   npm run bench -- api-gateway [--seconds 10] [--rates 100,200,400,800]
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import type { ApiGrant } from "../../controller/api/api-exchange.ts";
import { apiGateway } from "../../controller/api/api-gateway.ts";
import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { freePort } from "../../tools/cluster/ports.ts";
import { spawnController } from "../../tools/controller-process.ts";
import { departmentManifest } from "../fixtures/departments.ts";
import { waitFor, waitForEServiceQuota, withBenchCluster } from "./_cluster.ts";
import { cpuSeconds } from "./_process.ts";
import { report } from "./_stats.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    rates: { type: "string", default: "100,200,400,800" },
  },
});
const seconds = Number(values.seconds);

type Grant = ApiGrant & KubeObject;

await withBenchCluster("api-gateway", async ({ admin, controllerKubeconfig }) => {
  const checkPort = await freePort();
  const controller = await spawnController({
    kubeconfig: controllerKubeconfig,
    env: { GOVHOST_API_GATEWAY_CHECK_HOST: "127.0.0.1", GOVHOST_API_GATEWAY_CHECK_PORT: String(checkPort) },
  });
  try {
    await admin.create(departmentManifest("prov", { environments: ["prod"] }));
    await admin.create(departmentManifest("cons", { environments: ["prod"] }));
    await waitForEServiceQuota(admin, "prov-prod");
    await admin.create({
      apiVersion: "govhost.io/v1alpha1",
      kind: "EService",
      metadata: { name: "permits", namespace: "prov-prod" },
      spec: {
        image: "registry.gov.example/bench/permits:1.0.0",
        exposure: "internal",
        replicas: 1,
        displayName: { en: "Permits", zhHant: "許可證" },
      },
    });
    await admin.create({
      apiVersion: "govhost.io/v1alpha1",
      kind: "ApiExport",
      metadata: { name: "permits-api", namespace: "prov-prod" },
      spec: {
        eservice: "permits",
        description: { en: "Permits", zhHant: "許可證" },
        openApi: "https://permits.prov.gov.example/openapi.json",
        dataClassification: "RESTRICTED",
        consumers: { all: true, departments: [] },
      },
    });
    const grant = await admin.create<Grant>({
      apiVersion: "govhost.io/v1alpha1",
      kind: "ApiGrant",
      metadata: { name: "permits", namespace: "cons-prod" },
      spec: {
        export: { department: "prov", environment: "prod", name: "permits-api" },
        purpose: "Benchmark the API gateway's check",
        dataClassification: "RESTRICTED",
        expiresAt: new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d+Z$/, "Z"),
      },
    });
    // Decided by a provider admin in their own name (GH-API-001).
    await admin.impersonating({ user: "pat", groups: ["prov-admins"] }).create({
      apiVersion: "govhost.io/v1alpha1",
      kind: "ApiGrantDecision",
      metadata: { name: "permits-approved", namespace: "prov-prod" },
      spec: {
        grant: {
          namespace: "cons-prod",
          name: "permits",
          uid: grant.metadata.uid,
          generation: grant.metadata.generation,
        },
        export: "permits-api",
        decision: "approved",
        decidedBy: "pat",
        reason: "",
      },
    });
    await waitFor("the grant to be active", async () => {
      const now = await admin.get<Grant>(resources.apiGrant, "permits", "cons-prod");
      return now.status?.phase === "Active" ? true : undefined;
    });
    await admin
      .create({
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "caller", namespace: "cons-prod" },
      })
      .catch(() => undefined);
    const { status } = await admin.call<{ status: { token: string } }>(
      "POST",
      "/api/v1/namespaces/cons-prod/serviceaccounts/caller/token",
      {
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: { audiences: [apiGateway.audience], expirationSeconds: 3600 },
        },
      },
    );
    const options = {
      url: `http://127.0.0.1:${checkPort}${apiGateway.verifyPath}`,
      headers: {
        authorization: `Bearer ${status.token}`,
        "x-forwarded-uri": "/prov-prod/permits-api/v1/permits/42",
      },
      duration: seconds,
      connections: 32,
    };
    const pid = controller.process.pid as number;
    const rows: Record<string, string> = {};
    const rates = values.rates.split(",").map(Number);
    let answered200 = 0;
    let cpu = 0;
    for (const rate of rates) {
      const before = cpuSeconds(pid);
      const result = await autocannon({ ...options, overallRate: rate });
      const used = cpuSeconds(pid) - before;
      cpu += used;
      answered200 += result["2xx"];
      const errors = result.errors + result.timeouts + result.non2xx;
      rows[`${rate} calls/s`] =
        `achieved ${result.requests.average.toFixed(0)}/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, errors/non-2xx ${errors}, controller CPU ${((used / result.requests.total) * 1000).toFixed(2)} s per 1,000 calls`;
    }
    report(`API gateway check: GET ${apiGateway.verifyPath} (${seconds} s per rate, 32 connections)`, rows);
    const counted = (await admin.get<Grant>(resources.apiGrant, "permits", "cons-prod")).status?.calls;
    // Each run stops with up to `connections` calls in flight: already counted (the count is written before
    // the answer), but their answers are never read. So the stored count may exceed the 200s by at most that.
    const inFlightAtStops = options.connections * rates.length;
    const beyond = (counted?.allowed ?? 0) - answered200;
    report("counting", {
      "calls answered 200": answered200,
      "calls counted allowed in the grant's status": counted?.allowed ?? 0,
      "counted beyond the 200s read": `${beyond} (at most ${inFlightAtStops} were in flight when the runs stopped)`,
      "consistent (0 <= beyond <= in flight)": beyond >= 0 && beyond <= inFlightAtStops ? "yes" : "NO",
      "controller CPU, all rates": `${cpu.toFixed(1)} s`,
    });
  } finally {
    await controller.stop();
  }
});

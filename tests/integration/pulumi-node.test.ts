import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  apiGateway,
  entryPointsAnnotation,
  middlewaresAnnotation,
  routeMiddlewares,
} from "../../controller/api/api-gateway.ts";
import { platformDefaults } from "../../controller/api/defaults.ts";
import { prefixRule } from "../../controller/api/ingress-rule.ts";
import { controllerIdentity, controllerLeaseName } from "../../controller/api/rbac.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import type { CloudState } from "../../tools/cluster/cloud.ts";
import { type LocalPaths, loadCloudState, stopLocalControlPlane } from "../../tools/cluster/local.ts";
import { localIngress } from "../../tools/cluster/node/ingress.ts";
import { readNodeLock } from "../../tools/cluster/node/lock.ts";
import { nodeNetwork } from "../../tools/cluster/node/network.ts";
import { localPrometheus, prometheusUrl } from "../../tools/cluster/node/prometheus.ts";
import { localStackBaseline } from "../../tools/install-platform.ts";
import { loginAs } from "../../tools/oidc/login.ts";
import { type LocalProvider, startLocalProvider } from "../../tools/oidc/provider.ts";
import { type ChangeSummary, runStack, type StackOperation } from "../../tools/pulumi.ts";
import { ensurePulumiBinaries, missingPulumiGroups } from "../../tools/upstream/binaries.ts";
import { departmentManifest, isReady, waitForDepartment } from "./support/govhost.ts";
import { getThroughIngress } from "./support/ingress.ts";
import { eventually } from "./support/kube.ts";
import { adminOf, govhostLinks, hostPidOfController } from "./support/node.ts";

// The platform as platform operators install it, from nothing: `pulumi up` on a local stack with no cluster
// running starts the local cloud with its node (a resource of the stack), builds this checkout's govhost image
// and pushes it to the cloud's registry, and deploys the controller and the portal API from it, waiting until
// they are ready; Prometheus scrapes them; people reach the API through the ingress controller with a real
// token; when the leading controller is killed the standby takes over and reconciles the next Department; the
// API gateway's checks reach the leader; the audit log outlives the API's pod; a second up changes nothing;
// destroy removes the Departments made through the API, the platform and the cloud, and leaves the machine as
// it found it.

const minutes = 60_000;
const namespace = controllerIdentity.namespace;
const apiHost = "api.gov.example";

let dir: string;
let paths: LocalPaths;
let admin: KubeClient;
let provider: LocalProvider;
let ca: Buffer;
let created = 0;
let stackConfig: Record<string, string>;
let linksBefore: string[];

beforeAll(async () => {
  const missing = missingPulumiGroups();
  if (missing.length > 0)
    process.stderr.write(`pulumi-node test: waiting for ${missing.join(", ")} to be built\n`);
  await ensurePulumiBinaries();
}, 45 * minutes);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "govhost-pulumi-node-"));
  const cloudDir = join(dir, "cloud");
  paths = { state: join(cloudDir, "cluster.json"), kubeconfig: join(cloudDir, "kubeconfig") };
  linksBefore = govhostLinks();
  // The OpenID provider listens on every address, as the node's does not exist before the up; its issuer
  // names the node's address, which the API's pod reaches once the node runs.
  provider = await startLocalProvider({
    host: "0.0.0.0",
    issuerHost: nodeNetwork.nodeIp,
    audience: platformDefaults.apiAudience,
  });
  mkdirSync(join(dir, "stack"));
  stackConfig = {
    "govhost:clusterMode": "local",
    "govhost:localCloudDir": cloudDir,
    "govhost:allowedRegistries": JSON.stringify(localStackBaseline.allowedRegistries),
    "govhost:oidcIssuer": provider.issuer,
    "govhost:oidcAllowHttp": "true",
    "govhost:apiHost": apiHost,
  };
}, 5 * minutes);

afterAll(async () => {
  await provider?.close();
  admin?.close();
  // Only when a step failed before destroy: the cloud must not outlive the test.
  const stopped = await stopLocalControlPlane(() => {}, paths);
  if (dir) rmSync(dir, { recursive: true, force: true });
  expect(stopped?.problems ?? []).toEqual([]);
}, 5 * minutes);

function pulumi(operation: StackOperation): Promise<ChangeSummary> {
  return runStack({
    operation,
    stack: "node-e2e",
    workDir: join(dir, "stack"),
    stateDir: join(dir, "state"),
    config: stackConfig,
  });
}

async function callApi(token: string, method: string, path: string, body?: unknown) {
  const response = await getThroughIngress(apiHost, path, ca, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return {
    status: response.status,
    body: response.body ? (JSON.parse(response.body) as unknown) : undefined,
  };
}

interface AuditRecordView {
  seq: number;
  hash: string;
  action: string;
  result?: { detail?: string };
}

interface Lease extends KubeObject {
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    leaseTransitions?: number;
    acquireTime?: string;
    renewTime?: string;
  };
}

/** How often a standby replica looks at the lease (controller/runtime/leader.ts's default retry period). */
const leaderRetrySeconds = 2;

interface DeploymentStatus extends KubeObject {
  status?: { readyReplicas?: number; availableReplicas?: number };
}

/** Prometheus's pod as the kubelet reports it, and the last lines it logged. */
async function prometheusDiagnostics(): Promise<string> {
  const pods = await admin.list<KubeObject & { status?: unknown }>(resources.pod, {
    namespace: localPrometheus.namespace,
    labelSelector: `app.kubernetes.io/name=${localPrometheus.name}`,
  });
  const lines = [];
  for (const pod of pods.items) {
    lines.push(`pod ${pod.metadata?.name}: ${JSON.stringify(pod.status)}`);
    const log = await admin
      .call<string>(
        "GET",
        `/api/v1/namespaces/${localPrometheus.namespace}/pods/${pod.metadata?.name}/log?tailLines=30`,
      )
      .catch((error: unknown) => `(no log: ${String(error)})`);
    lines.push(typeof log === "string" ? log : JSON.stringify(log));
  }
  return lines.join("\n") || "no Prometheus pod";
}

describe("pulumi up on the local cloud with its node", () => {
  it(
    "with no cluster running, starts the local cloud and its node, pushes this checkout's image and deploys the controller and the portal API from it, waiting until they are ready",
    async () => {
      expect(loadCloudState(paths)).toBeUndefined();
      const started = Date.now();
      const first = await pulumi("up");
      process.stderr.write(
        `pulumi-node: up from nothing took ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
      );
      expect(Object.keys(first)).toEqual(["create"]);
      created = first.create ?? 0;
      expect(created).toBeGreaterThan(50);
      const cloud = loadCloudState(paths) as CloudState;
      expect(cloud.node, cloud.nodeAbsent).toBeDefined();
      admin = await adminOf(cloud);
      ca = readFileSync(cloud.pki.caCert);
      // The stack's own image, pinned by digest, from the cloud's registry.
      const deployment = await admin.get<
        DeploymentStatus & { spec: { template: { spec: { containers: { image: string }[] } } } }
      >(resources.deployment, "govhost-portal-api", namespace);
      expect(deployment.spec.template.spec.containers[0]?.image).toMatch(
        /^registry\.govhost\.local\/govhost\/govhost:[^@]+@sha256:[0-9a-f]{64}$/,
      );
      // Pulumi waited for readiness: nothing left to wait for here.
      const controller = await admin.get<DeploymentStatus>(
        resources.deployment,
        "govhost-controller",
        namespace,
      );
      expect(controller.status?.readyReplicas).toBe(2);
      const api = await admin.get<DeploymentStatus>(resources.deployment, "govhost-portal-api", namespace);
      expect(api.status?.readyReplicas).toBe(1);
    },
    20 * minutes,
  );

  it(
    "is scraped by the cluster's Prometheus, which finds the platform's pods by their annotations: both controller replicas and the portal API up, one leader",
    async () => {
      const url = await eventually("Prometheus running", () => prometheusUrl(admin), 3 * minutes);
      const query = async (promql: string): Promise<number | undefined> => {
        const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
        const body = (await response.json()) as { data?: { result?: { value: [number, string] }[] } };
        const value = body.data?.result?.[0]?.value[1];
        return value === undefined ? undefined : Number(value);
      };
      const controllers = 'up{namespace="govhost-system",app="govhost-controller"}';
      const figures = await eventually(
        "both controller replicas and the portal API scraped",
        async () => {
          const seen = {
            controllersUp: await query(`count(${controllers} == 1)`),
            portalApiUp: await query('sum(up{namespace="govhost-system",app="govhost-portal-api"})'),
            leaders: await query('sum(govhost_leader_is_leader{namespace="govhost-system"})'),
          };
          return seen.controllersUp === 2 && seen.portalApiUp === 1 && seen.leaders !== undefined
            ? seen
            : undefined;
        },
        3 * minutes,
      ).catch(async (error: unknown) => {
        throw new Error(`${String(error)}\n${await prometheusDiagnostics()}`);
      });
      expect(figures).toEqual({ controllersUp: 2, portalApiUp: 1, leaders: 1 });
      // Only pods that ask to be scraped are targets: two controllers and the API.
      expect(await query('count(up{job="kubernetes-pods"})')).toBe(3);
    },
    8 * minutes,
  );

  it(
    "creates a Department through the in-cluster API, at the ingress with a real token, which the in-cluster controller makes Ready",
    async () => {
      const token = await loginAs(provider.issuer, "operator", platformDefaults.apiAudience);
      const { spec } = departmentManifest("cloudops", { environments: ["dev"] });
      const created = await callApi(token, "POST", "/api/v1/departments", { name: "cloudops", spec });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const ready = await waitForDepartment(admin, "cloudops", isReady, "Ready", 2 * minutes);
      expect(ready.status?.namespaces).toEqual(["cloudops-dev"]);
      // The in-cluster controller knows where this cloud's DNS answers (the Cloud resource says): the
      // department's pods may reach the node's CoreDNS.
      const dns = await admin.get<KubeObject & { spec: unknown }>(
        resources.networkPolicy,
        "govhost-allow-dns",
        "cloudops-dev",
      );
      expect(JSON.stringify(dns.spec)).toContain(`"${nodeNetwork.nodeIp}/32"`);
      // Without a token the same route refuses: the ingress does not bypass authentication.
      const anonymous = await getThroughIngress(apiHost, "/api/v1/departments", ca);
      expect(anonymous.status).toBe(401);
    },
    5 * minutes,
  );

  it(
    "fails over when the leader pod is killed: the standby takes the lease once it expires and reconciles the next Department, made through the API meanwhile",
    async () => {
      const lease = () => admin.get<Lease>(resources.lease, controllerLeaseName, namespace);
      const leader = (await lease()).spec.holderIdentity as string;
      expect(leader).toMatch(/^govhost-controller-/);
      // A crash, not a shutdown: the process dies at once (SIGKILL from the host, which runs the node), so
      // it does not give the lease up; the standby must wait for it to expire. The pod goes too (at once):
      // restarted in place, the container would come back under the same name, which is the holder's.
      const killedAt = Date.now();
      process.kill(hostPidOfController(leader), "SIGKILL");
      await admin.call("DELETE", `/api/v1/namespaces/${namespace}/pods/${leader}`, {
        query: { gracePeriodSeconds: 0 },
      });
      // The leader's last renewal: read after the kill, so no later one can come.
      const lastRenewed = await lease();
      const token = await loginAs(provider.issuer, "operator", platformDefaults.apiAudience);
      const { spec } = departmentManifest("records", { environments: ["dev"] });
      const made = await callApi(token, "POST", "/api/v1/departments", { name: "records", spec });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      const taken = await eventually(
        "another replica holds the lease",
        async () => {
          const now = await lease();
          return now.spec.holderIdentity && now.spec.holderIdentity !== leader ? now : undefined;
        },
        2 * minutes,
      );
      const takenSeconds = (Date.now() - killedAt) / 1000;
      await waitForDepartment(admin, "records", isReady, "Ready, from the new leader", 2 * minutes);
      const readySeconds = (Date.now() - killedAt) / 1000;
      const duration = lastRenewed.spec.leaseDurationSeconds as number;
      process.stderr.write(
        `pulumi-node: leader ${leader} killed; ${taken.spec.holderIdentity} took the lease after ${takenSeconds.toFixed(1)} s, the next Department was Ready after ${readySeconds.toFixed(1)} s (lease duration ${duration} s)\n`,
      );
      expect(taken.spec.leaseTransitions).toBe((lastRenewed.spec.leaseTransitions ?? 0) + 1);
      // By the lease's own clock (both written by the node's pods, on this machine's clock): taken once the
      // lease expired, never before (no two leaders). The standby counts the duration from when it saw
      // the last renewal, and looks every retry period: at most two of those after the expiry.
      const expiredAt = Date.parse(lastRenewed.spec.renewTime as string) + duration * 1000;
      const acquiredAt = Date.parse(taken.spec.acquireTime as string);
      expect(acquiredAt).toBeGreaterThanOrEqual(expiredAt);
      expect(acquiredAt - expiredAt).toBeLessThanOrEqual((2 * leaderRetrySeconds + 1) * 1000);
      // The Deployment replaces the killed pod, which stands by: two controllers again.
      await eventually(
        "both controller replicas ready again",
        async () => {
          const deployment = await admin.get<DeploymentStatus>(
            resources.deployment,
            "govhost-controller",
            namespace,
          );
          return deployment.status?.readyReplicas === 2 ? true : undefined;
        },
        3 * minutes,
      );
    },
    8 * minutes,
  );

  it(
    "sends the API gateway's checks to the leading replica in the cluster (the check Service's endpoint it publishes)",
    async () => {
      const leader = (await admin.get<Lease>(resources.lease, controllerLeaseName, namespace)).spec
        .holderIdentity;
      // A route on the gateway's entry point with the gateway's middlewares, as the controller renders one
      // for an API export; the first of them is the check (forwardAuth).
      const route = `/${namespace}/gateway-probe`;
      await admin.create({
        apiVersion: "networking.k8s.io/v1",
        kind: "Ingress",
        metadata: {
          name: "gateway-probe",
          namespace,
          annotations: {
            [entryPointsAnnotation]: apiGateway.entryPoint,
            [middlewaresAnnotation]: routeMiddlewares,
          },
        },
        spec: {
          ingressClassName: localIngress.className,
          rules: [prefixRule({ path: route, service: "govhost-portal-api", port: 8080 })],
        },
      } as KubeObject);
      const traefik = await admin.list<KubeObject & { status?: { podIP?: string } }>(resources.pod, {
        namespace: localIngress.namespace,
        labelSelector: "app.kubernetes.io/name=traefik",
      });
      const gateway = `http://${traefik.items[0]?.status?.podIP}:${apiGateway.containerPort}`;
      // Without a token: the check refuses (its problem+json), which only the check writes; Traefik alone
      // would answer 404 (no route yet) or 500 (the check not reached).
      const refused = await eventually(
        "the check's answer through the gateway",
        async () => {
          const response = await fetch(`${gateway}${route}/healthz`);
          return response.status === 404 ? undefined : response;
        },
        2 * minutes,
      );
      expect(refused.status).toBe(401);
      expect(refused.headers.get("content-type")).toBe("application/problem+json");
      expect(((await refused.json()) as { title: string }).title).toBe("No valid service-account token");
      // It was the leader that answered: the check Service's one endpoint is the leader's pod.
      const pod = await admin.get<KubeObject & { status?: { podIP?: string } }>(
        resources.pod,
        leader as string,
        namespace,
      );
      const slice = await admin.get<KubeObject & { endpoints?: { addresses: string[] }[] }>(
        resources.endpointSlice,
        `${apiGateway.checkService.name}-leader`,
        namespace,
      );
      expect(slice.endpoints?.map((e) => e.addresses)).toEqual([[pod.status?.podIP]]);
      await admin.delete(resources.ingress, "gateway-probe", namespace);
    },
    5 * minutes,
  );

  it(
    "keeps the audit log on its volume: after the API's pod is deleted the chain verifies with no record lost",
    async () => {
      const token = await loginAs(provider.issuer, "operator", platformDefaults.apiAudience);
      const trail = async () =>
        ((await callApi(token, "GET", "/api/v1/audit?limit=1000")).body as { items: AuditRecordView[] })
          .items;
      const before = await trail();
      expect(before.map((r) => r.action)).toContain("department.create");
      const pods = await admin.list<KubeObject>(resources.pod, {
        namespace,
        labelSelector: "app.kubernetes.io/name=govhost-portal-api",
      });
      const old = pods.items[0]?.metadata?.name as string;
      await admin.call("DELETE", `/api/v1/namespaces/${namespace}/pods/${old}`);
      const verdict = await eventually(
        "the new API pod answering",
        async () => {
          const pod = (
            await admin.list<KubeObject & { status?: { phase?: string } }>(resources.pod, {
              namespace,
              labelSelector: "app.kubernetes.io/name=govhost-portal-api",
            })
          ).items.find((p) => p.metadata?.name !== old && p.status?.phase === "Running");
          if (!pod) return undefined;
          const answer = await callApi(token, "GET", "/api/v1/audit/verify").catch(() => undefined);
          return answer?.status === 200 ? (answer.body as { valid: boolean; records: number }) : undefined;
        },
        5 * minutes,
      );
      expect(verdict.valid).toBe(true);
      const after = await trail();
      // Every record the old pod wrote is still there, unchanged (same place in the chain, same hash).
      const kept = new Map(after.map((r) => [r.seq, r.hash]));
      expect(before.filter((r) => kept.get(r.seq) !== r.hash)).toEqual([]);
      const added = after.filter((r) => !before.some((b) => b.seq === r.seq));
      process.stderr.write(
        `pulumi-node: audit records ${before.length} before the API pod was deleted, ${after.length} after; added: ${JSON.stringify(added.map((r) => [r.action, r.result?.detail]))}\n`,
      );
    },
    8 * minutes,
  );

  it(
    "changes nothing on a second up, and destroy removes it",
    async () => {
      expect(await pulumi("up")).toEqual({ same: created });
      // The Departments made through the API (cloudops, records) are not the stack's: its tenant drain
      // deletes them while the controller runs, which releases them once their namespaces are gone;
      // otherwise the CRDs' deletion would wait on them forever.
      expect((await admin.list(resources.department)).items.map((d) => d.metadata?.name).sort()).toEqual([
        "cloudops",
        "records",
      ]);
      const destroying = Date.now();
      expect(await pulumi("destroy")).toEqual({ delete: created });
      process.stderr.write(
        `pulumi-node: destroy with two Departments made through the API took ${((Date.now() - destroying) / 1000).toFixed(0)} s\n`,
      );
      // The cloud went with the stack, and the node undid what it changed on the host.
      expect(loadCloudState(paths)).toBeUndefined();
      expect(readNodeLock()).toBeUndefined();
      expect(govhostLinks()).toEqual(linksBefore);
    },
    15 * minutes,
  );
});

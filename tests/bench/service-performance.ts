// Benchmark: what counting service performance costs (issue #20). On the local cloud with its real node,
// one public e-service (the demo site) with a declared completed-transaction route; autocannon sends a fixed
// rate through the ingress controller (Traefik, over TLS) to the plain route (`/`, the Service's port 80)
// and then to the counted route (`/contact/`, port 81). Prints latency percentiles of both (the difference
// is what the second route adds at the ingress), the controller's CPU idle and under each load (per 1,000
// requests/s, and per round of reading the counters), and whether the stored counts equal the requests
// autocannon had answered.
//   npm run bench -- service-performance [--seconds 20] [--rate 200] [--interval-ms 5000]
// Needs root and no other govhost node on the machine (like `npm run cluster:up`).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import type { EService } from "../../controller/api/eservice.ts";
import { KubeClient, type KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { readTrafficStore, trafficStoreName } from "../../lib/performance/traffic-store.ts";
import { kubeConfigFrom } from "../../tools/cluster/credentials.ts";
import { ensureLocalControlPlane, type LocalPaths } from "../../tools/cluster/local.ts";
import { nodeDnsControllerEnv } from "../../tools/cluster/node/dns.ts";
import { localIngress, nodeApiGatewayControllerEnv } from "../../tools/cluster/node/ingress.ts";
import { spawnController } from "../../tools/controller-process.ts";
import { pushDemoSiteImages } from "../../tools/demo-site-image.ts";
import { localStackBaseline, preparePlatform } from "../../tools/install-platform.ts";
import { departmentManifest } from "../fixtures/departments.ts";
import { stopBenchNodeCloud, waitFor, waitForEServiceQuota } from "./_cluster.ts";
import { cpuSeconds } from "./_process.ts";
import { formatMs, report } from "./_stats.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "20" },
    rate: { type: "string", default: "200" },
    "interval-ms": { type: "string", default: "5000" },
  },
});
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const intervalMs = Number(values["interval-ms"]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const dept = "perf";
const namespace = `${dept}-prod`;
const host = `site.${dept}.gov.example`;

const dir = mkdtempSync(join(tmpdir(), "govhost-bench-perf-"));
const paths: LocalPaths = { state: join(dir, "cluster.json"), kubeconfig: join(dir, "kubeconfig") };
const { state } = await ensureLocalControlPlane(() => {}, paths);
let controller: Awaited<ReturnType<typeof spawnController>> | undefined;
try {
  const node = state.node;
  if (!node) throw new Error(`no node: ${state.nodeAbsent}`);
  const admin = await KubeClient.fromKubeConfig(kubeConfigFrom(state.kubeconfig));
  const controllerKubeconfig = join(dir, "controller.kubeconfig");
  await preparePlatform(state.kubeconfig, controllerKubeconfig, undefined, { baseline: localStackBaseline });
  controller = await spawnController({
    kubeconfig: controllerKubeconfig,
    identity: "bench-perf",
    env: {
      ...nodeDnsControllerEnv,
      ...nodeApiGatewayControllerEnv,
      GOVHOST_A11Y_RETRY_MS: "3000",
      GOVHOST_TRAFFIC_INTERVAL_MS: String(intervalMs),
      // The probe's own requests would be counted too; the comparison is of the load's requests only.
      GOVHOST_PROBE_INTERVAL_MS: "0",
    },
  });
  const pid = controller.process.pid;
  const images = pushDemoSiteImages(node.registry.pushAddress, join(dir, "site"));
  await admin.create(departmentManifest(dept, { environments: ["prod"], domains: [`${dept}.gov.example`] }));
  await waitForEServiceQuota(admin, namespace);
  // Publishing is a department admin's decision (GH-PUB-001).
  await admin.impersonating({ user: "bench-admin", groups: [`${dept}-admins`] }).create({
    apiVersion: "govhost.io/v1alpha1",
    kind: "EService",
    metadata: { name: "site", namespace },
    spec: {
      displayName: { en: "Site", zhHant: "網站" },
      image: images.fixed.ref,
      exposure: "public",
      replicas: 1,
      accessibility: { paths: ["/", "/contact"], languages: ["en", "zh-HK"] },
      completedTransaction: { path: "/contact", match: "Prefix", methods: ["GET"] },
    },
  });
  await waitFor(
    "the e-service exposed",
    async () => {
      const es = await admin.get<EService & KubeObject>(resources.eservice, "site", namespace);
      return es.status?.conditions?.some((c) => c.type === "Exposed" && c.status === "True") ? es : undefined;
    },
    600_000,
  );

  const target = (path: string) => ({
    url: `https://${localIngress.address}${path}`,
    servername: host,
    headers: { host },
  });
  // A fixed number of requests (not a duration): autocannon then waits for every answer, so the requests it
  // reports are all the requests it sent (with a duration, those in flight when it stops are sent, reach
  // Traefik and are counted there, but are missing from autocannon's total).
  const load = (path: string) =>
    autocannon({ ...target(path), connections: 10, overallRate: rate, amount: rate * seconds });
  // Until Traefik serves the route (a few requests at a time; not measured).
  await waitFor(
    "the route served",
    async () => {
      const probe = await autocannon({ ...target("/contact/"), connections: 1, amount: 3 });
      return probe["2xx"] === 3 ? true : undefined;
    },
    120_000,
  );

  const stored = async () => {
    const store = await admin.find<KubeObject & { data?: Record<string, string> }>(
      resources.configMap,
      trafficStoreName(dept),
      "govhost-system",
    );
    const traffic = readTrafficStore(store?.data);
    if (traffic instanceof Error) throw traffic;
    const counts = Object.values(traffic.months).map((m) => m[`${namespace}/site`]);
    return {
      requests: counts.reduce((sum, c) => sum + (c?.requests ?? 0), 0),
      completed: counts.reduce((sum, c) => sum + (c?.completed ?? 0), 0),
    };
  };
  /** Waits two rounds past now, so every request sent so far is in the store. */
  const settled = async () => {
    await sleep(2 * intervalMs + 1_000);
    return stored();
  };

  const idleStart = cpuSeconds(pid);
  await sleep(seconds * 1000);
  const idleCores = (cpuSeconds(pid) - idleStart) / seconds;
  const before = await settled();

  const rows: Record<string, string | number> = {};
  let countedRight = true;
  for (const [label, path] of [
    ["plain route (/ to port 80)", "/"],
    ["counted route (/contact/ to port 81)", "/contact/"],
  ] as const) {
    const start = await settled();
    const cpuStart = cpuSeconds(pid);
    const startedAt = performance.now();
    const result = await load(path);
    const elapsed = (performance.now() - startedAt) / 1000;
    const cores = (cpuSeconds(pid) - cpuStart) / elapsed;
    const end = await settled();
    const answered = result.requests.total;
    const completedAsked = path === "/contact/" ? result["2xx"] : 0;
    countedRight &&=
      end.requests - start.requests === answered && end.completed - start.completed === completedAsked;
    rows[`${label}: rate achieved`] = `${(answered / elapsed).toFixed(0)} req/s (${result.non2xx} non-2xx)`;
    rows[`${label}: latency p50 / p99`] = `${formatMs(result.latency.p50)} / ${formatMs(result.latency.p99)}`;
    rows[`${label}: controller CPU`] =
      `${cores.toFixed(3)} cores, ${(((cores - idleCores) * 1000) / (answered / elapsed)).toFixed(3)} cores per 1,000 req/s above idle`;
    rows[`${label}: stored / answered`] =
      `${end.requests - start.requests} / ${answered} requests, ${end.completed - start.completed} / ${completedAsked} completed`;
  }
  report(`service performance at ${rate} req/s for ${seconds} s, counters read every ${intervalMs} ms`, {
    "controller CPU idle (counting included)": `${idleCores.toFixed(3)} cores`,
    "stored before the measured runs": `${before.requests} requests, ${before.completed} completed`,
    ...rows,
    "every request counted exactly once": countedRight ? "yes" : "NO",
  });
  admin.close();
  if (!countedRight) process.exitCode = 1;
} finally {
  await controller?.stop();
  await stopBenchNodeCloud(paths, dir);
}

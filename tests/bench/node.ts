// Benchmark: the local cloud's real node. Prints the bring-up time of the control plane with its node, pod
// create-to-Running (Ready) percentiles for a batch of pods pulled from the node's registry, and e-service
// create-to-Exposed percentiles (image already on the node; scan in the cluster, both tiers).
//   npm run bench -- node [--pods 100] [--eservices 10]
// Needs root and no other govhost node on the machine (like `npm run cluster:up`).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { EService } from "../../controller/api/eservice.ts";
import { KubeClient, type KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { kubeConfigFrom } from "../../tools/cluster/credentials.ts";
import { ensureLocalControlPlane, type LocalPaths } from "../../tools/cluster/local.ts";
import { spawnController } from "../../tools/controller-process.ts";
import { pushDemoSiteImages } from "../../tools/demo-site-image.ts";
import { buildOciLayout } from "../../tools/image/oci-image.ts";
import { pushToLocalRegistry } from "../../tools/image/push.ts";
import { localStackBaseline, preparePlatform } from "../../tools/install-platform.ts";
import { departmentManifest } from "../fixtures/departments.ts";
import { stopBenchNodeCloud } from "./_cluster.ts";
import { formatMs, report, summarize } from "./_stats.ts";

const { values } = parseArgs({
  options: { pods: { type: "string", default: "100" }, eservices: { type: "string", default: "10" } },
});
const podCount = Number(values.pods);
const eserviceCount = Number(values.eservices);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface PodLike extends KubeObject {
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

/** Polls until every name is accepted by `done`; returns each name's milliseconds from its start. */
async function timeUntil(
  started: Map<string, number>,
  list: () => Promise<KubeObject[]>,
  done: (o: KubeObject) => boolean,
  timeoutMs: number,
): Promise<number[]> {
  const finished = new Map<string, number>();
  const deadline = Date.now() + timeoutMs;
  while (finished.size < started.size) {
    if (Date.now() > deadline)
      throw new Error(`only ${finished.size} of ${started.size} were ready after ${timeoutMs / 1000} s`);
    for (const o of await list()) {
      const name = o.metadata?.name as string;
      if (started.has(name) && !finished.has(name) && done(o))
        finished.set(name, performance.now() - (started.get(name) as number));
    }
    await sleep(100);
  }
  return [...finished.values()];
}

function percentiles(samples: number[]): Record<string, string | number> {
  const s = summarize(samples);
  return {
    count: s.count,
    p50: formatMs(s.p50),
    p95: formatMs(s.p95),
    p99: formatMs(s.p99),
    max: formatMs(s.max),
  };
}

const dir = mkdtempSync(join(tmpdir(), "govhost-bench-node-"));
const paths: LocalPaths = { state: join(dir, "cluster.json"), kubeconfig: join(dir, "kubeconfig") };
const t0 = performance.now();
const { state } = await ensureLocalControlPlane(() => {}, paths);
const bringUpMs = performance.now() - t0;
let controller: Awaited<ReturnType<typeof spawnController>> | undefined;
try {
  const node = state.node;
  if (!node) throw new Error(`no node: ${state.nodeAbsent}`);
  report("bring-up (binaries cached)", { "control plane and node, until Node Ready": formatMs(bringUpMs) });
  const admin = await KubeClient.fromKubeConfig(kubeConfigFrom(state.kubeconfig));

  // Pods: one image in the registry, pulled by every pod (imagePullPolicy Always, as tenants must).
  const p0 = performance.now();
  const image = pushToLocalRegistry(
    buildOciLayout(
      { tag: "bench", files: { "/bin/busybox": "/bin/busybox" }, busyboxApplets: "/bin/busybox" },
      join(dir, "img"),
    ),
    "govhost/bench-busybox",
    node.registry.pushAddress,
  );
  const pushMs = performance.now() - p0;
  const namespace = "bench-pods";
  await admin.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
  for (let i = 0; i < 100; i++) {
    if (await admin.find(resources.serviceAccount, "default", namespace)) break;
    await sleep(100);
  }
  const started = new Map<string, number>();
  for (let i = 0; i < podCount; i++) {
    const name = `p-${i}`;
    started.set(name, performance.now());
    await admin.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace },
      spec: {
        terminationGracePeriodSeconds: 0,
        containers: [
          {
            name: "main",
            image: image.ref,
            imagePullPolicy: "Always",
            command: ["sleep", "3600"],
            resources: { requests: { cpu: "5m", memory: "8Mi" }, limits: { cpu: "50m", memory: "16Mi" } },
          },
        ],
      },
    });
  }
  const podMs = await timeUntil(
    started,
    async () => (await admin.list<PodLike>(resources.pod, { namespace })).items,
    (p) =>
      (p as PodLike).status?.phase === "Running" &&
      ((p as PodLike).status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True"),
    600_000,
  );
  report(`pods: create to Running and Ready (${podCount} created back to back)`, {
    "image build and push": formatMs(pushMs),
    ...percentiles(podMs),
  });
  await admin.delete(resources.namespace, namespace);

  // E-services: the platform, its controller, one department; the demo site's fixed image, pushed once.
  const controllerKubeconfig = join(dir, "controller.kubeconfig");
  await preparePlatform(state.kubeconfig, controllerKubeconfig, undefined, { baseline: localStackBaseline });
  controller = await spawnController({
    kubeconfig: controllerKubeconfig,
    identity: "bench-node",
    env: { GOVHOST_A11Y_RETRY_MS: "3000" },
  });
  const images = pushDemoSiteImages(node.registry.pushAddress, join(dir, "site"));
  // Enough public endpoints for every e-service of the run (the fixture's quota allows 10).
  const quota = {
    cpu: "16",
    memory: "64Gi",
    storage: "500Gi",
    pods: 100,
    eServices: 50,
    publicEndpoints: 50,
  };
  await admin.create(
    departmentManifest("bench", { environments: ["prod"], domains: ["bench.gov.example"], quota }),
  );

  for (let i = 0; ; i++) {
    const dept = await admin.get<
      KubeObject & { status?: { conditions?: { type: string; status: string }[] } }
    >(resources.department, "bench");
    if (dept.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) break;
    if (i > 1200) throw new Error("the department never became Ready");
    await sleep(100);
  }
  const es = "bench-prod";
  for (let i = 0; ; i++) {
    const quota = await admin.find<KubeObject & { status?: { hard?: Record<string, string> } }>(
      resources.resourceQuota,
      "govhost-tenant-quota",
      es,
    );
    if (quota?.status?.hard?.["count/eservices.govhost.io"]) break;
    if (i > 1200) throw new Error("the tenant quota never counted e-services");
    await sleep(100);
  }
  // One e-service first so the node has the image and Chromium has started once; then the measured batch.
  const eservice = (name: string): KubeObject => ({
    apiVersion: "govhost.io/v1alpha1",
    kind: "EService",
    metadata: { name, namespace: es },
    spec: {
      displayName: { en: name, zhHant: name },
      image: images.fixed.ref,
      exposure: "public",
      serviceCluster: "travel-and-immigration",
      replicas: 1,
      accessibility: { paths: ["/", "/contact"], languages: ["en", "zh-HK"] },
    },
  });
  const exposed = (o: KubeObject) =>
    ((o as EService & KubeObject).status?.conditions ?? []).some(
      (c) => c.type === "Exposed" && c.status === "True",
    );
  // Publishing is a department admin's decision (GH-PUB-001), so the e-services are created as one.
  const deptAdmin = admin.impersonating({ user: "bench-admin", groups: ["bench-admins"] });
  const listEServices = async () =>
    (await admin.list<KubeObject>(resources.eservice, { namespace: es })).items;
  const warm = new Map([["warm-up", performance.now()]]);
  await deptAdmin.create(eservice("warm-up"));
  const [warmMs] = await timeUntil(warm, listEServices, exposed, 600_000);
  const batch = new Map<string, number>();
  for (let i = 0; i < eserviceCount; i++) {
    batch.set(`site-${i}`, performance.now());
    await deptAdmin.create(eservice(`site-${i}`));
  }
  const esMs = await timeUntil(batch, listEServices, exposed, 1_200_000);
  report(
    `e-services: create to Exposed (${eserviceCount} created back to back, image cached, scan concurrency 2)`,
    {
      "first (image pull, first Chromium)": formatMs(warmMs as number),
      ...percentiles(esMs),
    },
  );
  admin.close();
} finally {
  await controller?.stop();
  await stopBenchNodeCloud(paths, dir);
}

// Benchmark: a government's estate on one control plane, with kwok (built from its Go module, pinned in
// tools/upstream/versions.env) playing the nodes and the pods' lifecycles. kwok registers the nodes' leases
// and takes each pod bound to one of its nodes to Running, and a deleted one away, as a kubelet would.
// 1. `--nodes` simulated nodes, Ready;
// 2. `--departments` departments of three environments each, created while the controller runs, to all
//    Ready (time, the controller's peak memory);
// 3. `--eservices` e-services and `--instances` shared-service instances spread over the departments, to
//    all reconciled (status written for their generation; time, the controller's CPU and peak memory). The
//    bench has no scheduler, so their Deployments' pods stay Pending and are neither scanned nor billed as
//    running: what is measured is the controller's cost of rendering, watching and metering them;
// 4. `--pods` pods spread over every environment and node, to all Running and metered;
// 5. churn for `--churn-seconds`: `--churn-per-second` pods deleted and as many created each second
//    (controller CPU and memory, pod events per second, CPU per 1,000 events/s), while the portal API
//    answers `--api-rate` requests/s from a department's admin (half listing their departments, half
//    reading this month's statement; latency percentiles, errors);
// 6. a cold start of a new controller with all of it there (time to ready, peak memory, CPU).
//   npm run bench -- estate [--nodes 1000] [--departments 1000] [--eservices 5000] [--instances 1000]
//                           [--pods 20000] [--churn-seconds 120] [--churn-per-second 50] [--api-rate 200]
//                           [--concurrency 16]
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { platformDefaults } from "../../controller/api/defaults.ts";
import type { Department } from "../../controller/api/department.ts";
import { periodOf } from "../../lib/chargeback/calendar.ts";
import { KubeApiError, type KubeClient, type KubeObject } from "../../lib/kube/client.ts";
import { objectKey } from "../../lib/kube/informer.ts";
import { resources } from "../../lib/kube/resources.ts";
import { freePort } from "../../tools/cluster/ports.ts";
import { startDaemon, stopProcess } from "../../tools/cluster/processes.ts";
import { spawnController } from "../../tools/controller-process.ts";
import { loginAs } from "../../tools/oidc/login.ts";
import { resolveKwok } from "../../tools/upstream/binaries.ts";
import { departmentManifest } from "../fixtures/departments.ts";
import { compliantPodSpec } from "../policy-corpus/corpus.ts";
import {
  podEventCounter,
  roomyQuota,
  startPortalApiWithProvider,
  waitFor,
  withBenchCluster,
} from "./_cluster.ts";
import { cpuSeconds, rssMiB } from "./_process.ts";
import { formatMs, report } from "./_stats.ts";

const { values } = parseArgs({
  options: {
    nodes: { type: "string", default: "1000" },
    departments: { type: "string", default: "1000" },
    eservices: { type: "string", default: "5000" },
    instances: { type: "string", default: "1000" },
    pods: { type: "string", default: "20000" },
    "churn-seconds": { type: "string", default: "120" },
    "churn-per-second": { type: "string", default: "50" },
    "api-rate": { type: "string", default: "200" },
    concurrency: { type: "string", default: "16" },
  },
});
const nodeCount = Number(values.nodes);
const departmentCount = Number(values.departments);
const eserviceCount = Number(values.eservices);
const instanceCount = Number(values.instances);
const podCount = Number(values.pods);
const churnSeconds = Number(values["churn-seconds"]);
const churnPerSecond = Number(values["churn-per-second"]);
const apiRate = Number(values["api-rate"]);
const audience = "https://api.govhost.bench";
const concurrency = Number(values.concurrency);
const environments = ["dev", "staging", "prod"];

async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

/**
 * Creates `object`, again after a moment while the namespace's quota has no status yet (the API server
 * refuses with 403 until the quota controller has counted a new namespace's usage).
 */
async function createOnceQuotaCounted(admin: KubeClient, object: KubeObject): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.create(object);
      return;
    } catch (error) {
      const uncounted = error instanceof KubeApiError && /status unknown for quota/.test(error.message);
      if (!uncounted || attempt >= 240) throw error;
      await sleep(500);
    }
  }
}

/** A node kwok manages (its annotation), roomy enough for its share of the pods. */
const kwokNode = (name: string): KubeObject => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: {
    name,
    annotations: { "kwok.x-k8s.io/node": "fake" },
    labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", type: "kwok" },
  },
  spec: {},
  status: {
    allocatable: { cpu: "64", memory: "512Gi", pods: "250" },
    capacity: { cpu: "64", memory: "512Gi", pods: "250" },
  },
});

type PodRef = { namespace: string; name: string };

type Reconcilable = KubeObject & {
  status?: {
    observedGeneration?: number;
    phase?: string;
    conditions?: { type: string; reason?: string; message?: string }[];
  };
};

/**
 * Waits until every object of a type (there are `count`) has status for its current generation that
 * `describe` does not call an error (a reconcile that failed is retried; the bench waits for it to pass).
 * Returns how many carry each description (e.g. a condition's reason), for the report; after 10 minutes,
 * the tally as it is, saying so.
 */
async function allReconciled(
  admin: KubeClient,
  type: (typeof resources)[keyof typeof resources],
  count: number,
  describe: (object: Reconcilable) => string,
): Promise<string> {
  const deadline = Date.now() + 600_000;
  for (;;) {
    // Every 5 s: a list of thousands of these is itself load on the API server the controller shares.
    await sleep(5_000);
    const list = await admin.list<Reconcilable>(type, { limit: 500 }).catch(() => undefined);
    const all = list ? await restOf(admin, type, list) : [];
    const reconciled = all.filter(
      (o) =>
        o.status?.observedGeneration !== undefined && o.status.observedGeneration === o.metadata?.generation,
    );
    const failed = reconciled.filter((o) => describe(o).includes("Error"));
    const settled = reconciled.length - failed.length;
    const timedOut = Date.now() > deadline;
    if (settled >= count || timedOut) {
      const tally = new Map<string, number>();
      for (const object of reconciled) {
        const what = describe(object);
        tally.set(what, (tally.get(what) ?? 0) + 1);
      }
      const figures = [...tally].map(([what, n]) => `${n} ${what}`).join(", ");
      // A failure's message names its object, so one stands for all.
      const example = failed[0]?.status?.conditions?.find((c) => c.reason?.endsWith("Error"))?.message;
      return timedOut
        ? `NOT SETTLED after 10 min: ${settled} of ${count}; ${figures}${example ? ` (e.g. ${example.slice(0, 200)})` : ""}`
        : figures;
    }
  }
}

/** The items of a paged list, from its first page on. */
async function restOf<T extends KubeObject>(
  admin: KubeClient,
  type: (typeof resources)[keyof typeof resources],
  first: { items: T[]; metadata: { continue?: string } },
): Promise<T[]> {
  const items = [...first.items];
  let token = first.metadata.continue;
  while (token) {
    const page = await admin.list<T>(type, { limit: 500, continue: token });
    items.push(...page.items);
    token = page.metadata.continue;
  }
  return items;
}

/**
 * Counts every pod event the API server sends from now on (what the controller's pod watch receives), and
 * keeps which pods are Running (a list of 20,000 pods to find out would cost more than the load).
 */
async function watchPods(admin: KubeClient, signal: AbortSignal) {
  type PodObject = KubeObject & { status?: { phase?: string } };
  const running = new Set<string>();
  const counter = await podEventCounter<PodObject>(admin, signal, {
    // Of each pod, only what says whether it runs.
    transform: (pod) => ({
      metadata: {
        name: pod.metadata?.name,
        namespace: pod.metadata?.namespace,
        resourceVersion: pod.metadata?.resourceVersion,
        ...(pod.metadata?.deletionTimestamp ? { deletionTimestamp: pod.metadata.deletionTimestamp } : {}),
      },
      status: { phase: (pod as PodObject).status?.phase },
    }),
    onEvent: (event, pod) => {
      const key = objectKey(pod);
      if (event !== "delete" && pod.status?.phase === "Running" && !pod.metadata?.deletionTimestamp)
        running.add(key);
      else running.delete(key);
    },
  });
  return { running, counter };
}

/** The portal API under a fixed rate of one request while the churn runs: its latency and errors. */
async function load(url: string, token: string, rate: number, seconds: number) {
  const result = await autocannon({
    url,
    headers: { authorization: `Bearer ${token}` },
    overallRate: rate,
    duration: seconds,
    connections: 16,
  });
  return `achieved ${result.requests.average.toFixed(0)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms, errors/non-2xx ${result.errors + result.timeouts + result.non2xx}`;
}

await withBenchCluster("estate", async ({ admin, controllerKubeconfig, portalApiKubeconfig, root }) => {
  const kwokBinaries = resolveKwok();
  const stages = join(root, "kwok-stages.yaml");
  writeFileSync(stages, kwokBinaries.stages.map((f) => readFileSync(f, "utf8")).join("\n---\n"));
  const kwok = startDaemon(
    "kwok",
    kwokBinaries.kwok,
    [
      `--kubeconfig=${join(root, "admin.kubeconfig")}`,
      `--config=${stages}`,
      "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
      `--server-address=127.0.0.1:${await freePort()}`,
      "--node-lease-duration-seconds=40",
      "--cidr=10.64.0.0/12",
      "--node-ip=10.63.0.1",
    ],
    join(root, "kwok.log"),
  );
  const watching = new AbortController();
  let controller: Awaited<ReturnType<typeof spawnController>> | undefined;
  let portal: Awaited<ReturnType<typeof startPortalApiWithProvider>> | undefined;
  try {
    // --- 1. nodes
    const nodesT0 = performance.now();
    const nodeNames = Array.from({ length: nodeCount }, (_, i) => `kwok-node-${i}`);
    await inParallel(nodeNames, concurrency, async (name) => {
      await admin.create(kwokNode(name));
    });
    await waitFor(
      `${nodeCount} nodes Ready`,
      async () => {
        const nodes = await admin.list<
          KubeObject & { status?: { conditions?: { type: string; status: string }[] } }
        >(resources.node);
        const ready = nodes.items.filter((n) =>
          n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        ).length;
        return ready >= nodeCount ? ready : undefined;
      },
      600_000,
    );
    report(`nodes: ${nodeCount} simulated by kwok`, {
      "created to all Ready": formatMs(performance.now() - nodesT0),
      "kwok CPU": `${cpuSeconds(kwok.pid).toFixed(1)} s`,
      "kwok RSS": `${rssMiB(kwok.pid, "VmRSS").toFixed(0)} MiB`,
    });

    // --- 2. departments
    controller = await spawnController({ kubeconfig: controllerKubeconfig, identity: "estate" });
    const deptT0 = performance.now();
    const deptCpu0 = cpuSeconds(controller.process.pid);
    const departments = Array.from({ length: departmentCount }, (_, i) => `d${i}`);
    await inParallel(departments, concurrency, async (name) => {
      await admin.create(departmentManifest(name, { environments, quota: roomyQuota }));
    });
    await waitFor(
      `${departmentCount} departments Ready`,
      async () => {
        const list = await admin.list<Department & KubeObject>(resources.department);
        const ready = list.items.filter((d) =>
          d.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        ).length;
        return ready >= departmentCount ? ready : undefined;
      },
      1_800_000,
    );
    report(`departments: ${departmentCount} × ${environments.length} environments`, {
      "created to all Ready": formatMs(performance.now() - deptT0),
      "controller CPU": `${(cpuSeconds(controller.process.pid) - deptCpu0).toFixed(1)} s`,
      "controller peak RSS": `${rssMiB(controller.process.pid).toFixed(0)} MiB`,
    });

    // --- 3. e-services and shared-service instances
    const prodOf = (i: number) => `${departments[i % departments.length]}-prod`;
    const servicesT0 = performance.now();
    const servicesCpu0 = cpuSeconds(controller.process.pid);
    await inParallel(
      Array.from({ length: eserviceCount }, (_, i) => i),
      concurrency,
      async (i) => {
        await createOnceQuotaCounted(admin, {
          apiVersion: "govhost.io/v1alpha1",
          kind: "EService",
          metadata: { name: `es${i}`, namespace: prodOf(i) },
          spec: {
            image: "registry.gov.example/estate/web:1.0.0",
            replicas: 1,
            exposure: "internal",
            serviceCluster: "permits-and-licences",
            accessibility: { paths: ["/"], languages: ["en", "zh-HK"] },
          },
        });
      },
    );
    await inParallel(
      Array.from({ length: instanceCount }, (_, i) => i),
      concurrency,
      async (i) => {
        await createOnceQuotaCounted(admin, {
          apiVersion: "govhost.io/v1alpha1",
          kind: "SharedServiceInstance",
          metadata: { name: `ss${i}`, namespace: prodOf(i) },
          spec:
            i % 2
              ? { service: "records-management", plan: "standard", parameters: {} }
              : {
                  service: "collaboration-workspace",
                  plan: "team",
                  parameters: { seats: 30 },
                },
        });
      },
    );
    const createdServicesMs = performance.now() - servicesT0;
    const reason = (type: string) => (o: Reconcilable) =>
      `${type} ${o.status?.conditions?.find((c) => c.type === type)?.reason ?? "(none)"}`;
    const eserviceStates = await allReconciled(admin, resources.eservice, eserviceCount, reason("Deployed"));
    const instanceStates = await allReconciled(
      admin,
      resources.sharedServiceInstance,
      instanceCount,
      (o) => `phase ${o.status?.phase ?? "(none)"}`,
    );
    report(`services: ${eserviceCount} e-services and ${instanceCount} shared-service instances`, {
      created: formatMs(createdServicesMs),
      "created to all reconciled": formatMs(performance.now() - servicesT0),
      "controller CPU": `${(cpuSeconds(controller.process.pid) - servicesCpu0).toFixed(1)} s`,
      "controller RSS": `${rssMiB(controller.process.pid, "VmRSS").toFixed(0)} MiB (peak ${rssMiB(controller.process.pid).toFixed(0)})`,
      "e-services": eserviceStates,
      instances: instanceStates,
    });

    // --- 4. pods
    const namespaces = departments.flatMap((d) => environments.map((e) => `${d}-${e}`));
    const pods = await watchPods(admin, watching.signal);
    let serial = 0;
    const createPod = async (): Promise<PodRef> => {
      const i = serial++;
      const ref = { namespace: namespaces[i % namespaces.length] as string, name: `p${i}` };
      await admin.create({
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          ...ref,
          labels: { app: "estate", "govhost.io/data-classification": "UNCLASSIFIED" },
        },
        spec: { ...(compliantPodSpec() as object), nodeName: nodeNames[i % nodeNames.length] },
      });
      return ref;
    };
    const live: PodRef[] = [];
    const podsT0 = performance.now();
    const podsCpu0 = cpuSeconds(controller.process.pid);
    await inParallel(
      Array.from({ length: podCount }, (_, i) => i),
      concurrency,
      async () => {
        live.push(await createPod());
      },
    );
    const createdMs = performance.now() - podsT0;
    await waitFor(
      `${podCount} pods Running`,
      async () => (pods.running.size >= podCount ? pods.running.size : undefined),
      1_800_000,
    );
    report(`pods: ${podCount} over ${namespaces.length} namespaces and ${nodeCount} nodes`, {
      created: `${formatMs(createdMs)} (${((podCount / createdMs) * 1000).toFixed(0)}/s)`,
      "created to all Running": formatMs(performance.now() - podsT0),
      "controller CPU": `${(cpuSeconds(controller.process.pid) - podsCpu0).toFixed(1)} s`,
      "controller RSS": `${rssMiB(controller.process.pid, "VmRSS").toFixed(0)} MiB (peak ${rssMiB(controller.process.pid).toFixed(0)})`,
      "kwok CPU so far": `${cpuSeconds(kwok.pid).toFixed(1)} s`,
    });

    // --- 5. churn, with the portal API under load
    portal = await startPortalApiWithProvider({
      portalApiKubeconfig,
      root,
      audience,
      users: {
        "d0-admin": { name: "D0 admin", groups: ["d0-admins"] },
      },
    });
    const period = periodOf(Date.now(), platformDefaults.timeZone);
    const listing = `${portal.api.url}/api/v1/departments`;
    const statement = `${portal.api.url}/api/v1/departments/d0/statements/${period}`;
    const adminToken = await loginAs(portal.identity.issuer, "d0-admin", audience);
    await waitFor(`d0's statement of ${period} from the portal API`, async () => {
      const own = await fetch(statement, { headers: { authorization: `Bearer ${adminToken}` } });
      return own.status === 200 ? true : undefined;
    });
    await sleep(5_000);
    const events0 = pods.counter.events();
    const churnCpu0 = cpuSeconds(controller.process.pid);
    const churnKwok0 = cpuSeconds(kwok.pid);
    const churnT0 = performance.now();
    let errors = 0;
    let firstError = "";
    const churned: Promise<void>[] = [];
    const apiLoad = Promise.all([
      load(listing, adminToken, apiRate / 2, churnSeconds),
      load(statement, adminToken, apiRate / 2, churnSeconds),
    ]);
    for (let second = 0; second < churnSeconds; second++) {
      const due = churnT0 + second * 1000;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      for (let k = 0; k < churnPerSecond; k++) {
        const victim = live.splice(Math.floor(Math.random() * live.length), 1)[0] as PodRef;
        churned.push(
          (async () => {
            try {
              await admin.delete(resources.pod, victim.name, victim.namespace);
              live.push(await createPod());
            } catch (error) {
              errors++;
              firstError ||= error instanceof Error ? error.message : String(error);
            }
          })(),
        );
      }
    }
    await Promise.all(churned);
    const [listingFigures, statementFigures] = await apiLoad;
    const churnWall = (performance.now() - churnT0) / 1000;
    const churnCpu = cpuSeconds(controller.process.pid) - churnCpu0;
    const eventsPerSecond = (pods.counter.events() - events0) / churnWall;
    report(`churn: ${churnPerSecond} pods deleted and created per second for ${churnSeconds} s`, {
      "pod events/s (the API server's watch)": eventsPerSecond.toFixed(0),
      "controller CPU": `${churnCpu.toFixed(1)} s over ${churnWall.toFixed(0)} s (${((churnCpu / churnWall) * 100).toFixed(0)}% of one core)`,
      "controller CPU per 1,000 pod events/s": `${((churnCpu / churnWall) * (1000 / eventsPerSecond)).toFixed(2)} cores`,
      "controller RSS": `${rssMiB(controller.process.pid, "VmRSS").toFixed(0)} MiB (peak ${rssMiB(controller.process.pid).toFixed(0)})`,
      "kwok CPU": `${(cpuSeconds(kwok.pid) - churnKwok0).toFixed(1)} s`,
      "pods Running at the end": `${pods.running.size} of ${live.length}`,
      errors: errors === 0 ? "0" : `${errors} (first: ${firstError.slice(0, 200)})`,
      "the bench's pod watch": `resumed ${pods.counter.informer.watchCounts.restarts} times, listed again ${pods.counter.informer.watchCounts.relists} times`,
    });
    report(
      `the portal API meanwhile: ${apiRate} req/s for the first ${churnSeconds} s of the churn, 16 connections each`,
      {
        [`GET /api/v1/departments as d0's admin (their one, of ${departmentCount}), ${apiRate / 2}/s`]:
          listingFigures,
        [`GET /api/v1/departments/d0/statements/${period} as d0's admin, ${apiRate / 2}/s`]: statementFigures,
        "portal API RSS": `${rssMiB(portal.api.process.pid, "VmRSS").toFixed(0)} MiB (peak ${rssMiB(portal.api.process.pid).toFixed(0)})`,
      },
    );
    await portal.api.kill();
    await portal.identity.close();
    portal = undefined;

    // --- 6. cold start
    await controller.stop();
    const coldT0 = performance.now();
    controller = await spawnController({ kubeconfig: controllerKubeconfig, identity: "estate-cold" });
    const readyMs = performance.now() - coldT0;
    const coldCpuAtReady = cpuSeconds(controller.process.pid);
    await sleep(30_000);
    report(
      `cold start: a new controller with ${departmentCount} departments, ${eserviceCount} e-services, ${instanceCount} instances and ${live.length} pods`,
      {
        "to ready (leading, caches synced)": formatMs(readyMs),
        "CPU to ready": `${coldCpuAtReady.toFixed(1)} s`,
        "CPU in its first 30 s after ready": `${(cpuSeconds(controller.process.pid) - coldCpuAtReady).toFixed(1)} s`,
        "peak RSS": `${rssMiB(controller.process.pid).toFixed(0)} MiB`,
      },
    );
  } finally {
    watching.abort();
    await portal?.api.kill();
    await portal?.identity.close();
    await controller?.stop();
    await stopProcess(kwok);
  }
});

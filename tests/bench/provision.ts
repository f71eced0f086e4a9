// Benchmark: provisioning departments. Creates N departments (3 environments each) and measures
// create-to-Ready latency, total wall time and the controller's peak memory; then applies the same child
// objects directly with server-side apply (no controller) as a baseline, and prints the ratio. Between the
// two, a cold start: a new controller process with every department already there (time, memory, CPU and
// its API calls, counted in the API server's audit log).
//   npm run bench -- provision [--departments 200] [--concurrency 8]
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import type { Department } from "../../controller/api/department.ts";
import { fieldManager } from "../../controller/api/group.ts";
import { renderQuota, renderTenant } from "../../controller/tenancy/desired.ts";
import { departmentTotals, formatAmounts, planQuota } from "../../controller/tenancy/quota.ts";
import { defaultTenancySettings } from "../../controller/tenancy/settings.ts";
import { KubeClient, type KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { auditedRequests, fieldManagerOf, replicaOf } from "../../tools/cluster/api-audit.ts";
import { kubeConfigFrom } from "../../tools/cluster/credentials.ts";
import { spawnController } from "../../tools/controller-process.ts";
import { departmentManifest } from "../fixtures/departments.ts";
import { withBenchCluster } from "./_cluster.ts";
import { scrape } from "./_metrics.ts";
import { cpuSeconds, rssMiB } from "./_process.ts";
import { formatMs, report, summarize } from "./_stats.ts";

const { values } = parseArgs({
  options: { departments: { type: "string", default: "200" }, concurrency: { type: "string", default: "8" } },
});
const count = Number(values.departments);
const concurrency = Number(values.concurrency);

const manifest = (name: string) => departmentManifest(name, { contacts: [], costCentre: "CC-BENCH" });

async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

/** One sample of the controller's own /metrics, 0 when it has none yet (e.g. before the first reconcile). */
async function metric(port: number, series: string): Promise<number> {
  return (await scrape(`http://127.0.0.1:${port}/metrics`))(series) ?? 0;
}

/** Reconciles the controller has run for one kind (the duration histogram's count). */
const reconcileCount = (port: number, kind: string) =>
  metric(port, `govhost_reconcile_duration_seconds_count{controller="${kind}"}`);

await withBenchCluster("provision", async ({ admin, controllerKubeconfig, auditLog }) => {
  const run = randomBytes(2).toString("hex");

  // --- with the controller
  const controller = await spawnController({ kubeconfig: controllerKubeconfig, identity: "bench" });
  const startRss = rssMiB(controller.process.pid, "VmRSS");
  const startCpu = cpuSeconds(controller.process.pid);
  const names = Array.from({ length: count }, (_, i) => `p${run}-${i}`);
  const createdAt = new Map<string, number>();
  const readyAt = new Map<string, number>();
  const watch = new AbortController();
  const list = await admin.list(resources.department);
  void admin
    .watch<Department & KubeObject>(
      resources.department,
      list.metadata.resourceVersion,
      (event) => {
        const name = event.object.metadata?.name as string;
        const ready = event.object.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
        if (ready && createdAt.has(name) && !readyAt.has(name)) readyAt.set(name, performance.now());
      },
      { signal: watch.signal, timeoutSeconds: 3600 },
    )
    .catch(() => {});
  const t0 = performance.now();
  await inParallel(names, concurrency, async (name) => {
    createdAt.set(name, performance.now());
    await admin.create(manifest(name));
  });
  while (readyAt.size < count) await new Promise((r) => setTimeout(r, 50));
  const controllerWall = performance.now() - t0;
  watch.abort();
  // Reconciles still queued by the last status writes count too: let the controller settle first.
  await new Promise((r) => setTimeout(r, 3_000));
  const reconciles = await reconcileCount(controller.port, "department");
  const peak = rssMiB(controller.process.pid);
  const settledRss = rssMiB(controller.process.pid, "VmRSS");
  const cpu = cpuSeconds(controller.process.pid) - startCpu;
  await controller.stop();
  const latency = summarize(names.map((n) => (readyAt.get(n) ?? 0) - (createdAt.get(n) ?? 0)));

  // --- cold start: a new controller process with every department already there (the old one gave its
  // lease up, so it leads at once). It lists everything, syncs, and reconciles each department once.
  const coldSince = Date.now();
  const coldT0 = performance.now();
  const cold = await spawnController({ kubeconfig: controllerKubeconfig, identity: "bench-cold" });
  const coldReadyMs = performance.now() - coldT0;
  // Every department was queued once the caches synced: done once as many reconciles ran and the count
  // stopped moving (the time is taken when it last moved).
  let coldAllMs = 0;
  for (let seen = -1, stableSince = 0; ; ) {
    const now = await reconcileCount(cold.port, "department");
    if (now !== seen) {
      seen = now;
      stableSince = performance.now();
      coldAllMs = stableSince - coldT0;
    } else if (now >= count && performance.now() - stableSince > 2_000) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 3_000));
  const mine = new Set(names);
  const stillReady = (await admin.list<Department & KubeObject>(resources.department)).items.filter(
    (d) =>
      mine.has(d.metadata?.name as string) &&
      d.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
  ).length;
  const coldPeak = rssMiB(cold.process.pid);
  const coldCpu = cpuSeconds(cold.process.pid);
  const coldCalls = auditedRequests(auditLog, coldSince).filter((e) => replicaOf(e) === "bench-cold");
  const coldByVerb = new Map<string, number>();
  for (const e of coldCalls) coldByVerb.set(e.verb, (coldByVerb.get(e.verb) ?? 0) + 1);
  const coldWrites = new Map<string, number>();
  for (const e of coldCalls.filter((c) => !["get", "list", "watch"].includes(c.verb))) {
    const manager = fieldManagerOf(e);
    const what = `${e.verb} ${e.objectRef?.resource ?? "?"}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ""}${manager ? ` (${manager})` : ""}`;
    coldWrites.set(what, (coldWrites.get(what) ?? 0) + 1);
  }
  await cold.stop();

  // --- baseline: the same objects, applied directly (no controller, no watches, no status), with the
  // controller's own identity (the baseline admission policies reserve govhost labels to it)
  const asController = await KubeClient.fromKubeConfig(kubeConfigFrom(controllerKubeconfig));
  const settings = defaultTenancySettings;
  const baseNames = Array.from({ length: count }, (_, i) => `b${run}-${i}`);
  const perDept: number[] = [];
  const b0 = performance.now();
  await inParallel(baseNames, concurrency, async (name) => {
    const s0 = performance.now();
    const dept = (await admin.create(manifest(name))) as Department & KubeObject;
    const children = renderTenant(dept, settings);
    for (const child of children) await asController.apply(child.namespace, { fieldManager });
    const plan = planQuota(departmentTotals(dept.spec.quota), dept.spec.environments, {}, {});
    for (const child of children) {
      await asController.apply(
        renderQuota(dept, child.environment, formatAmounts(plan[child.environment] ?? {})),
        {
          fieldManager,
        },
      );
      for (const object of child.objects) await asController.apply(object, { fieldManager });
    }
    perDept.push(performance.now() - s0);
  });
  const baselineWall = performance.now() - b0;
  const baseline = summarize(perDept);
  asController.close();

  report(`controller: ${count} departments x 3 environments, ${concurrency} concurrent creates`, {
    "create-to-Ready p50": formatMs(latency.p50),
    "create-to-Ready p99": formatMs(latency.p99),
    "total wall time": `${(controllerWall / 1000).toFixed(1)} s`,
    throughput: `${(count / (controllerWall / 1000)).toFixed(1)} departments/s`,
    "controller RSS once started, no departments": `${startRss.toFixed(0)} MiB`,
    "controller peak RSS": `${peak.toFixed(0)} MiB`,
    "controller RSS once settled": `${settledRss.toFixed(0)} MiB`,
    "controller CPU, create to settled": `${cpu.toFixed(1)} s`,
    "department reconciles": String(reconciles),
    "reconciles per department": (reconciles / count).toFixed(2),
  });
  report(`cold start: a new controller with the ${count} departments already there`, {
    "leading, caches synced": `${(coldReadyMs / 1000).toFixed(1)} s`,
    "every department reconciled": `${(coldAllMs / 1000).toFixed(1)} s`,
    "departments Ready afterwards": `${stillReady} of ${count}`,
    "controller peak RSS": `${coldPeak.toFixed(0)} MiB`,
    "controller CPU, start to settled": `${coldCpu.toFixed(1)} s`,
    "API calls (from the API server's audit log)": `${coldCalls.length}: ${[...coldByVerb]
      .sort((a, b) => b[1] - a[1])
      .map(([verb, n]) => `${verb} ${n}`)
      .join(", ")}`,
    "… of which writes": [...coldWrites]
      .sort((a, b) => b[1] - a[1])
      .map(([what, n]) => `${what} ${n}`)
      .join(", "),
  });
  report("baseline: the same objects applied directly with server-side apply", {
    "per-department p50": formatMs(baseline.p50),
    "per-department p99": formatMs(baseline.p99),
    "total wall time": `${(baselineWall / 1000).toFixed(1)} s`,
  });
  report("ratio", { "controller / baseline wall time": (controllerWall / baselineWall).toFixed(2) });
});

// Soak: a mixed load for a long while, with the controller's and the portal API's memory and open files
// sampled, and a verdict on whether either grows. One local control plane; the controller and the portal API
// run as their own processes. The load, all at once:
// - pod churn in one department: pods created, started (status patched, as a kubelet would) and deleted
//   after 1 to 5 s, so metering and quota follow every pod;
// - portal API reads (list the environment's e-services) and writes (create an e-service, then delete it),
//   with a real token from the local OpenID provider;
// - accessibility scans: e-services whose pages the fixture site serves are asked to rescan in turn (the
//   scanner's jsdom workers and Chromium are where the controller's memory went before).
// Every --sample seconds: resident memory, open file descriptors and CPU of both processes, and the resident
// memory of the controller's jsdom worker processes (reported beside it, not in it). After a warm-up
// (a sixth of the run), the five windows left (a sixth each) are judged by their median resident memory
// (_growth.ts): the last window against the median of the earlier four, and the robust trend over all
// five, each at most max(10%, 16 MiB); open files, the first window against the last, at most +10.
// Prints the samples per window, the least-squares trend after warm-up, and the verdict (exit code 1 when
// a bound is broken).
//   npm run bench -- soak [--minutes 30] [--pods-per-second 5] [--reads-per-second 20] [--writes-per-second 1]
//                         [--scan-every 20] [--sample 10]
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { spawnController } from "../../tools/controller-process.ts";
import { startFixtureSite } from "../../tools/demo-site.ts";
import { loginAs } from "../../tools/oidc/login.ts";
import { departmentManifest } from "../fixtures/departments.ts";
import {
  roomyQuota,
  startPodAsKubelet,
  startPortalApiWithProvider,
  waitFor,
  waitForEServiceQuota,
  withBenchCluster,
} from "./_cluster.ts";
import { memoryGrowth } from "./_growth.ts";
import { scrape } from "./_metrics.ts";
import { commandLine, cpuSeconds, descendants, mallocHeapMiB, openFiles, rssMiB } from "./_process.ts";
import { median, report, summarize } from "./_stats.ts";

const { values } = parseArgs({
  options: {
    minutes: { type: "string", default: "30" },
    "pods-per-second": { type: "string", default: "5" },
    "reads-per-second": { type: "string", default: "20" },
    "writes-per-second": { type: "string", default: "1" },
    "scan-every": { type: "string", default: "20" },
    sample: { type: "string", default: "10" },
  },
});
const durationMs = Number(values.minutes) * 60_000;
const podsPerSecond = Number(values["pods-per-second"]);
const readsPerSecond = Number(values["reads-per-second"]);
const writesPerSecond = Number(values["writes-per-second"]);
const scanEveryMs = Number(values["scan-every"]) * 1000;
const sampleMs = Number(values.sample) * 1000;
const audience = "https://api.govhost.soak";
const dept = "soak";
const ns = `${dept}-prod`;
const scanned = ["scan-a", "scan-b", "scan-c"];

interface Sample {
  at: number;
  /**
   * heap: the main thread's V8 heap (its /metrics); the rest of RSS is code, buffers and native memory.
   * anon: the anonymous part of RSS (V8's heaps and malloc's arenas; the rest is mapped files, e.g. code);
   * brk: of it, malloc's main arena (the `[heap]` mapping).
   */
  controller: { rss: number; anon: number; brk: number; files: number; cpu: number; heap: Heap };
  /** The controller's jsdom worker processes (their own memory: they give it back when they end). */
  workers: { count: number; rss: number; largest: number };
  api: { rss: number; files: number; cpu: number; heap: Heap };
}

type Heap = Awaited<ReturnType<typeof heapMiB>>;

/** Runs `step(i)` at `perSecond` until `until`, without waiting for one step before starting the next. */
async function atRate(perSecond: number, until: number, step: (i: number) => Promise<void>): Promise<void> {
  if (perSecond <= 0) return;
  const t0 = Date.now();
  const running = new Set<Promise<void>>();
  for (let i = 0; ; i++) {
    const due = t0 + (i * 1000) / perSecond;
    if (due >= until) break;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    const run = step(i).finally(() => running.delete(run));
    running.add(run);
  }
  await Promise.all(running);
}

const heapText = (hs: Heap[]) =>
  `main heap median ${median(hs.map((h) => h.used)).toFixed(0)} in use of ${median(hs.map((h) => h.total)).toFixed(0)} reserved, external ${median(hs.map((h) => h.external)).toFixed(0)}`;

/**
 * A process's main-thread V8 heap (in use and reserved) and external memory (buffers outside the heap), in
 * MiB, from its /metrics (NaN when it does not answer).
 */
async function heapMiB(
  metricsUrl: string,
  prefix: string,
): Promise<{ used: number; total: number; external: number }> {
  const series = await scrape(metricsUrl).catch(() => () => undefined);
  const value = (name: string) => (series(`${prefix}${name}`) ?? Number.NaN) / 1024 / 1024;
  return {
    used: value("nodejs_heap_size_used_bytes"),
    total: value("nodejs_heap_size_total_bytes"),
    external: value("nodejs_external_memory_bytes"),
  };
}

/** A process's CPU over a window's samples, in percent of one core. */
function cpuShare(window: Sample[], who: "controller" | "api"): string {
  const first = window[0];
  const last = window[window.length - 1];
  if (!first || !last || last.at === first.at) return "?";
  return (((last[who].cpu - first[who].cpu) / ((last.at - first.at) / 1000)) * 100).toFixed(0);
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

await withBenchCluster("soak", async ({ admin, controllerKubeconfig, portalApiKubeconfig, root }) => {
  const site = await startFixtureSite("fixed");
  const controller = await spawnController({
    kubeconfig: controllerKubeconfig,
    identity: "soak",
    env: { GOVHOST_A11Y_PREVIEW_HOSTS: new URL(site.url).host },
  });
  const { identity, api } = await startPortalApiWithProvider({
    portalApiKubeconfig,
    root,
    audience,
    users: { "soak-admin": { name: "Soak", groups: [`${dept}-admins`] } },
  });
  const counts = {
    podsStarted: 0,
    podErrors: 0,
    reads: 0,
    readErrors: 0,
    writes: 0,
    writeErrors: 0,
    rescans: 0,
    rescanErrors: 0,
  };
  /** The first error of each kind of load, to say why it failed. */
  const firstErrors = new Map<string, string>();
  const noteError = (kind: "pod" | "read" | "write" | "rescan", error: unknown) => {
    if (!firstErrors.has(kind)) firstErrors.set(kind, error instanceof Error ? error.message : String(error));
  };
  const readLatencies: { at: number; ms: number }[] = [];
  const samples: Sample[] = [];
  try {
    await admin.create(
      departmentManifest(dept, {
        environments: ["prod"],
        domains: ["soak.gov.example"],
        quota: roomyQuota,
      }),
    );
    await waitForEServiceQuota(admin, ns);
    // Publishing is the department admins' (GH-PUB-001), accepting a preview page the approvers' (GH-A11Y-002).
    const departmentAdmin = admin.impersonating({ user: "soak-admin", groups: [`${dept}-admins`] });
    const approver = admin.impersonating({
      user: "soak-approver",
      groups: ["govhost:accessibility-approvers"],
    });
    for (const name of scanned) {
      await departmentAdmin.create({
        apiVersion: "govhost.io/v1alpha1",
        kind: "EService",
        metadata: { name, namespace: ns },
        spec: {
          image: "registry.gov.example/soak/web:1.0.0",
          replicas: 1,
          exposure: "public",
          serviceCluster: "permits-and-licences",
          accessibility: { paths: ["/", "/contact"], languages: ["en", "zh-HK"] },
        },
      });
      await approver.mergePatch(
        resources.eservice,
        name,
        { spec: { accessibility: { previewUrl: site.url } } },
        { namespace: ns },
      );
    }

    let token = await loginAs(identity.issuer, "soak-admin", audience);
    const headers = () => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });
    const collection = `${api.url}/api/v1/departments/${dept}/environments/prod/eservices`;
    await waitFor("the portal API to list the e-services", async () => {
      const response = await fetch(collection, { headers: headers() });
      return response.ok ? true : undefined;
    });

    const t0 = Date.now();
    const until = t0 + durationMs;
    // glibc's malloc tuning, when set, is inherited by the controller and the API: say so beside the figures.
    const mallocArenas = process.env.MALLOC_ARENA_MAX
      ? `, MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX}`
      : "";
    process.stdout.write(`soak: ${values.minutes} min from ${new Date(t0).toISOString()}${mallocArenas}\n`);

    const sampler = (async () => {
      for (let at = t0; at < until; at += sampleMs) {
        const wait = at - Date.now();
        if (wait > 0) await sleep(wait);
        const measure = (pid: number | undefined) => ({
          rss: rssMiB(pid, "VmRSS"),
          files: openFiles(pid),
          cpu: cpuSeconds(pid),
        });
        const workerRss = descendants(controller.process.pid)
          .filter((pid) => commandLine(pid).includes("jsdom-worker"))
          .map((pid) => {
            try {
              return rssMiB(pid, "VmRSS");
            } catch {
              return 0; // retired meanwhile
            }
          });
        samples.push({
          at: Date.now() - t0,
          controller: {
            ...measure(controller.process.pid),
            anon: rssMiB(controller.process.pid, "RssAnon"),
            brk: mallocHeapMiB(controller.process.pid),
            heap: await heapMiB(`http://127.0.0.1:${controller.port}/metrics`, "govhost_controller_"),
          },
          workers: {
            count: workerRss.length,
            rss: workerRss.reduce((a, b) => a + b, 0),
            largest: Math.max(0, ...workerRss),
          },
          api: { ...measure(api.process.pid), heap: await heapMiB(`${api.url}/metrics`, "govhost_api_") },
        });
      }
    })();

    const tokenRefresh = (async () => {
      while (Date.now() + 10 * 60_000 < until) {
        await sleep(10 * 60_000);
        token = await loginAs(identity.issuer, "soak-admin", audience);
      }
    })();

    const pods = atRate(podsPerSecond, until, async (i) => {
      const name = `p${i}`;
      try {
        await startPodAsKubelet(admin, ns, name, "soak");
        counts.podsStarted++;
        await sleep(1_000 + (i % 5) * 1_000);
        await admin.delete(resources.pod, name, ns);
      } catch (error) {
        counts.podErrors++;
        noteError("pod", error);
      }
    });

    const reads = atRate(readsPerSecond, until, async () => {
      const start = performance.now();
      try {
        const response = await fetch(collection, { headers: headers() });
        await response.arrayBuffer();
        if (!response.ok) throw new Error(String(response.status));
        counts.reads++;
        readLatencies.push({ at: Date.now() - t0, ms: performance.now() - start });
      } catch (error) {
        counts.readErrors++;
        noteError("read", error);
      }
    });

    const writes = atRate(writesPerSecond, until, async (i) => {
      try {
        const created = await fetch(collection, {
          method: "POST",
          headers: headers(),
          body: JSON.stringify({
            name: `w${i}`,
            spec: { image: "registry.gov.example/soak/web:1.0.0", replicas: 1 },
          }),
        });
        if (created.status !== 201) throw new Error(`create: ${created.status} ${await created.text()}`);
        await created.arrayBuffer();
        const deleted = await fetch(`${collection}/w${i}`, {
          method: "DELETE",
          headers: { authorization: `Bearer ${token}` },
        });
        if (!deleted.ok) throw new Error(`delete: ${deleted.status} ${await deleted.text()}`);
        await deleted.arrayBuffer();
        counts.writes++;
      } catch (error) {
        counts.writeErrors++;
        noteError("write", error);
      }
    });

    const rescans = atRate(scanned.length / (scanEveryMs / 1000), until, async (i) => {
      try {
        await departmentAdmin.mergePatch(
          resources.eservice,
          scanned[i % scanned.length] as string,
          { metadata: { annotations: { "govhost.io/rescan-requested": `soak-${i}` } } },
          { namespace: ns },
        );
        counts.rescans++;
      } catch (error) {
        counts.rescanErrors++;
        noteError("rescan", error);
      }
    });

    await Promise.all([sampler, tokenRefresh, pods, reads, writes, rescans]);
    const scans = await Promise.all(
      scanned.map((name) =>
        admin.get<KubeObject & { status?: { accessibility?: { scannedAt?: string } } }>(
          resources.eservice,
          name,
          ns,
        ),
      ),
    );

    // --- figures
    const windowMs = durationMs / 6;
    const windows = Array.from({ length: 6 }, (_, w) =>
      samples.filter((s) => Math.floor(s.at / windowMs) === w),
    );
    const rows: Record<string, string> = {};
    windows.forEach((ws, w) => {
      if (ws.length === 0) return;
      const minutes = (ms: number) => Number((ms / 60_000).toFixed(1));
      const from = minutes(w * windowMs);
      const to = minutes((w + 1) * windowMs);
      const lat = readLatencies.filter((r) => Math.floor(r.at / windowMs) === w).map((r) => r.ms);
      const s = summarize(lat);
      rows[`${from}–${to} min`] =
        `controller ${cpuShare(ws, "controller")}% of a core, RSS median ${median(ws.map((x) => x.controller.rss)).toFixed(0)} MiB (max ${Math.max(...ws.map((x) => x.controller.rss)).toFixed(0)}, anonymous ${median(ws.map((x) => x.controller.anon)).toFixed(0)}, malloc's main arena ${median(ws.map((x) => x.controller.brk)).toFixed(0)}; ${heapText(ws.map((x) => x.controller.heap))}), files ${Math.max(...ws.map((x) => x.controller.files))}; ` +
        `jsdom workers up to ${Math.max(...ws.map((x) => x.workers.count))}, together max ${Math.max(...ws.map((x) => x.workers.rss)).toFixed(0)} MiB, largest ${Math.max(...ws.map((x) => x.workers.largest)).toFixed(0)}; ` +
        `API ${cpuShare(ws, "api")}% of a core, RSS median ${median(ws.map((x) => x.api.rss)).toFixed(0)} MiB (max ${Math.max(...ws.map((x) => x.api.rss)).toFixed(0)}; ${heapText(ws.map((x) => x.api.heap))}), files ${Math.max(...ws.map((x) => x.api.files))}; ` +
        `read p50 ${s.p50.toFixed(1)} ms, p99 ${s.p99.toFixed(1)} ms`;
    });
    report(
      `soak: ${values.minutes} min; ${podsPerSecond} pods/s, ${readsPerSecond} reads/s, ${writesPerSecond} writes/s, a rescan every ${(scanEveryMs / 1000 / scanned.length).toFixed(1)} s; samples every ${sampleMs / 1000} s`,
      rows,
    );

    const last = samples[samples.length - 1];
    const first = samples[0];
    const wall = ((last?.at ?? 0) - (first?.at ?? 0)) / 1000;
    report("load done", {
      "pods started and deleted": `${counts.podsStarted} (errors ${counts.podErrors})`,
      "API reads": `${counts.reads} (errors ${counts.readErrors})`,
      "API writes (create + delete)": `${counts.writes} (errors ${counts.writeErrors})`,
      "rescans requested": `${counts.rescans} (errors ${counts.rescanErrors}); last scans at ${scans.map((e) => e.status?.accessibility?.scannedAt ?? "never").join(", ")}`,
      "controller CPU": `${((last?.controller.cpu ?? 0) - (first?.controller.cpu ?? 0)).toFixed(0)} s over ${wall.toFixed(0)} s`,
      ...Object.fromEntries(
        [...firstErrors].map(([kind, message]) => [`first ${kind} error`, message.slice(0, 300)]),
      ),
      "portal API CPU": `${((last?.api.cpu ?? 0) - (first?.api.cpu ?? 0)).toFixed(0)} s over ${wall.toFixed(0)} s`,
    });

    const afterWarmUp = samples.filter((s) => s.at >= windowMs);
    const firstWindow = windows[1] ?? [];
    const lastWindow = windows[5] ?? [];
    const verdicts: [string, string][] = [];
    const trend: Record<string, string> = {};
    let failed = false;
    const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(0)}`;
    for (const who of ["controller", "api"] as const) {
      const medians = windows.slice(1).map((ws) => median(ws.map((s) => s[who].rss)));
      const growth = memoryGrowth(medians, { share: 0.1, floor: 16 });
      const filesBefore = Math.max(...firstWindow.map((s) => s[who].files));
      const filesAfter = Math.max(...lastWindow.map((s) => s[who].files));
      const perHour = slope(afterWarmUp.map((s) => [s.at / 3_600_000, s[who].rss]));
      trend[who] =
        `${perHour >= 0 ? "+" : ""}${perHour.toFixed(1)} MiB/hour (least squares over ${afterWarmUp.length} samples after warm-up)`;
      const filesOk = filesAfter - filesBefore <= 10;
      failed ||= !growth.ok || !filesOk;
      verdicts.push([
        who,
        `RSS medians ${medians.map((m) => m.toFixed(0)).join(", ")} MiB: last window ${signed(growth.step)} against the median of the earlier ones (${growth.baseline.toFixed(0)}), Theil–Sen trend ${signed(growth.trend)} over them; bound +${growth.bound.toFixed(0)} for each: ${growth.ok ? "ok" : "GROWS"}; open files ${filesBefore} → ${filesAfter} (bound +10) ${filesOk ? "ok" : "GROWS"}`,
      ]);
    }
    const workersPeak = Math.max(0, ...samples.map((s) => s.workers.largest));
    const workersAtOnce = Math.max(0, ...samples.map((s) => s.workers.count));
    verdicts.push([
      "jsdom workers",
      `processes of their own, each retired once resident past 320 MiB after a page: largest seen ${workersPeak.toFixed(0)} MiB, at most ${workersAtOnce} at once (not in the controller's RSS above)`,
    ]);
    // A step (not a slope) is what the 60-minute runs showed: when it came after warm-up, and what moved with it.
    const steps = afterWarmUp.slice(1).map((s, i) => ({ from: afterWarmUp[i] as Sample, to: s }));
    const largest = steps.reduce<(typeof steps)[number] | undefined>(
      (best, step) =>
        !best ||
        step.to.controller.rss - step.from.controller.rss > best.to.controller.rss - best.from.controller.rss
          ? step
          : best,
      undefined,
    );
    if (largest) {
      const at = (ms: number) =>
        `${Math.floor(ms / 60_000)}:${String(Math.floor((ms % 60_000) / 1000)).padStart(2, "0")}`;
      const delta = (f: (x: Sample) => number) => {
        const d = f(largest.to) - f(largest.from);
        return `${d >= 0 ? "+" : ""}${d.toFixed(0)}`;
      };
      trend["controller's largest step after warm-up"] =
        `${delta((x) => x.controller.rss)} MiB RSS between ${at(largest.from.at)} and ${at(largest.to.at)}: anonymous ${delta((x) => x.controller.anon)}, malloc's main arena ${delta((x) => x.controller.brk)}, main heap in use ${delta((x) => x.controller.heap.used)}, jsdom workers ${largest.from.workers.count} → ${largest.to.workers.count}`;
    }
    report("RSS trend", trend);
    report("verdict (the windows after warm-up)", {
      ...Object.fromEntries(verdicts),
      result: failed ? "FAIL: growth beyond the bound" : "PASS: no growth beyond the bound",
    });
    if (failed) process.exitCode = 1;
  } finally {
    await api.stop();
    await identity.close();
    await controller.stop();
    await site.close();
  }
});

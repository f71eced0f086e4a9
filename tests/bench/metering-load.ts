// Benchmark: the controller's steady-state cost under a stream of allocation events. Pods are created,
// started (status patched, as a kubelet would) and deleted at a fixed rate in one department; the
// controller meters them (and rebalances quota, as it does in production). Prints events/s observed and the
// controller's CPU per 1,000 events/s (from /proc, user + system time), both in all and above what the
// controller uses idle (leases, periodic work) over the same time.
// With --profile, the controller runs under V8's CPU profiler (which costs some CPU itself), and where its
// main thread spent the time is printed too. With --allocations, V8's sampling heap profiler records where
// it allocated (freed objects included; it costs some CPU too), printed per file and function with the
// bytes per pod event. --profile-from N summarizes only the profile's samples from N seconds into the load.
// Every --window seconds (default 60) the controller's CPU, events and RSS are sampled and printed per
// window: metering's cost grows with a department's ledger, so a short run's average is not its steady state.
// The controller's CPU is also printed per thread (main, V8's helpers, libuv's pool; user and system).
// After the load it waits for the last deleted pod's end to reach the ledger and prints how long that took:
// a controller that fell behind would otherwise look cheap (its CPU covers only the events it handled).
// --node-flag (repeatable) starts the controller with more Node/V8 flags, e.g. a garbage collector setting.
//   npm run bench -- metering-load [--pods-per-second 25] [--seconds 20] [--window 60] [--profile]
//     [--profile-from 600] [--allocations] [--node-flag=--single-threaded-gc]
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { ledgerOf } from "../../lib/chargeback/ledger.ts";
import { readLedger } from "../../lib/chargeback/ledger-read.ts";
import type { KubeClient } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { spawnController } from "../../tools/controller-process.ts";
import { departmentManifest } from "../fixtures/departments.ts";
import { allocationProfileEnv, allocationRows } from "./_allocations.ts";
import { podEventCounter, startPodAsKubelet, withBenchCluster } from "./_cluster.ts";
import { cpuSeconds, rssMiB, threadCpuSeconds } from "./_process.ts";
import { profileFlags, profileRows, summarizeProfileDir } from "./_profile.ts";
import { report } from "./_stats.ts";

const { values } = parseArgs({
  options: {
    "pods-per-second": { type: "string", default: "25" },
    seconds: { type: "string", default: "20" },
    profile: { type: "boolean", default: false },
    allocations: { type: "boolean", default: false },
    "node-flag": { type: "string", multiple: true, default: [] },
    window: { type: "string", default: "60" },
    "profile-from": { type: "string", default: "0" },
  },
});
const rate = Number(values["pods-per-second"]);
const seconds = Number(values.seconds);
const windowSeconds = Number(values.window);
const profileFromSeconds = Number(values["profile-from"]);

interface Window {
  endsAt: number;
  events: number;
  cpu: number;
  rss: number;
}

await withBenchCluster("metering", async ({ admin, controllerKubeconfig }) => {
  const profileDir = values.profile ? mkdtempSync(join(tmpdir(), "govhost-profile-")) : undefined;
  const allocationsDir = values.allocations ? mkdtempSync(join(tmpdir(), "govhost-allocations-")) : undefined;
  const allocationEnv = allocationsDir ? allocationProfileEnv(allocationsDir) : {};
  const nodeOptions = [profileDir && profileFlags(profileDir), allocationEnv.NODE_OPTIONS].filter(Boolean);
  const spawnedAt = performance.now();
  const controller = await spawnController({
    kubeconfig: controllerKubeconfig,
    identity: "bench",
    nodeFlags: values["node-flag"],
    env: {
      ...allocationEnv,
      ...(nodeOptions.length ? { NODE_OPTIONS: nodeOptions.join(" ") } : {}),
    },
  });
  const quota = {
    cpu: "64",
    memory: "256Gi",
    storage: "1Ti",
    pods: 5000,
    eServices: 10,
    publicEndpoints: 10,
  };
  await admin.create(departmentManifest("load", { environments: ["prod"], quota }));
  while (!(await admin.find(resources.namespace, "load-prod"))) await sleep(100);
  await sleep(2_000);

  // What the controller costs with nothing happening (lease renewals, periodic refreshes), for comparison.
  const idleStart = cpuSeconds(controller.process.pid);
  const idleT0 = performance.now();
  await sleep(10_000);
  const idleCoreShare =
    (cpuSeconds(controller.process.pid) - idleStart) / ((performance.now() - idleT0) / 1000);

  const watch = new AbortController();
  // Pods' metadata is enough to count their events (the bench's own watch costs the machine less).
  const counter = await podEventCounter(admin, watch.signal);
  const eventsBefore = counter.events();
  const eventsSoFar = () => counter.events() - eventsBefore;

  let lastDeletedUid: string | undefined;
  const lifecycle = async (i: number) => {
    const name = `p${i}`;
    try {
      const uid = await startPodAsKubelet(admin, "load-prod", name, "load");
      await sleep(1_000);
      await admin.delete(resources.pod, name, "load-prod");
      lastDeletedUid = uid;
    } catch {
      // a refused create (quota busy) is part of the load, not of the measurement
    }
  };

  const cpuStart = cpuSeconds(controller.process.pid);
  const threadsStart = threadCpuSeconds(controller.process.pid);
  const t0 = performance.now();
  const windows: Window[] = [];
  const sample = () => {
    const last = windows.at(-1) ?? { endsAt: 0, events: 0, cpu: 0 };
    const now = {
      endsAt: (performance.now() - t0) / 1000,
      events: eventsSoFar(),
      cpu: cpuSeconds(controller.process.pid) - cpuStart,
      rss: rssMiB(controller.process.pid, "VmRSS"),
    };
    windows.push(now);
    process.stderr.write(`metering-load: ${now.endsAt.toFixed(0)} s, ${windowSummary(last, now)}\n`);
  };
  const sampler = setInterval(sample, windowSeconds * 1000);
  const running: Promise<void>[] = [];
  for (let i = 0; i < rate * seconds; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    running.push(lifecycle(i));
  }
  await Promise.all(running);
  await sleep(2_000); // let the controller drain
  clearInterval(sampler);
  if (windowSeconds < seconds) sample();
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(controller.process.pid) - cpuStart;
  const threads = threadCpuSeconds(controller.process.pid);
  const peakRss = rssMiB(controller.process.pid);
  watch.abort();
  const events = eventsSoFar();
  const eventsPerSecond = events / wall;
  // A controller that fell behind the load would look cheap: its CPU above covers only what it handled.
  const caughtUp = await lastPodEndRecorded(admin, lastDeletedUid);
  await controller.stop();

  report(`controller under load: ${rate} pod lifecycles/s (create, start, delete) for ${seconds}s`, {
    "pod watch events": events,
    "events/s": eventsPerSecond.toFixed(0),
    "controller CPU": `${cpu.toFixed(1)} s over ${wall.toFixed(1)} s (${((cpu / wall) * 100).toFixed(0)}% of one core)`,
    "controller CPU idle": `${(idleCoreShare * 100).toFixed(1)}% of one core`,
    "CPU per 1,000 events/s": `${((cpu / wall) * (1000 / eventsPerSecond)).toFixed(2)} cores`,
    "CPU per 1,000 events/s above idle": `${((cpu / wall - idleCoreShare) * (1000 / eventsPerSecond)).toFixed(2)} cores`,
    "controller peak RSS": `${peakRss.toFixed(0)} MiB`,
    "the last deleted pod's end in the ledger": caughtUp,
    "the bench's pod watch": `resumed ${counter.informer.watchCounts.restarts} times, listed again ${counter.informer.watchCounts.relists} times`,
    ...(profileDir || allocationsDir ? { profiled: "yes (the profilers' own cost is included)" } : {}),
    ...(values["node-flag"].length ? { "controller's extra flags": values["node-flag"].join(" ") } : {}),
  });
  report(
    "controller CPU by thread over the load (user + system, share of the process's)",
    threadRows(threadsStart, threads, cpu),
  );
  if (windows.length > 1) report(`controller per window of ${windowSeconds} s`, windowRows(windows));
  if (allocationsDir) {
    report(
      "controller allocations, whole run (idle, load, drain), sampled, per event of the load",
      allocationRows(allocationsDir, 25, events),
    );
    console.log(`the allocation profile: ${allocationsDir}`);
  }
  if (profileDir) {
    // The profile begins as the controller's process starts, about when it was spawned.
    const loadStartMs = profileFromSeconds > 0 ? t0 - spawnedAt : 0;
    report(
      profileFromSeconds > 0
        ? `controller main thread, from ${profileFromSeconds} s into the load to its end, by self and total time`
        : "controller main thread, whole run (idle, load, drain), by self and total time",
      profileRows(summarizeProfileDir(profileDir, loadStartMs + profileFromSeconds * 1000), 30),
    );
    // Kept for a closer look (call trees: Chrome DevTools' Performance panel or speedscope open it).
    console.log(`the profile: ${profileDir}`);
  }
});

/**
 * How long after the load's CPU was read the controller's ledger held the end of the last pod deleted: a
 * controller that kept up records it within its batch window; one that fell behind, much later or not
 * within two minutes (then its CPU figure is not the cost of the whole load).
 */
async function lastPodEndRecorded(admin: KubeClient, uid: string | undefined): Promise<string> {
  if (!uid) return "unknown (no pod was created and deleted)";
  const t0 = performance.now();
  while (performance.now() - t0 < 120_000) {
    const shards = await readLedger(admin, "load");
    const ended = shards.some((data) =>
      ledgerOf("load", data).changes.some((c) => c.subject === `pod/${uid}` && c.amount === 0n),
    );
    if (ended) return `recorded ${((performance.now() - t0) / 1000).toFixed(1)} s after the load`;
    await sleep(250);
  }
  return "NOT recorded within 120 s after the load: the controller fell behind, its CPU figure is too low";
}

/**
 * Each thread name's CPU between two readings, largest first: threads that started meanwhile count from
 * zero, threads that ended meanwhile are not counted (their time is only in the process's total).
 */
function threadRows(
  before: ReturnType<typeof threadCpuSeconds>,
  after: ReturnType<typeof threadCpuSeconds>,
  processCpu: number,
): Record<string, string> {
  const byName = new Map<string, { user: number; system: number }>();
  for (const [tid, { name, user, system }] of after) {
    const start = before.get(tid) ?? { user: 0, system: 0 };
    const sum = byName.get(name) ?? { user: 0, system: 0 };
    byName.set(name, { user: sum.user + user - start.user, system: sum.system + system - start.system });
  }
  const rows = [...byName].sort(([, a], [, b]) => b.user + b.system - (a.user + a.system));
  return Object.fromEntries(
    rows.map(([name, r]) => [
      name,
      `${r.user.toFixed(1)} + ${r.system.toFixed(1)} s (${(((r.user + r.system) / processCpu) * 100).toFixed(0)}%)`,
    ]),
  );
}

/** Per window: events/s, the controller's share of a core, cores per 1,000 events/s, RSS at its end. */
function windowRows(windows: Window[]): Record<string, string> {
  const rows: Record<string, string> = {};
  let last: Omit<Window, "rss"> = { endsAt: 0, events: 0, cpu: 0 };
  for (const now of windows) {
    rows[`${last.endsAt.toFixed(0)}-${now.endsAt.toFixed(0)} s`] = windowSummary(last, now);
    last = now;
  }
  return rows;
}

/** One window, from the sample before (`last`) to `now`. */
function windowSummary(last: Omit<Window, "rss">, now: Window): string {
  const wall = now.endsAt - last.endsAt;
  const eventsPerSecond = (now.events - last.events) / wall;
  const coreShare = (now.cpu - last.cpu) / wall;
  const perThousand = eventsPerSecond > 0 ? ((coreShare * 1000) / eventsPerSecond).toFixed(2) : "-";
  return `${eventsPerSecond.toFixed(0)} events/s, ${(coreShare * 100).toFixed(0)}% of one core, ${perThousand} cores per 1,000 events/s, RSS ${now.rss.toFixed(0)} MiB`;
}

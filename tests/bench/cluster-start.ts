// Benchmark: local control plane. Prints the cold build time (when it had to build, or the time recorded
// when the cached binaries were built), warm start-to-ready seconds, and ConfigMap create latency.
//   npm run bench -- cluster-start [--starts 3] [--configmaps 500]
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { startControlPlane, stopControlPlane } from "../../tools/cluster/controlplane.ts";
import { resolveControlPlaneBinaries } from "../../tools/upstream/binaries.ts";
import { govhostCacheDir, pinnedVersions } from "../../tools/upstream/versions.ts";
import { formatMs, report, summarize } from "./_stats.ts";

const { values } = parseArgs({
  options: { starts: { type: "string", default: "3" }, configmaps: { type: "string", default: "500" } },
});
const starts = Number(values.starts);
const configMaps = Number(values.configmaps);

function recordedBuildSeconds(group: string): string {
  const file = join(govhostCacheDir(), "bin", group, "build-seconds");
  return existsSync(file)
    ? `${(Number(readFileSync(file, "utf8")) / 60).toFixed(1)} min (recorded at build)`
    : "n/a";
}

const buildStart = Date.now();
const binaries = resolveControlPlaneBinaries({ build: true });
const buildMs = Date.now() - buildStart;
const { kubernetes, etcd } = pinnedVersions();
report("build", {
  "resolve/build now":
    buildMs > 5_000 ? `${(buildMs / 60_000).toFixed(1)} min (built in this run)` : "cached",
  [`kubernetes ${kubernetes} cold build`]: recordedBuildSeconds(`kubernetes-${kubernetes}`),
  [`etcd ${etcd} cold build`]: recordedBuildSeconds(`etcd-${etcd}`),
});

const root = mkdtempSync(join(tmpdir(), "govhost-bench-"));
const startMs: number[] = [];
let latencies: number[] = [];
try {
  for (let i = 0; i < starts; i++) {
    const t0 = performance.now();
    const state = await startControlPlane({
      binaries,
      kubeconfig: join(root, `kubeconfig-${i}`),
      tmpRoot: root,
    });
    startMs.push(performance.now() - t0);
    if (i === starts - 1) {
      const kc = new KubeConfig();
      kc.loadFromFile(state.kubeconfig);
      const core = kc.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: "bench" } } });
      latencies = [];
      for (let n = 0; n < configMaps; n++) {
        const c0 = performance.now();
        await core.createNamespacedConfigMap({
          namespace: "bench",
          body: { metadata: { name: `cm-${n}` }, data: { payload: "x".repeat(256) } },
        });
        latencies.push(performance.now() - c0);
      }
    }
    await stopControlPlane(state);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

const start = summarize(startMs.map((ms) => ms / 1000));
report(`warm start to ready (etcd + kube-apiserver + kube-controller-manager), ${starts} starts`, {
  p50: `${start.p50.toFixed(2)} s`,
  max: `${start.max.toFixed(2)} s`,
});
const create = summarize(latencies);
const totalS = latencies.reduce((a, b) => a + b, 0) / 1000;
report(`ConfigMap create latency, ${configMaps} sequential creates`, {
  p50: formatMs(create.p50),
  p99: formatMs(create.p99),
  max: formatMs(create.max),
  throughput: `${(configMaps / totalS).toFixed(0)} creates/s`,
});

import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { connectionsPerClient, KubeClient, type KubeObject } from "../../lib/kube/client.ts";
import { platformOwned, tenantDeclared } from "../../policies/keys.ts";
import { kubeConfigFrom } from "../../tools/cluster/credentials.ts";
import { withBenchCluster } from "./_cluster.ts";
import { formatMs, report, summarize } from "./_stats.ts";

// Two ways to load admission:
//   --rate R (default 40): open loop, R creates a second whatever the answers (latency at a known load);
//   --writers N: closed loop, N writers each sending its next create when its last is answered, as load
//     tests with N virtual users do (Kyverno publishes its average at 100), each writer on a connection
//     of its own so that waiting for a connection is not counted as admission.
const { values } = parseArgs({
  options: {
    rate: { type: "string", default: "40" },
    writers: { type: "string" },
    seconds: { type: "string", default: "10" },
  },
});
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const writers = values.writers === undefined ? undefined : Number(values.writers);
const count = rate * seconds;

const restricted = {
  "pod-security.kubernetes.io/enforce": "restricted",
  "pod-security.kubernetes.io/enforce-version": "v1.37",
};

function pod(namespace: string, name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace,
      labels: { app: "bench", [tenantDeclared.dataClassification]: "UNCLASSIFIED" },
    },
    spec: {
      securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "app",
          image: "registry.gov.example/bench/app:1.0.0",
          imagePullPolicy: "Always",
          resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "50m", memory: "32Mi" } },
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"] },
            readOnlyRootFilesystem: true,
          },
        },
      ],
    },
  };
}

/** Open loop: request i is sent at t0 + i/rate whether or not earlier ones have answered. */
async function fixedRate(client: KubeClient, namespace: string, prefix: string) {
  const latencies: number[] = [];
  let failures = 0;
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    inflight.push(
      (async () => {
        const start = performance.now();
        try {
          await client.create(pod(namespace, `${prefix}-${i}`));
          latencies.push(performance.now() - start);
        } catch {
          failures++;
        }
      })(),
    );
  }
  await Promise.all(inflight);
  return { latencies, failures, seconds: (performance.now() - t0) / 1000 };
}

/** Closed loop: each writer sends its next create as soon as its last is answered, until the time is up. */
async function concurrentWriters(
  clients: KubeClient[],
  writerCount: number,
  namespace: string,
  prefix: string,
) {
  const latencies: number[] = [];
  let failures = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: writerCount }, async (_, writer) => {
      const client = clients[writer % clients.length] as KubeClient;
      for (let i = 0; performance.now() < end; i++) {
        const start = performance.now();
        try {
          await client.create(pod(namespace, `${prefix}-${writer}-${i}`));
          latencies.push(performance.now() - start);
        } catch {
          failures++;
        }
      }
    }),
  );
  return { latencies, failures, seconds: (performance.now() - t0) / 1000 };
}

await withBenchCluster("admission", async ({ admin, root }) => {
  const tenant = {
    ...restricted,
    [platformOwned.department]: "bench",
    [platformOwned.environment]: "dev",
  };
  await admin.create({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "plain", labels: restricted },
  });
  await admin.create({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: "tenant",
      labels: tenant,
      annotations: { [platformOwned.maxDataClassification]: "RESTRICTED" },
    },
  });
  await sleep(2_000); // let the API server's policy and namespace caches settle

  const clients =
    writers === undefined
      ? [admin]
      : await Promise.all(
          Array.from({ length: Math.ceil(writers / connectionsPerClient) }, () =>
            KubeClient.fromKubeConfig(kubeConfigFrom(join(root, "admin.kubeconfig"))),
          ),
        );
  try {
    const phase = (namespace: string, prefix: string) =>
      writers === undefined
        ? fixedRate(admin, namespace, prefix)
        : concurrentWriters(clients, writers, namespace, prefix);
    await phase("plain", "warmup"); // JIT, connections and caches warm for both phases
    const without = await phase("plain", "p");
    const withBaseline = await phase("tenant", "t");

    const a = summarize(without.latencies);
    const b = summarize(withBaseline.latencies);
    const answered = (run: { latencies: number[]; failures: number; seconds: number }) =>
      ((run.latencies.length + run.failures) / run.seconds).toFixed(1);
    report(
      writers === undefined
        ? `pod create at ${rate}/s for ${seconds}s (${count} pods per phase), Pod Security restricted in both`
        : `pod create by ${writers} concurrent writers for ${seconds}s, Pod Security restricted in both`,
      {
        "without baseline p50 / mean / p99": `${formatMs(a.p50)} / ${formatMs(a.mean)} / ${formatMs(a.p99)}`,
        "with baseline p50 / mean / p99": `${formatMs(b.p50)} / ${formatMs(b.mean)} / ${formatMs(b.p99)}`,
        "added by the baseline: mean, p99": `${formatMs(b.mean - a.mean)}, ${formatMs(b.p99 - a.p99)}`,
        "ratio p50, p99 (with / without)": `${(b.p50 / a.p50).toFixed(2)}, ${(b.p99 / a.p99).toFixed(2)}`,
        "creates answered (without / with)": `${a.count} / ${b.count}`,
        "failed creates (without / with)": `${without.failures} / ${withBaseline.failures}`,
        "achieved rate (without / with)": `${answered(without)} / ${answered(withBaseline)} per s`,
      },
    );
  } finally {
    if (writers !== undefined) for (const client of clients) client.close();
  }
});

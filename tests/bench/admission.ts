import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { platformOwned, tenantDeclared } from "../../policies/keys.ts";
import { withBenchCluster } from "./_cluster.ts";
import { formatMs, report, summarize } from "./_stats.ts";

const { values } = parseArgs({
  options: { rate: { type: "string", default: "40" }, seconds: { type: "string", default: "10" } },
});
const rate = Number(values.rate);
const count = rate * Number(values.seconds);

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

await withBenchCluster("admission", async ({ admin }) => {
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
  await fixedRate(admin, "plain", "warmup"); // JIT, connections and caches warm for both phases

  const without = await fixedRate(admin, "plain", "p");
  const withBaseline = await fixedRate(admin, "tenant", "t");

  const a = summarize(without.latencies);
  const b = summarize(withBaseline.latencies);
  report(
    `pod create at ${rate}/s for ${values.seconds}s (${count} pods per phase), Pod Security restricted in both`,
    {
      "without baseline p50": formatMs(a.p50),
      "without baseline p99": formatMs(a.p99),
      "with baseline p50": formatMs(b.p50),
      "with baseline p99": formatMs(b.p99),
      "ratio p50 (with / without)": (b.p50 / a.p50).toFixed(2),
      "ratio p99 (with / without)": (b.p99 / a.p99).toFixed(2),
      "failed creates (without / with)": `${without.failures} / ${withBaseline.failures}`,
      "achieved rate (without / with)": `${(count / without.seconds).toFixed(1)} / ${(count / withBaseline.seconds).toFixed(1)} per s`,
    },
  );
});

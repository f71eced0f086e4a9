// Benchmark: the portal API under autocannon at fixed request rates, for an authenticated read (list a
// namespace's e-services, served from the API's watch caches; `--seed` e-services are there first) and a write (create an e-service: token check, department lookup, dry run of the
// EService and of its workload as the caller, create, audit record). The API runs as its own process with
// its service account against a fresh local control plane; tokens come from the local OpenID provider.
// autocannon keeps a rate as a quota per connection per second: each connection sends back to back until it
// has sent its share, then waits for the next second, so every second begins with 32 requests in flight.
// Each read row also gives the API's own view (its duration histogram), which the network and the
// scheduling of the 2 cores are not part of.
//   npm run bench -- api [--seconds 10] [--seed 20] [--reads 100,200,400,800,1000,1200] [--writes 10,20,40,80]
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { resources } from "../../lib/kube/resources.ts";
import { spawnController } from "../../tools/controller-process.ts";
import { loginAs } from "../../tools/oidc/login.ts";
import { departmentManifest } from "../fixtures/departments.ts";
import {
  roomyQuota,
  startPortalApiWithProvider,
  waitFor,
  waitForEServiceQuota,
  withBenchCluster,
} from "./_cluster.ts";
import { report } from "./_stats.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    seed: { type: "string", default: "20" },
    reads: { type: "string", default: "100,200,400,800,1000,1200" },
    writes: { type: "string", default: "10,20,40,80" },
  },
});
const seconds = Number(values.seconds);
const audience = "https://api.govhost.bench";

interface Run {
  target: number;
  achieved: number;
  p50: number;
  p99: number;
  errors: number;
  /** The API's own count of these requests by how long it took to answer them (its duration histogram). */
  inApi?: string;
}

/** Buckets (seconds) of the API's request duration histogram for one route, method and status. */
async function durationBuckets(api: string, route: string, method: string): Promise<Map<string, number>> {
  const text = await fetch(`${api}/metrics`).then((r) => r.text());
  const buckets = new Map<string, number>();
  const pattern = /^govhost_api_request_duration_seconds_bucket\{(.*)\} (\d+)$/;
  for (const line of text.split("\n")) {
    const match = pattern.exec(line);
    if (!match?.[1] || !match[2]) continue;
    const labels = Object.fromEntries([...match[1].matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (labels.route === route && labels.method === method && labels.status === "200" && labels.le)
      buckets.set(labels.le, Number(match[2]));
  }
  return buckets;
}

/** The share of a run's requests the API itself answered within 5, 10 and 25 ms (before the network). */
function inApiShares(before: Map<string, number>, after: Map<string, number>): string {
  const count = (le: string) => (after.get(le) ?? 0) - (before.get(le) ?? 0);
  const total = count("+Inf");
  if (total === 0) return "no requests counted";
  const share = (le: string) => `${((100 * count(le)) / total).toFixed(1)}%`;
  return `answered by the API within 5 / 10 / 25 ms: ${share("0.005")} / ${share("0.01")} / ${share("0.025")}`;
}

async function run(options: autocannon.Options, target: number): Promise<Run> {
  const result = await autocannon({ ...options, overallRate: target, duration: seconds, connections: 32 });
  return {
    target,
    achieved: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

function print(title: string, runs: Run[]): void {
  const rows: Record<string, string> = {};
  for (const r of runs) {
    // A rate asked more than once (`--reads 1000,1000`) keeps a row per run.
    const base = `${r.target} req/s`;
    let key = base;
    for (let n = 2; key in rows; n++) key = `${base} (run ${n})`;
    rows[key] =
      `achieved ${r.achieved.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms, errors/non-2xx ${r.errors}` +
      (r.inApi ? `; ${r.inApi}` : "");
  }
  const sustained = runs.filter((r) => r.errors === 0 && r.achieved >= r.target * 0.95 && r.p99 < 1000);
  rows["max sustainable"] = sustained.length
    ? `${Math.max(...sustained.map((r) => r.target))} req/s (no errors, >= 95% of target, p99 < 1 s)`
    : "none of the rates tried";
  report(title, rows);
}

await withBenchCluster("api", async ({ admin, controllerKubeconfig, portalApiKubeconfig, root }) => {
  const controller = await spawnController({ kubeconfig: controllerKubeconfig });
  const dept = "bench";
  await admin.create(
    departmentManifest(dept, {
      environments: ["prod"],
      quota: roomyQuota,
    }),
  );
  await waitForEServiceQuota(admin, `${dept}-prod`);

  const { identity, api } = await startPortalApiWithProvider({
    portalApiKubeconfig,
    root,
    audience,
    users: { "bench-admin": { name: "Bench", groups: [`${dept}-admins`] } },
    inheritStderr: true,
  });
  const url = api.url;
  try {
    const token = await loginAs(identity.issuer, "bench-admin", audience);
    const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const collection = `${url}/api/v1/departments/${dept}/environments/prod/eservices`;

    for (let i = 0; i < Number(values.seed); i++)
      await admin.create({
        apiVersion: "govhost.io/v1alpha1",
        kind: "EService",
        metadata: { name: `seed-${i}`, namespace: `${dept}-prod` },
        spec: { image: "registry.gov.example/bench/web:1.0.0", replicas: 1 },
      });
    await waitFor(`the ${values.seed} seeded e-services listed`, async () => {
      const response = await fetch(collection, { headers });
      const body = (await response.json()) as { items?: unknown[] };
      return body.items?.length === Number(values.seed) ? true : undefined;
    });

    const reads: Run[] = [];
    const listRoute = "/api/v1/departments/:dept/environments/:env/eservices";
    for (const rate of values.reads.split(",").map(Number)) {
      const before = await durationBuckets(url, listRoute, "GET");
      const result = await run({ url: collection, headers }, rate);
      reads.push({ ...result, inApi: inApiShares(before, await durationBuckets(url, listRoute, "GET")) });
    }
    print(
      `authenticated read: GET .../eservices listing ${values.seed} (${seconds} s per rate, 32 connections)`,
      reads,
    );

    let n = 0;
    const writes: Run[] = [];
    for (const rate of values.writes.split(",").map(Number)) {
      writes.push(
        await run(
          {
            url: collection,
            method: "POST",
            headers,
            // A fresh name for every request.
            requests: [
              {
                method: "POST",
                setupRequest: (request) => ({
                  ...request,
                  body: JSON.stringify({
                    name: `w${n++}`,
                    spec: { image: "registry.gov.example/bench/web:1.0.0", replicas: 1 },
                  }),
                }),
              },
            ],
          },
          rate,
        ),
      );
    }
    print(
      `write: POST .../eservices with dry runs and audit (${seconds} s per rate, 32 connections)`,
      writes,
    );
    const rss = await fetch(`${url}/metrics`).then((r) => r.text());
    const memory = /govhost_api_process_resident_memory_bytes (\d+)/.exec(rss)?.[1];
    report("portal API process", {
      "resident memory after the runs": memory ? `${Math.round(Number(memory) / 1048576)} MiB` : "n/a",
      "e-services created": String(
        (await admin.list(resources.eservice, { namespace: `${dept}-prod` })).items.length,
      ),
    });
  } finally {
    await api.stop();
    await identity.close();
    await controller.stop();
  }
});

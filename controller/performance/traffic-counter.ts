import type { Logger } from "pino";
import { Counter, Gauge, type Registry } from "prom-client";
import { periodOf } from "../../lib/chargeback/calendar.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import {
  type DepartmentTraffic,
  readTrafficStore,
  trafficStoreData,
  trafficStoreName,
} from "../../lib/performance/traffic-store.ts";
import { controllerIdentity } from "../api/rbac.ts";
import { readBounded } from "../runtime/bounded-body.ts";
import { parsePrometheusText } from "./prometheus-text.ts";
import { writeStore } from "./store-object.ts";
import {
  type AttributedSeries,
  attribute,
  countRound,
  eserviceLabels,
  type InstanceReading,
  instanceId,
  type MeasuredEService,
  routesByServiceLabel,
  trafficFamilies,
  trafficFamilyNames,
} from "./traffic-counting.ts";

// One round of traffic counting: read every ingress controller pod's metrics, attribute the e-services'
// series to their departments, and store each department's new counts with the values they were taken
// from (traffic-counting.ts). A department whose write fails keeps its stored values and is counted again
// from them next round, so nothing is lost or counted twice.

export interface TrafficCounterSettings {
  /** Namespace and label selector of the ingress controller's pods. */
  ingressNamespace: string;
  ingressSelector: string;
  /** Port of their Prometheus metrics (`/metrics`). */
  metricsPort: number;
  timeZone: string;
  readTimeoutMs: number;
}

export interface TrafficCounterDeps {
  client: KubeClient;
  log: Logger;
  registry: Registry;
  eservices: () => MeasuredEService[];
  fetch?: typeof fetch;
  now?: () => number;
}

/** A metrics page is a few hundred kB with thousands of e-services; anything far past that is refused. */
const maxMetricsBytes = 64 * 1024 * 1024;

export class TrafficCounter {
  /** Each department's store as last written (a successful write's resourceVersion): no read before a write. */
  private readonly stores = new Map<string, { object: KubeObject; traffic: DepartmentTraffic }>();
  private readonly rounds: Counter;
  private readonly failedReads: Counter;
  private readonly ambiguous: Gauge;

  private readonly settings: TrafficCounterSettings;
  private readonly deps: TrafficCounterDeps;

  constructor(settings: TrafficCounterSettings, deps: TrafficCounterDeps) {
    this.settings = settings;
    this.deps = deps;
    const registers = [deps.registry];
    this.rounds = new Counter({
      name: "govhost_traffic_rounds_total",
      help: "Rounds of reading the ingress controller's request counters, by outcome",
      labelNames: ["outcome"],
      registers,
    });
    this.failedReads = new Counter({
      name: "govhost_traffic_read_failures_total",
      help: "Ingress controller pods whose metrics could not be read in a round",
      registers,
    });
    registerTrafficMetrics(deps.registry, () => this.stores);
    this.ambiguous = new Gauge({
      name: "govhost_traffic_ambiguous_routes",
      help: "Ingress controller service labels shared by two e-services, counted for neither",
      registers,
    });
  }

  async countOnce(): Promise<void> {
    const { client, log } = this.deps;
    const pods = await client.list<KubeObject>(resources.pod, {
      namespace: this.settings.ingressNamespace,
      labelSelector: this.settings.ingressSelector,
    });
    const livePods = new Set(pods.items.map((pod) => pod.metadata?.uid as string));
    const { routes, ambiguous } = routesByServiceLabel(this.deps.eservices());
    this.ambiguous.set(ambiguous.length);
    if (ambiguous.length > 0)
      log.warn({ labels: ambiguous }, "e-services share an ingress service label; not counted");

    const read: { pod: string; instance: string; byDepartment: Map<string, AttributedSeries[]> }[] = [];
    const running = pods.items.filter((pod) => (pod.status as { podIP?: string } | undefined)?.podIP);
    await Promise.all(
      running.map(async (pod) => {
        try {
          const { instance, samples } = await this.readPod(pod);
          read.push({ pod: pod.metadata?.uid as string, instance, byDepartment: attribute(samples, routes) });
        } catch (error) {
          this.failedReads.inc();
          log.warn(
            { err: error, pod: pod.metadata?.name },
            "could not read the ingress controller's metrics",
          );
        }
      }),
    );
    // Every department seen now or stored before: one whose series are gone has them forgotten.
    const departments = new Set([...this.stores.keys(), ...read.flatMap((r) => [...r.byDepartment.keys()])]);
    const month = periodOf((this.deps.now ?? Date.now)(), this.settings.timeZone);
    let failed = 0;
    for (const department of departments) {
      const readings = read.map(({ pod, instance, byDepartment }) => ({
        pod,
        instance,
        series: byDepartment.get(department) ?? [],
      }));
      try {
        await this.store(department, readings, livePods, month);
      } catch (error) {
        failed++;
        this.stores.delete(department);
        log.warn({ err: error, department }, "could not store traffic counts; counted again next round");
      }
    }
    this.rounds.inc({ outcome: failed === 0 ? "stored" : "partly-stored" });
  }

  private async readPod(
    pod: KubeObject,
  ): Promise<{ instance: string; samples: ReturnType<typeof parsePrometheusText> }> {
    const ip = (pod.status as { podIP: string }).podIP;
    const response = await (this.deps.fetch ?? fetch)(`http://${ip}:${this.settings.metricsPort}/metrics`, {
      signal: AbortSignal.timeout(this.settings.readTimeoutMs),
    });
    if (!response.ok) throw new Error(`metrics answered HTTP ${response.status}`);
    const text = await readBounded(response, maxMetricsBytes, () => new Error("metrics page too large"));
    const samples = parsePrometheusText(text, trafficFamilyNames);
    const start = samples.find((s) => s.name === trafficFamilies.processStart)?.value;
    // Without its process start a restarted ingress controller could not be told from a live one.
    if (start === undefined || !Number.isFinite(start))
      throw new Error("metrics have no process_start_time_seconds");
    return { instance: instanceId(pod.metadata?.uid as string, start), samples };
  }

  private async store(
    department: string,
    readings: InstanceReading[],
    livePods: ReadonlySet<string>,
    month: string,
  ): Promise<void> {
    const { client } = this.deps;
    const name = trafficStoreName(department);
    const namespace = controllerIdentity.namespace;
    const cached = this.stores.get(department);
    const current = cached?.object ?? (await client.find<KubeObject>(resources.configMap, name, namespace));
    const stored =
      cached?.traffic ?? readTrafficStore((current as { data?: Record<string, string> } | undefined)?.data);
    if (stored instanceof Error) throw new Error(`${name}: ${stored.message}; left as it is`);
    const { traffic, changed } = countRound(stored, readings, livePods, month);
    if (!changed && current) {
      this.stores.set(department, { object: current, traffic: stored });
      return;
    }
    const written = await writeStore(client, current, name, trafficStoreData(traffic), department);
    this.stores.set(department, { object: written, traffic });
  }
}

const totalled = ["requests", "serverErrors", "started", "completed"] as const;

/**
 * Each e-service's counts as Prometheus counters (labels: department, environment, e-service; as many
 * series as e-services), summed over the months kept, from the stores as last written or read: they continue
 * across controller restarts, and a department appears once a round has touched it.
 */
function registerTrafficMetrics(
  registry: Registry,
  stores: () => Map<string, { traffic: DepartmentTraffic }>,
): void {
  const metrics: Record<(typeof totalled)[number], [string, string]> = {
    requests: ["govhost_eservice_requests_total", "Requests the ingress controller passed to the e-service"],
    serverErrors: ["govhost_eservice_server_errors_total", "Of those, answered 5xx"],
    started: ["govhost_eservice_transactions_started_total", "Requests to its completed-transaction route"],
    completed: ["govhost_eservice_transactions_completed_total", "Completed transactions"],
  };
  for (const field of totalled) {
    const [name, help] = metrics[field];
    new Counter({
      name,
      help,
      labelNames: ["department", "environment", "eservice"],
      registers: [registry],
      collect() {
        this.reset();
        for (const [department, { traffic }] of stores())
          for (const month of Object.values(traffic.months))
            for (const [key, counts] of Object.entries(month)) {
              if (counts[field] > 0) this.inc(eserviceLabels(department, key), counts[field]);
            }
      },
    });
  }
}

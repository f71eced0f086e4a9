import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** The controller's Prometheus metrics (names follow govhost_<subsystem>_<name>_<unit>). */
export function createControllerMetrics(registry = new Registry()) {
  return {
    registry,
    reconcileDuration: new Histogram({
      name: "govhost_reconcile_duration_seconds",
      help: "Time to reconcile one object",
      labelNames: ["controller"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: "govhost_reconcile_errors_total",
      help: "Reconciles that failed and were retried",
      labelNames: ["controller"],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: "govhost_workqueue_depth",
      help: "Keys waiting or in progress in a controller's work queue",
      labelNames: ["controller"],
      registers: [registry],
    }),
    isLeader: new Gauge({
      name: "govhost_leader_is_leader",
      help: "1 when this replica holds the controller lease",
      registers: [registry],
    }),
  };
}

export type ControllerMetrics = ReturnType<typeof createControllerMetrics>;

/** What a shared cache tells of its watch: restarts and relists so far (lib/kube/informer.ts). */
export interface WatchedCache {
  resource: string;
  watchCounts: { restarts: number; relists: number };
}

/**
 * Per cache, how often its watch was resumed and how often it had to list everything again (410): a cache
 * that keeps relisting is falling behind the API server, and each relist costs a full list.
 */
export function registerWatchMetrics(registry: Registry, caches: () => Iterable<WatchedCache>): void {
  const counter = (name: string, help: string, count: (c: WatchedCache["watchCounts"]) => number) =>
    new Counter({
      name,
      help,
      labelNames: ["resource"],
      registers: [registry],
      collect() {
        this.reset();
        for (const cache of caches()) this.inc({ resource: cache.resource }, count(cache.watchCounts));
      },
    });
  counter(
    "govhost_watch_restarts_total",
    "Watches resumed from the last version seen (ended by the server or failed)",
    (c) => c.restarts,
  );
  counter(
    "govhost_watch_relists_total",
    "Full lists after a watch's version was too old (410 Gone)",
    (c) => c.relists,
  );
}

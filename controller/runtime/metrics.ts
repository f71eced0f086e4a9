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

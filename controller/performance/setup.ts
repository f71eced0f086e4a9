import { labels } from "../api/group.ts";
import { eservicesInformer } from "../eservice/setup.ts";
import type { Manager } from "../runtime/manager.ts";
import { tenantNamespaces } from "../tenancy/setup.ts";
import { TrafficCounter } from "./traffic-counter.ts";
import type { MeasuredEService } from "./traffic-counting.ts";

export interface PerformanceSettings {
  ingressNamespace: string;
  ingressSelector: string;
  /** 0: traffic is not counted. */
  metricsPort: number;
  intervalMs: number;
  timeZone: string;
}

/**
 * Service performance: every interval, the leader reads the ingress controller's request counters and
 * keeps each department's e-services' requests and completed transactions per month, exactly once
 * (traffic-counter.ts, docs/performance.md).
 */
export function setupPerformance(manager: Manager, settings: PerformanceSettings): void {
  if (settings.metricsPort === 0) return;
  const eservices = eservicesInformer(manager);
  const namespaces = tenantNamespaces(manager);
  const counter = new TrafficCounter(
    {
      ingressNamespace: settings.ingressNamespace,
      ingressSelector: settings.ingressSelector,
      metricsPort: settings.metricsPort,
      timeZone: settings.timeZone,
      readTimeoutMs: Math.min(10_000, settings.intervalMs),
    },
    {
      client: manager.client,
      log: manager.log.child({ component: "traffic" }),
      registry: manager.metrics.registry,
      eservices: () =>
        eservices.list().flatMap((es): MeasuredEService[] => {
          const namespace = es.metadata.namespace as string;
          const department = namespaces.get(namespace)?.metadata?.labels?.[labels.department];
          if (!department) return [];
          const completion = es.spec.completedTransaction;
          return [
            {
              department,
              namespace,
              name: es.metadata.name as string,
              ...(completion ? { completion } : {}),
            },
          ];
        }),
    },
  );
  manager.every(settings.intervalMs, () => counter.countOnce());
}

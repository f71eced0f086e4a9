import { defaultFeedbackLimits } from "../../lib/performance/feedback-store.ts";
import { labels } from "../api/group.ts";
import { eservicesInformer } from "../eservice/setup.ts";
import type { Manager } from "../runtime/manager.ts";
import { tenantNamespaces } from "../tenancy/setup.ts";
import { AvailabilityProber } from "./availability-prober.ts";
import type { ProbedEService } from "./availability-probing.ts";
import { CommentRetention } from "./comment-retention.ts";
import { TrafficCounter } from "./traffic-counter.ts";
import type { MeasuredEService } from "./traffic-counting.ts";

export interface PerformanceSettings {
  ingressNamespace: string;
  ingressSelector: string;
  /** 0: traffic is not counted. */
  metricsPort: number;
  intervalMs: number;
  timeZone: string;
  probe: {
    /** 0: public e-services are not probed. */
    intervalMs: number;
    portName: string;
    timeoutMs: number;
    graceMs: number;
  };
  /** 0: expired comments are dropped only at a department's next feedback (by the portal API). */
  commentPruneIntervalMs: number;
}

/**
 * Service performance: every interval, the leader reads the ingress controller's request counters and
 * keeps each department's e-services' requests and completed transactions per month, exactly once
 * (traffic-counter.ts); and on its own interval it probes every public e-service through the ingress
 * (availability-prober.ts); and it deletes citizens' comments past their retention (comment-retention.ts).
 * docs/performance.md.
 */
export function setupPerformance(manager: Manager, settings: PerformanceSettings): void {
  if (settings.commentPruneIntervalMs > 0) {
    const retention = new CommentRetention(
      { retentionDays: defaultFeedbackLimits.retentionDays, timeZone: settings.timeZone },
      {
        client: manager.client,
        log: manager.log.child({ component: "feedback-retention" }),
        registry: manager.metrics.registry,
      },
    );
    manager.every(settings.commentPruneIntervalMs, () => retention.pruneOnce());
  }
  if (settings.metricsPort === 0 && settings.probe.intervalMs === 0) return;
  const eservices = eservicesInformer(manager);
  const namespaces = tenantNamespaces(manager);
  const departmentOf = (namespace: string) =>
    namespaces.get(namespace)?.metadata?.labels?.[labels.department];
  if (settings.probe.intervalMs > 0) {
    const prober = new AvailabilityProber(
      {
        ingressNamespace: settings.ingressNamespace,
        ingressSelector: settings.ingressSelector,
        portName: settings.probe.portName,
        timeoutMs: settings.probe.timeoutMs,
        graceMs: settings.probe.graceMs,
        timeZone: settings.timeZone,
        concurrency: 16,
      },
      {
        client: manager.client,
        log: manager.log.child({ component: "availability" }),
        registry: manager.metrics.registry,
        eservices: () =>
          eservices.list().flatMap((es): ProbedEService[] => {
            const namespace = es.metadata.namespace as string;
            const department = departmentOf(namespace);
            const host = publicHost(es.status?.url);
            if (!department || !host) return [];
            const exposed = es.status?.conditions?.find((c) => c.type === "Exposed");
            const since =
              exposed?.status === "True" ? Date.parse(exposed.lastTransitionTime ?? "") : Number.NaN;
            return [
              {
                department,
                namespace,
                name: es.metadata.name as string,
                host,
                publicSince: Number.isFinite(since) ? since : undefined,
              },
            ];
          }),
      },
    );
    manager.every(settings.probe.intervalMs, () => prober.probeOnce());
  }
  if (settings.metricsPort === 0) return;
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
          const department = departmentOf(namespace);
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

/** The host of an e-service's public URL (status.url, set only while it is public). */
function publicHost(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

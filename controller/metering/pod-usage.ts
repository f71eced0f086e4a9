import { type PodMetricsLike, type PodReading, podReading } from "../../lib/chargeback/above-request.ts";
import type { PodLike } from "../../lib/chargeback/allocations.ts";
import { KubeApiError, type KubeClient, type KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";

/**
 * Every pod's current usage from the resource metrics API (metrics.k8s.io, served by metrics-server through
 * the API server's aggregation layer), or undefined when no such API is installed or available: then
 * `consumed` mode bills requests only.
 */
export async function podMetrics(client: KubeClient): Promise<(PodMetricsLike & KubeObject)[] | undefined> {
  try {
    const list = await client.list<PodMetricsLike & KubeObject>(resources.podMetrics);
    return list.items;
  } catch (error) {
    // 404: the group is not registered; 503: its APIService is registered but its server is down.
    if (error instanceof KubeApiError && (error.code === 404 || error.code === 503)) return undefined;
    throw error;
  }
}

/** Usage readings grouped by the department that owns each pod's namespace (pods of no department skipped). */
export function readingsByDepartment(
  items: (PodMetricsLike & KubeObject)[],
  owner: (namespace: string) => { department: string; environment: string } | undefined,
  pod: (namespace: string, name: string) => PodLike | undefined,
): Map<string, PodReading[]> {
  const readings = new Map<string, PodReading[]>();
  for (const metrics of items) {
    const namespace = metrics.metadata?.namespace ?? "";
    const found = owner(namespace);
    const object = found && pod(namespace, metrics.metadata?.name ?? "");
    const reading = object && podReading(object, metrics, found.environment);
    if (!found || !reading) continue;
    const list = readings.get(found.department);
    if (list) list.push(reading);
    else readings.set(found.department, [reading]);
  }
  return readings;
}

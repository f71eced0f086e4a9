import type { PodMetricsLike } from "../../lib/chargeback/above-request.ts";
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

import type { KubeObject } from "../../lib/kube/client.ts";
import type { Informer } from "../../lib/kube/informer.ts";
import { resources } from "../../lib/kube/resources.ts";
import type { Manager } from "./manager.ts";

// The controller's one cache of every pod, shared by metering and compliance. Pods are most of what the
// controller holds at scale (20,000 of them in the estate bench), and most of a pod is status its readers
// never look at (conditions, container statuses with images and ids, addresses): the cache keeps metadata
// and spec whole (what the baseline judges and metering bills) and of status only what bills read.

interface PodStatus {
  phase?: string;
  startTime?: string;
  containerStatuses?: { state?: { terminated?: { finishedAt?: string } } }[];
}

/** A pod as the cache keeps it: when it started, its phase, and when its terminated containers finished. */
export function cachedPod(pod: KubeObject): KubeObject {
  const status = pod.status as PodStatus | undefined;
  if (!status) return pod;
  const finished = (status.containerStatuses ?? []).flatMap((s) => {
    const finishedAt = s.state?.terminated?.finishedAt;
    return finishedAt ? [{ state: { terminated: { finishedAt } } }] : [];
  });
  const kept: PodStatus = {
    ...(status.phase !== undefined ? { phase: status.phase } : {}),
    ...(status.startTime !== undefined ? { startTime: status.startTime } : {}),
    ...(finished.length ? { containerStatuses: finished } : {}),
  };
  return { ...pod, status: kept };
}

/**
 * The pods watch is read in batches this many ms apart: under churn its events then cost about a fifth less
 * CPU (docs/metering.md), and none of its readers needs a pod sooner (metering batches for a second or more,
 * compliance scans on an interval).
 */
export const podsReadEveryMs = 100;

/** The shared pods cache (started after the namespaces', which attribute pods to departments). */
export function podsInformer(manager: Manager): Informer<KubeObject> {
  return manager.informer<KubeObject>(resources.pod, {
    phase: 1,
    transform: cachedPod,
    readEveryMs: podsReadEveryMs,
  });
}

import { parseMilli } from "../tenancy/quantity.ts";
import type { AllocationChange } from "./engine.ts";

// Allocation changes derived from the objects themselves, with the instants Kubernetes records on them, so
// that re-deriving after a restart (or on a second replica) yields the same changes: the ledger dedupes
// them, and nothing is counted twice.

interface Container {
  resources?: { requests?: Record<string, string> };
}

export interface PodLike {
  metadata?: { uid?: string; name?: string; namespace?: string; deletionTimestamp?: string };
  spec?: { containers?: Container[]; initContainers?: Container[] };
  status?: {
    phase?: string;
    startTime?: string;
    containerStatuses?: { state?: { terminated?: { finishedAt?: string } } }[];
  };
}

export interface PvcLike {
  metadata?: { uid?: string; creationTimestamp?: string; deletionTimestamp?: string };
  status?: { phase?: string; capacity?: Record<string, string> };
}

const request = (c: Container, resource: string) => {
  const value = c.resources?.requests?.[resource];
  return value ? parseMilli(value) : 0n;
};

/** Kubernetes' effective pod request: max(sum over app containers, largest init container). */
export function effectiveRequest(pod: PodLike, resource: "cpu" | "memory"): bigint {
  const apps = (pod.spec?.containers ?? []).reduce((sum, c) => sum + request(c, resource), 0n);
  const init = (pod.spec?.initContainers ?? []).reduce(
    (m, c) => (request(c, resource) > m ? request(c, resource) : m),
    0n,
  );
  return apps > init ? apps : init;
}

/** When the pod stopped holding resources: the last container finish, else its deletion. */
function podEnd(pod: PodLike, deleted: boolean): number | undefined {
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") {
    const finished = (pod.status?.containerStatuses ?? [])
      .map((s) => Date.parse(s.state?.terminated?.finishedAt ?? ""))
      .filter((t) => !Number.isNaN(t));
    if (finished.length > 0) return Math.max(...finished);
  }
  if (pod.metadata?.deletionTimestamp) return Date.parse(pod.metadata.deletionTimestamp);
  return deleted ? Date.now() : undefined;
}

/**
 * The pod's allocation: its effective requests from status.startTime (when the kubelet accepted it) until it
 * finished or was deleted. Requests are billed (`consumed` mode without usage metrics; max(request, usage)
 * once usage metrics are wired in). CPU in millicores, memory in bytes.
 */
export function podAllocationChanges(
  pod: PodLike,
  owner: { department: string; environment: string },
  deleted = false,
): AllocationChange[] {
  const started = Date.parse(pod.status?.startTime ?? "");
  if (Number.isNaN(started)) return [];
  const subject = `pod/${pod.metadata?.uid}`;
  const base = { subject, ...owner };
  // Milli-units from parseMilli: cpu "500m" -> 500 millicores; memory "128Mi" -> bytes x 1000.
  const cpu = effectiveRequest(pod, "cpu");
  const memory = effectiveRequest(pod, "memory") / 1000n;
  const changes: AllocationChange[] = [
    { ...base, at: started, resource: "cpu", amount: cpu },
    { ...base, at: started, resource: "memory", amount: memory },
  ];
  const end = podEnd(pod, deleted);
  if (end !== undefined && end >= started) {
    changes.push(
      { ...base, at: end, resource: "cpu", amount: 0n },
      { ...base, at: end, resource: "memory", amount: 0n },
    );
  }
  return changes;
}

/** A bound claim's capacity from its creation until its deletion. Storage in bytes. */
export function pvcAllocationChanges(
  pvc: PvcLike,
  owner: { department: string; environment: string },
  deleted = false,
): AllocationChange[] {
  const capacity = pvc.status?.capacity?.storage;
  const created = Date.parse(pvc.metadata?.creationTimestamp ?? "");
  if (pvc.status?.phase !== "Bound" || !capacity || Number.isNaN(created)) return [];
  const base = { subject: `pvc/${pvc.metadata?.uid}`, ...owner, resource: "storage" as const };
  const changes: AllocationChange[] = [{ ...base, at: created, amount: parseMilli(capacity) / 1000n }];
  const end = pvc.metadata?.deletionTimestamp
    ? Date.parse(pvc.metadata.deletionTimestamp)
    : deleted
      ? Date.now()
      : undefined;
  if (end !== undefined) changes.push({ ...base, at: end, amount: 0n });
  return changes;
}

import { platformOwned } from "../../policies/keys.ts";
import { parseMilli } from "../kube/quantity.ts";
import type { AllocationChange } from "./engine.ts";

// Allocation changes derived from the objects themselves, with the instants Kubernetes records on them, so
// that re-deriving after a restart (or on a second replica) yields the same changes: the ledger dedupes
// them, and nothing is counted twice.

interface Container {
  resources?: { requests?: Record<string, string> };
}

type Labels = Record<string, string>;

export interface PodLike {
  metadata?: { uid?: string; name?: string; namespace?: string; deletionTimestamp?: string; labels?: Labels };
  spec?: { containers?: Container[]; initContainers?: Container[] };
  status?: {
    phase?: string;
    startTime?: string;
    containerStatuses?: { state?: { terminated?: { finishedAt?: string } } }[];
  };
}

export interface PvcLike {
  metadata?: { uid?: string; creationTimestamp?: string; deletionTimestamp?: string; labels?: Labels };
  status?: { phase?: string; capacity?: Record<string, string> };
}

/**
 * The e-service an object serves, for statement lines per e-service: the platform-owned label the
 * controller puts on an e-service's Deployment (and so its pods) and Ingress. Tenants cannot set it.
 */
export function eserviceOf(meta: { labels?: Labels } | undefined): { eservice?: string } {
  const eservice = meta?.labels?.[platformOwned.eservice];
  return eservice ? { eservice } : {};
}

/** When a deleted object stopped holding resources: its deletionTimestamp, else (deletion seen) now. */
function deletionEnd(meta: { deletionTimestamp?: string } | undefined, deleted: boolean): number | undefined {
  if (meta?.deletionTimestamp) return Date.parse(meta.deletionTimestamp);
  return deleted ? Date.now() : undefined;
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
  return deletionEnd(pod.metadata, deleted);
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
  const base = { subject, ...owner, ...eserviceOf(pod.metadata) };
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
  const base = {
    subject: `pvc/${pvc.metadata?.uid}`,
    ...owner,
    ...eserviceOf(pvc.metadata),
    resource: "storage" as const,
  };
  const end = deletionEnd(pvc.metadata, deleted);
  const changes: AllocationChange[] = [];
  const capacity = pvc.status?.capacity?.storage;
  const created = Date.parse(pvc.metadata?.creationTimestamp ?? "");
  if (pvc.status?.phase === "Bound" && capacity && !Number.isNaN(created)) {
    changes.push({ ...base, at: created, amount: parseMilli(capacity) / 1000n });
  }
  // The end is recorded whatever the phase is by then (a claim may turn Lost before it is deleted); an end
  // without a start changes nothing.
  if (end !== undefined) changes.push({ ...base, at: end, amount: 0n });
  return changes;
}

export interface DepartmentLike {
  metadata: { name?: string; uid?: string; creationTimestamp?: string; deletionTimestamp?: string };
  spec: { quota: { cpu: string; memory: string; storage: string } };
}

/** The subject under which a department's reserved quota is recorded. */
export const reservedSubject = (dept: DepartmentLike) => `department/${dept.metadata.uid}`;
export const reservedEnvironment = "all";

/**
 * Reserved-mode allocations: the department quota itself. A quota carries no timestamp of its own, so the
 * first amount counts from the department's creation and later changes from when they are observed (a
 * bounded lag); re-observing an unchanged quota records nothing. Deletion ends it at deletionTimestamp.
 */
export function reservedChanges(
  dept: DepartmentLike,
  latest: (subject: string, resource: "cpu" | "memory" | "storage") => bigint | undefined,
  now: number,
): AllocationChange[] {
  const subject = reservedSubject(dept);
  const department = dept.metadata.name ?? "";
  const deleted = dept.metadata.deletionTimestamp ? Date.parse(dept.metadata.deletionTimestamp) : undefined;
  const wanted: Record<"cpu" | "memory" | "storage", bigint> = {
    cpu: deleted === undefined ? parseMilli(dept.spec.quota.cpu) : 0n,
    memory: deleted === undefined ? parseMilli(dept.spec.quota.memory) / 1000n : 0n,
    storage: deleted === undefined ? parseMilli(dept.spec.quota.storage) / 1000n : 0n,
  };
  const changes: AllocationChange[] = [];
  for (const resource of ["cpu", "memory", "storage"] as const) {
    const previous = latest(subject, resource);
    if (previous === wanted[resource]) continue;
    if (previous === undefined && wanted[resource] === 0n) continue;
    const at =
      previous === undefined ? Date.parse(dept.metadata.creationTimestamp ?? "") || now : (deleted ?? now);
    changes.push({
      at,
      subject,
      department,
      environment: reservedEnvironment,
      resource,
      amount: wanted[resource],
    });
  }
  return changes;
}

/** Which allocations are billed: reserved mode bills the quota instead of pods and volumes. */
export function billable(changes: AllocationChange[], mode: "reserved" | "consumed"): AllocationChange[] {
  const quotaResource = (c: AllocationChange) =>
    c.resource === "cpu" || c.resource === "memory" || c.resource === "storage";
  return changes.filter((c) => {
    const isReserved = c.subject.startsWith("department/");
    if (!quotaResource(c)) return true;
    return mode === "reserved" ? isReserved : !isReserved;
  });
}

export interface LifetimeObject {
  metadata?: {
    uid?: string;
    name?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Labels;
  };
}

/**
 * One unit of `resource` from an object's creation until its deletion: a public endpoint (an Ingress) per
 * endpoint-month, an e-service (an EService) per e-service-month.
 */
export function lifetimeAllocationChanges(
  object: LifetimeObject,
  kind: "ingress" | "eservice",
  owner: { department: string; environment: string },
  deleted = false,
): AllocationChange[] {
  const created = Date.parse(object.metadata?.creationTimestamp ?? "");
  if (Number.isNaN(created)) return [];
  const eservice =
    kind === "eservice" && object.metadata?.name
      ? { eservice: object.metadata.name }
      : eserviceOf(object.metadata);
  const base = {
    subject: `${kind}/${object.metadata?.uid}`,
    ...owner,
    ...eservice,
    resource: kind === "ingress" ? ("public-endpoint" as const) : ("eservice" as const),
  };
  const changes: AllocationChange[] = [{ ...base, at: created, amount: 1n }];
  const end = deletionEnd(object.metadata, deleted);
  if (end !== undefined) changes.push({ ...base, at: end, amount: 0n });
  return changes;
}

export interface InstanceLike {
  metadata?: { uid?: string; name?: string; deletionTimestamp?: string };
  spec?: { service?: string };
  status?: { planHistory?: { plan: string; since: string; priceMinorPerMonth: number }[] };
}

/**
 * A shared-service subscription: one plan-month per month on each plan it has been on (status.planHistory,
 * which records when each plan took effect and its fee then), until the instance is deleted. Lines are per
 * instance (item `<service>/<plan>/<instance>`), so two subscriptions to one plan stay apart.
 */
export function instanceAllocationChanges(
  instance: InstanceLike,
  owner: { department: string; environment: string },
  deleted = false,
): AllocationChange[] {
  const subject = `sharedserviceinstance/${instance.metadata?.uid}`;
  const changes: AllocationChange[] = (instance.status?.planHistory ?? [])
    .filter((h) => !Number.isNaN(Date.parse(h.since)))
    .map((h) => ({
      at: Date.parse(h.since),
      subject,
      ...owner,
      resource: "shared-service" as const,
      amount: 1n,
      item: `${instance.spec?.service}/${h.plan}/${instance.metadata?.name}`,
      priceMinor: String(h.priceMinorPerMonth),
    }));
  const end = deletionEnd(instance.metadata, deleted);
  if (changes.length && end !== undefined)
    changes.push({ at: end, subject, ...owner, resource: "shared-service", amount: 0n });
  return changes;
}

/**
 * Resizes (a pod's requests changed in place, a volume expanded) carry no timestamp on the object, so they
 * count from when they are observed: for each live allocation whose amount differs from the last one
 * recorded, a change at `now`. Allocations not recorded yet are left to their timestamped start.
 */
export function resizeChanges(
  live: AllocationChange[],
  latest: (subject: string, resource: AllocationChange["resource"]) => bigint | undefined,
  now: number,
): AllocationChange[] {
  return live
    .filter((c) => {
      const recorded = latest(c.subject, c.resource);
      return recorded !== undefined && recorded !== 0n && recorded !== c.amount;
    })
    .map((c) => ({ ...c, at: now }));
}

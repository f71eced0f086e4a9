/** What a Deployment's status says about whether its workload serves. */
export interface DeploymentStatus {
  /** Pods of every version that are not terminating. */
  replicas?: number;
  availableReplicas?: number;
  updatedReplicas?: number;
  observedGeneration?: number;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
}

export type RolloutReason =
  | "ScaledToZero"
  | "Available"
  | "PodsRefused"
  | "RolloutStalled"
  | "NoAvailableReplicas";

/**
 * Whether a Deployment's workload serves: at least one replica available (pods exist and are ready), not
 * merely that the Deployment object was written. While none is, the reason says why, with the deployment
 * controller's own words when it could not create pods (its ReplicaFailure condition).
 */
export function rolloutAvailability(
  replicas: number,
  status: DeploymentStatus | undefined,
): { serving: boolean; reason: RolloutReason; message: string } {
  const available = status?.availableReplicas ?? 0;
  if (replicas === 0)
    return { serving: true, reason: "ScaledToZero", message: "replicas is 0: nothing runs" };
  if (available > 0)
    return { serving: true, reason: "Available", message: `${available}/${replicas} replicas available` };
  const failure = status?.conditions?.find((c) => c.type === "ReplicaFailure" && c.status === "True");
  if (failure)
    return {
      serving: false,
      reason: "PodsRefused",
      message: `No replica could be created: ${failure.message ?? failure.reason ?? "see the ReplicaSet's events"}`,
    };
  const progressing = status?.conditions?.find((c) => c.type === "Progressing");
  if (progressing?.status === "False")
    return {
      serving: false,
      reason: "RolloutStalled",
      message: `0/${replicas} replicas available: ${progressing.message ?? progressing.reason ?? "the rollout stalled"}`,
    };
  return {
    serving: false,
    reason: "NoAvailableReplicas",
    message: `0/${replicas} replicas available yet (pods are being created, scheduled or started)`,
  };
}

/**
 * Whether a rollout is over: the deployment controller has seen the current template, and every replica
 * runs it and is available, with no pod of an earlier version left (a rolling update keeps old ones while
 * new ones start, and a Service routes to both).
 */
export function rolloutComplete(
  replicas: number,
  generation: number | undefined,
  status: DeploymentStatus | undefined,
): { complete: boolean; message: string } {
  const observed = (status?.observedGeneration ?? 0) >= (generation ?? 0);
  const updated = status?.updatedReplicas ?? 0;
  const total = status?.replicas ?? 0;
  const available = status?.availableReplicas ?? 0;
  const complete = observed && updated === replicas && total === replicas && available === replicas;
  return {
    complete,
    message: complete
      ? `${replicas}/${replicas} replicas run the current version`
      : `${updated}/${replicas} replicas run the current version, ${Math.max(total - updated, 0)} of an earlier one remain, ${available} available`,
  };
}

import { createHash } from "node:crypto";
import type { KubeObject } from "../../lib/kube/client.ts";
import type { ResourceType } from "../../lib/kube/resources.ts";
import { stableJson } from "../../lib/stable-json.ts";

// Knowing, without a write, that a parent's children are still as a controller applied them. A reconcile
// that re-applies every child, changed or not, makes a cold start (and every resync) cost one write per
// child of every parent. Instead, a pass that applied them all records a digest in the parent's status: each
// desired object with the version the store gave it (appliedVersion: its resourceVersion, for most kinds),
// and the children that must not exist. A later reconcile computes the same digest from its caches. Any
// write to a child, by anyone, changes its resourceVersion (a change that only removes fields too); a
// deletion removes it from the cache; a new desired state (a spec change, a new controller version) changes
// the desired objects. So equal digests mean nothing to apply.

/** A child as a controller's caches hold it (undefined: not there). */
export type CachedChild = (type: ResourceType, name: string, namespace?: string) => KubeObject | undefined;

/** A desired child and the version it has in the store (undefined: it does not exist); see appliedVersion. */
export interface AppliedChild {
  desired: KubeObject;
  version: string | undefined;
}

/** The digest of children as applied; `absent` names the children that must not exist. */
export function appliedDigest(children: AppliedChild[], absent: string[]): string {
  const keyed = children.map(({ desired, version }) => {
    const { namespace = "", name = "" } = desired.metadata ?? {};
    return { key: `${desired.apiVersion}/${desired.kind}/${namespace}/${name}`, desired, version };
  });
  // In any order: a pass applies namespaces first, a check may list them with their children.
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const content = stableJson({
    children: keyed.map(({ desired, version }) => [desired, version ?? null]),
    absent: [...absent].sort(),
  });
  return `sha256:${createHash("sha256").update(content).digest("base64url")}`;
}

/**
 * Kinds whose status a controller keeps rewriting: a Deployment's at every step of a rollout, a
 * PodDisruptionBudget's whenever a pod's health changes. Their resourceVersion moves with each of those
 * writes, so it would make every status change look like a change to re-apply.
 */
const statusChurning = new Set(["Deployment", "PodDisruptionBudget"]);

/**
 * The version of `stored` that tells whether it is still as applied: its resourceVersion, or, for the kinds
 * above, its generation (which every change to its spec moves, by anyone) with the labels and annotations
 * the desired object sets and the owner references, as stored. A change to other metadata of those kinds
 * (an annotation of someone else's, say) is not seen; the periodic full apply (reapply-schedule.ts) is the
 * backstop.
 */
export function appliedVersion(desired: KubeObject, stored: KubeObject | undefined): string | undefined {
  if (!stored) return undefined;
  const meta = stored.metadata ?? {};
  if (!statusChurning.has(desired.kind ?? "")) return meta.resourceVersion;
  const asStored = (wanted: Record<string, string> | undefined, held: Record<string, string> | undefined) =>
    Object.fromEntries(Object.keys(wanted ?? {}).map((key) => [key, held?.[key] ?? null]));
  return stableJson({
    generation: meta.generation ?? null,
    labels: asStored(desired.metadata?.labels, meta.labels),
    annotations: asStored(desired.metadata?.annotations, meta.annotations),
    ownerReferences: meta.ownerReferences ?? [],
  });
}

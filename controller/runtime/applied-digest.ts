import { createHash } from "node:crypto";
import type { KubeObject } from "../../lib/kube/client.ts";
import { stableJson } from "../../lib/stable-json.ts";

// Knowing, without a write, that a parent's children are still as a controller applied them. A reconcile
// that re-applies every child, changed or not, makes a cold start (and every resync) cost one write per
// child of every parent. Instead, a pass that applied them all records a digest in the parent's status: each
// desired object with the resourceVersion the store gave it, and the children that must not exist. A later
// reconcile computes the same digest from its caches. Any write to a child, by anyone, changes its
// resourceVersion (a change that only removes fields too); a deletion removes it from the cache; a new
// desired state (a spec change, a new controller version) changes the desired objects. So equal digests
// mean nothing to apply.

/** A desired child and the resourceVersion it has in the store (undefined: it does not exist). */
export interface AppliedChild {
  desired: KubeObject;
  resourceVersion: string | undefined;
}

/** The digest of children as applied; `absent` names the children that must not exist. */
export function appliedDigest(children: AppliedChild[], absent: string[]): string {
  const keyed = children.map(({ desired, resourceVersion }) => {
    const { namespace = "", name = "" } = desired.metadata ?? {};
    return { key: `${desired.apiVersion}/${desired.kind}/${namespace}/${name}`, desired, resourceVersion };
  });
  // In any order: a pass applies namespaces first, a check may list them with their children.
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const content = stableJson({
    children: keyed.map(({ desired, resourceVersion }) => [desired, resourceVersion ?? null]),
    absent: [...absent].sort(),
  });
  return `sha256:${createHash("sha256").update(content).digest("base64url")}`;
}

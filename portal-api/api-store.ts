import { labels } from "../controller/api/group.ts";
import { KubeApiError, type KubeClient, type KubeObject } from "../lib/kube/client.ts";
import { resources } from "../lib/kube/resources.ts";
import { feedbackNamespace } from "../lib/performance/feedback-store.ts";

// The stores the portal API itself keeps (citizens' ratings and comments, departments' other-channel
// counts): ConfigMaps in its own namespace, read and changed with conditional writes (resourceVersion), so
// two API replicas writing at once make one of them read again and retry: nothing lost or counted twice.

type StoreObject = KubeObject & { data?: Record<string, string> };

const attempts = 5;

/** A store in a form the API cannot read: it is left as it is for an operator (overwriting would lose it). */
export class StoreUnreadable extends Error {}

async function find(kube: KubeClient, name: string): Promise<StoreObject | undefined> {
  return kube.find<StoreObject>(resources.configMap, name, feedbackNamespace);
}

/** The store's value (its parser's empty value when there is no store yet). */
export async function readStore<T>(
  kube: KubeClient,
  name: string,
  read: (data: Record<string, string> | undefined) => T | Error,
): Promise<T> {
  const value = read((await find(kube, name))?.data);
  if (value instanceof Error) throw new StoreUnreadable(value.message);
  return value;
}

/**
 * Read, change, write conditionally; again from the read when another writer came first. `change` returns
 * undefined to write nothing. Resolves to the value read last (what the change was made to).
 */
export async function updateStore<T>(
  kube: KubeClient,
  name: string,
  extraLabels: Record<string, string>,
  read: (data: Record<string, string> | undefined) => T | Error,
  change: (value: T) => { data: Record<string, string> } | undefined,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const current = await find(kube, name);
    const value = read(current?.data);
    if (value instanceof Error) throw new StoreUnreadable(value.message);
    const changed = change(value);
    if (!changed) return value;
    try {
      // The labels too: a store made before a label was added gets it at its next write.
      if (current)
        await kube.replace<StoreObject>({
          ...current,
          metadata: { ...current.metadata, labels: { ...current.metadata?.labels, ...extraLabels } },
          data: changed.data,
        });
      else
        await kube.create<StoreObject>({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: {
            name,
            namespace: feedbackNamespace,
            labels: { [labels.managedBy]: "govhost", ...extraLabels },
          },
          data: changed.data,
        });
      return value;
    } catch (error) {
      // Written meanwhile (409 on replace, or on create when another replica created it): read again.
      if (attempt >= attempts || !(error instanceof KubeApiError && error.code === 409)) throw error;
    }
  }
}

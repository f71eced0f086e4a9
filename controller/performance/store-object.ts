import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { labels } from "../api/group.ts";
import { controllerIdentity } from "../api/rbac.ts";

// The service-performance stores are ConfigMaps in the platform namespace, each written by one controller
// loop from the object it last read or wrote.

/**
 * Creates the store, or replaces `current` with `data`. The replace carries `current`'s resourceVersion,
 * so a store changed meanwhile is a 409 (the caller reads again), never overwritten.
 */
export function writeStore(
  client: KubeClient,
  current: KubeObject | undefined,
  name: string,
  data: Record<string, string>,
  department?: string,
): Promise<KubeObject> {
  if (current) return client.replace<KubeObject>({ ...current, data } as KubeObject);
  return client.create<KubeObject>({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name,
      namespace: controllerIdentity.namespace,
      labels: {
        [labels.managedBy]: "govhost",
        ...(department ? { [labels.department]: department } : {}),
        "govhost.io/component": "performance",
      },
    },
    data,
  } as KubeObject);
}

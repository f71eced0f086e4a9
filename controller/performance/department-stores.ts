import { isNotFound, type KubeClient } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { availabilityStoreName } from "../../lib/performance/availability-store.ts";
import { channelsStoreName } from "../../lib/performance/channel-store.ts";
import {
  commentsStoreName,
  feedbackNamespace,
  ratingsStoreName,
} from "../../lib/performance/feedback-store.ts";
import { trafficStoreName } from "../../lib/performance/traffic-store.ts";
import { controllerIdentity } from "../api/rbac.ts";

// Every store of a department's service performance (docs/performance.md): the controller's (traffic,
// availability) in the platform namespace, the portal API's (ratings, comments, other channels) in its own.

export function departmentStores(department: string): { name: string; namespace: string }[] {
  return [
    { name: trafficStoreName(department), namespace: controllerIdentity.namespace },
    { name: availabilityStoreName(department), namespace: controllerIdentity.namespace },
    { name: ratingsStoreName(department), namespace: feedbackNamespace },
    { name: commentsStoreName(department), namespace: feedbackNamespace },
    { name: channelsStoreName(department), namespace: feedbackNamespace },
  ];
}

/**
 * Deletes them all, when the department is deleted: its citizens' comments are not kept past it (nothing
 * could read or prune them), and a department made again under the same name starts from nothing.
 */
export async function deleteDepartmentStores(client: KubeClient, department: string): Promise<void> {
  for (const store of departmentStores(department)) {
    try {
      await client.delete(resources.configMap, store.name, store.namespace);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}

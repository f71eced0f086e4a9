import { controllerOwnerName, type KubeObject } from "../../lib/kube/client.ts";
import { objectKey } from "../../lib/kube/informer.ts";
import { resources } from "../../lib/kube/resources.ts";
import type { SharedService } from "../api/shared-service.ts";
import type { Manager } from "../runtime/manager.ts";
import { tenantLookup, tenantNamespaces } from "../tenancy/setup.ts";
import { instanceLabel } from "./desired.ts";
import { SharedServiceInstanceReconciler } from "./reconciler.ts";

/** The SharedServiceInstances cache, shared with metering (which bills plans). */
export function instancesInformer(manager: Manager) {
  return manager.informer<KubeObject>(resources.sharedServiceInstance, { phase: 1 });
}

/**
 * Shared services: each SharedServiceInstance becomes its workload and binding Secret, or an Open Service
 * Broker instance (reconciler.ts, broker.ts). A change to a catalogue entry re-renders every instance.
 */
export function setupSharedServices(manager: Manager, settings: { brokerTimeoutMs: number }): void {
  const services = manager.informer<SharedService & KubeObject>(resources.sharedService);
  const instances = instancesInformer(manager);
  const reconciler = new SharedServiceInstanceReconciler({
    client: manager.client,
    tenantOf: tenantLookup(tenantNamespaces(manager)),
    serviceOf: (name) => services.get(name),
    status: manager.status,
    brokerTimeoutMs: settings.brokerTimeoutMs,
  });
  const queue = manager.controller({
    name: "sharedserviceinstance",
    kind: "SharedServiceInstance",
    reconcile: (key) => reconciler.reconcile(key),
    resyncKeys: () => instances.list().map(objectKey),
  });
  manager.watch(instances, (_event, instance) => queue.add(objectKey(instance)));
  // Available follows the workload's rollout: a rendered instance is reconciled again when its
  // Deployment's status changes.
  const deployments = manager.informer<KubeObject>(resources.deployment, {
    labelSelector: instanceLabel,
    phase: 1,
  });
  manager.watch(deployments, (_event, deployment) => {
    const owner = controllerOwnerName(deployment, "SharedServiceInstance");
    if (owner) queue.add(`${deployment.metadata?.namespace}/${owner}`);
  });
  manager.watch(services, () => {
    for (const instance of instances.list()) queue.add(objectKey(instance));
  });
}

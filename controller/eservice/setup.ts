import { Histogram } from "prom-client";
import { controllerOwnerName, type KubeObject } from "../../lib/kube/client.ts";
import { type Informer, type InformerEvent, objectKey } from "../../lib/kube/informer.ts";
import { type ResourceType, resources } from "../../lib/kube/resources.ts";
import { platformOwned } from "../../policies/keys.ts";
import { AccessibilityScanner } from "../accessibility/scanner.ts";
import type { EService } from "../api/eservice.ts";
import { labels } from "../api/group.ts";
import { EventRecorder } from "../runtime/events.ts";
import { type Manager, specOrMetadataChanged } from "../runtime/manager.ts";
import { tenantLookup, tenantNamespaces } from "../tenancy/setup.ts";
import { EServiceReconciler } from "./reconciler.ts";
import { ScanQueue } from "./scan-queue.ts";
import { type EServiceSettings, type ScanSettings, scannerOptionsFrom } from "./settings.ts";

export type EServiceObject = EService & KubeObject;

/** A metadata-only cache of one kind of e-service child. */
function eserviceChildren(manager: Manager, type: ResourceType): Informer<KubeObject> {
  return manager.informer<KubeObject>(type, {
    labelSelector: platformOwned.eservice,
    metadataOnly: true,
    phase: 1,
  });
}

/** The EServices cache, shared with metering (which bills public endpoints). */
export function eservicesInformer(manager: Manager) {
  return manager.informer<EServiceObject>(resources.eservice, { phase: 1 });
}

/**
 * E-services: each EService becomes its workload, Service and NetworkPolicy, is scanned for accessibility
 * (fairly per department, bounded in time), and is exposed through an Ingress only when every baseline
 * passes (reconciler.ts, gate.ts). Its own status writes do not re-run it; its Deployment's rollout does.
 */
export function setupEServices(
  manager: Manager,
  settings: EServiceSettings,
  scanSettings: ScanSettings,
): void {
  const { client, log } = manager;
  const tenantOf = tenantLookup(tenantNamespaces(manager));
  const scanDuration = new Histogram({
    name: "govhost_accessibility_scan_duration_seconds",
    help: "Time to scan one e-service's pages in both tiers",
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120],
    registers: [manager.metrics.registry],
  });
  const scanner = new AccessibilityScanner(
    scannerOptionsFrom(scanSettings, log.child({ component: "accessibility" })),
  );
  const scans = new ScanQueue(
    scanner,
    (key, durationMs) => {
      scanDuration.observe(durationMs / 1000);
      queue.add(key);
    },
    {
      concurrency: scanSettings.concurrency,
      scanTimeoutMs: scanSettings.scanTimeoutMs,
      // Fair per department, not per namespace: a department with several environments gets one turn.
      departmentOf: (key) => {
        const namespace = key.split("/")[0] as string;
        return tenantOf(namespace)?.department ?? namespace;
      },
      log: log.child({ component: "scan-queue" }),
    },
  );
  // Deployed follows the rollout (available replicas), so the EService that owns a Deployment is
  // reconciled again when its status changes.
  const deployments = manager.informer<KubeObject>(resources.deployment, {
    labelSelector: platformOwned.eservice,
    phase: 1,
  });
  // The other children's caches tell whether they are still as applied (controller/runtime/applied-digest.ts):
  // metadata only, except the Ingresses' (kept whole for compliance and metering). The NetworkPolicies' is
  // tenancy's: every e-service child carries its department's label.
  const childCaches = new Map<ResourceType, Informer<KubeObject>>([
    [resources.deployment, deployments],
    [resources.service, eserviceChildren(manager, resources.service)],
    [resources.podDisruptionBudget, eserviceChildren(manager, resources.podDisruptionBudget)],
    [
      resources.networkPolicy,
      manager.informer(resources.networkPolicy, { labelSelector: labels.department, metadataOnly: true }),
    ],
    [resources.ingress, manager.informer<KubeObject>(resources.ingress, { phase: 1 })],
  ]);
  const reconciler = new EServiceReconciler({
    client,
    settings,
    events: new EventRecorder(client, "govhost-controller", log),
    scans,
    tenantOf,
    status: manager.status,
    log: log.child({ controller: "eservice" }),
    cached: (type, name, namespace) => childCaches.get(type)?.get(`${namespace}/${name}`),
  });
  const eservices = eservicesInformer(manager);
  const queue = manager.controller({
    name: "eservice",
    kind: "EService",
    reconcile: (key, log) => reconciler.reconcile(key, log),
    resyncKeys: () => eservices.list().map(objectKey),
  });
  manager.watch(eservices, (_event, es) => queue.add(objectKey(es)), specOrMetadataChanged);
  const reconcileOwner = (_event: InformerEvent, child: KubeObject) => {
    const owner = controllerOwnerName(child, "EService");
    if (owner) queue.add(`${child.metadata?.namespace}/${owner}`);
  };
  manager.watch(deployments, reconcileOwner);
  // A child someone else changed or deleted (a developer's kubectl edit of the Service, say) is put back at
  // once, not at the next reconcile or hourly reapply. Creations are the controller's own (or the start-up
  // list's) and a relist repeats unchanged objects: neither is drift.
  for (const [type, cache] of childCaches)
    if (type !== resources.deployment) manager.watch(cache, reconcileOwner, changedByWrite);
  manager.onStop(async () => {
    scans.stop();
    await scanner.close();
  });
}

/** A child's update that is a new write of it (not a relist's repeat), or its deletion. */
function changedByWrite(event: InformerEvent, child: KubeObject, previous?: KubeObject): boolean {
  if (event === "delete") return true;
  return event === "update" && previous?.metadata?.resourceVersion !== child.metadata?.resourceVersion;
}

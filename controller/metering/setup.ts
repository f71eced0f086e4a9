import type { InstanceLike } from "../../lib/chargeback/allocations.ts";
import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { isGatewayRoute } from "../api/api-gateway.ts";
import { labels } from "../api/group.ts";
import type { RateCard } from "../api/ratecard.ts";
import { eservicesInformer } from "../eservice/setup.ts";
import { type Manager, specOrMetadataChanged } from "../runtime/manager.ts";
import { podsInformer } from "../runtime/pods-cache.ts";
import { instancesInformer } from "../shared-service/setup.ts";
import { departmentsInformer, tenantNamespaces } from "../tenancy/setup.ts";
import { Meter } from "./meter.ts";

export interface MeteringSettings {
  timeZone: string;
  rateCard: string;
  finalizeStatementsAfterMs: number;
  /** Size of the changes in one ledger shard past which they are compacted and folded. */
  ledgerCompactBytes: number;
  /** Stored size of one ledger shard past which the ledger is spread over more shards. */
  ledgerShardBytes: number;
  /** How often draft statements are recomputed to include open allocations up to now. */
  refreshMs: number;
  /** How often pods' usage is read from the metrics API (metrics.k8s.io), when one is installed. */
  usagePollMs: number;
}

/**
 * Metering: every allocation (pods, volumes, public endpoints, e-services, shared-service plans) is
 * recorded exactly in each department's ledger and priced into monthly statements (meter.ts). Metered
 * objects are attributed through their namespace, so their caches start after the namespaces' (phase 1).
 */
export function setupMetering(manager: Manager, settings: MeteringSettings): void {
  const { client, log } = manager;
  const departments = departmentsInformer(manager);
  const namespaces = tenantNamespaces(manager);
  const pods = podsInformer(manager);
  const claims = manager.informer<KubeObject>(resources.persistentVolumeClaim, { phase: 1 });
  const ingresses = manager.informer<KubeObject>(resources.ingress, { phase: 1 });
  const rateCards = manager.informer<RateCard & KubeObject>(resources.rateCard);
  const meter = new Meter({
    client,
    registry: manager.metrics.registry,
    status: manager.status,
    department: (name) => departments.get(name),
    log: log.child({ component: "metering" }),
    timeZone: settings.timeZone,
    rateCard: settings.rateCard,
    currentRateCard: () => rateCards.get(settings.rateCard),
    finalizeAfterMs: settings.finalizeStatementsAfterMs,
    compactAboveBytes: settings.ledgerCompactBytes,
    shardAboveBytes: settings.ledgerShardBytes,
    owner: (name) => {
      const nsLabels = namespaces.get(name)?.metadata?.labels;
      const department = nsLabels?.[labels.department];
      const environment = nsLabels?.[labels.environment];
      return department && environment ? { department, environment } : undefined;
    },
    pod: (namespace, name) => pods.get(`${namespace}/${name}`),
  });
  manager.watch(departments, (_event, dept) => meter.observeDepartment(dept), specOrMetadataChanged);
  manager.watch(pods, (event, pod) => meter.observePod(pod, event === "delete"));
  manager.watch(claims, (event, pvc) => meter.observePvc(pvc, event === "delete"));
  // An export's route at the API gateway is not a public endpoint: it is not billed as one.
  manager.watch(ingresses, (event, ingress) => {
    if (!isGatewayRoute(ingress)) meter.observeLifetime("ingress", ingress, event === "delete");
  });
  manager.watch(eservicesInformer(manager), (event, es) =>
    meter.observeLifetime("eservice", es, event === "delete"),
  );
  manager.watch(instancesInformer(manager), (event, instance) =>
    meter.observeInstance(instance as InstanceLike & KubeObject, event === "delete"),
  );

  manager.onSynced(({ previousLeaderLastRenewal }) => {
    meter.closeVanished(previousLeaderLastRenewal ?? Date.now());
    meter.queue.start();
  });
  manager.onStop(() => meter.drain());
  // Usage above requests (consumed mode), when a metrics API is installed; one poll at a time.
  manager.every(settings.usagePollMs, () => meter.pollUsage(settings.usagePollMs));
  // A new price version changes the drafts: every department's is recomputed.
  manager.watch(rateCards, () => {
    for (const dept of departments.list()) meter.refresh(dept.metadata.name as string);
  });
  // Drafts include open allocations up to now, so they are recomputed even without events.
  manager.every(settings.refreshMs, () => {
    for (const dept of departments.list()) meter.refresh(dept.metadata.name as string);
  });
}

import { Gauge } from "prom-client";
import type { KubeObject } from "../../lib/kube/client.ts";
import type { Informer } from "../../lib/kube/informer.ts";
import { resources } from "../../lib/kube/resources.ts";
import { platformOwned } from "../../policies/keys.ts";
import type { Department } from "../api/department.ts";
import type { Tenant } from "../api/eservice-workload.ts";
import { labels, managedByValue } from "../api/group.ts";
import { EventRecorder } from "../runtime/events.ts";
import { type Manager, specOrMetadataChanged } from "../runtime/manager.ts";
import { ImpersonationSync } from "./impersonation.ts";
import { DepartmentReconciler } from "./reconciler.ts";
import type { TenancySettings } from "./settings.ts";

export type DepartmentObject = Department & KubeObject;

/** The Departments cache, shared by every controller that reads them. */
export function departmentsInformer(manager: Manager): Informer<DepartmentObject> {
  return manager.informer<DepartmentObject>(resources.department);
}

/** The cache of department namespaces (the platform's own), shared by every controller that reads them. */
export function tenantNamespaces(manager: Manager): Informer<KubeObject> {
  return manager.informer<KubeObject>(resources.namespace, {
    labelSelector: `${labels.managedBy}=${managedByValue}`,
  });
}

/** Which department, environment and domains a namespace belongs to, from its platform-owned labels. */
export function tenantLookup(namespaces: Informer<KubeObject>): (namespace: string) => Tenant | undefined {
  return (namespace) => {
    const ns = namespaces.get(namespace)?.metadata;
    const department = ns?.labels?.[labels.department];
    const environment = ns?.labels?.[labels.environment];
    if (!department || !environment) return undefined;
    const domains = ns?.annotations?.[platformOwned.domains] ?? "";
    return { department, environment, domains: domains.split(",").filter(Boolean) };
  };
}

/**
 * Tenancy: each Department becomes its namespaces and their guard rails (reconciler.ts), and the portal
 * API's impersonation rights follow the Departments' groups (impersonation.ts). A Department's own status
 * writes do not re-run either.
 */
export function setupTenancy(manager: Manager, settings: TenancySettings): void {
  const { client, log } = manager;
  const departments = departmentsInformer(manager);
  const namespaces = tenantNamespaces(manager);
  // Children the reconciler owns, metadata only: a change or deletion by anyone else is put back, and their
  // versions tell the reconciler whether they are still as it applied them.
  const childCaches = new Map(
    [resources.limitRange, resources.networkPolicy, resources.roleBinding].map((type) => [
      type,
      manager.informer(type, { labelSelector: labels.department, metadataOnly: true }),
    ]),
  );
  childCaches.set(resources.namespace, namespaces);
  const reconciler = new DepartmentReconciler({
    client,
    settings,
    events: new EventRecorder(client, "govhost-controller", log),
    status: manager.status,
    log: log.child({ controller: "department" }),
    cached: (type, name, namespace) => childCaches.get(type)?.get(namespace ? `${namespace}/${name}` : name),
  });
  const queue = manager.controller({
    name: "department",
    kind: "Department",
    reconcile: (name, log) => reconciler.reconcile(name, log),
    resyncKeys: () => departments.list().map((dept) => dept.metadata.name as string),
  });
  manager.watch(
    departments,
    (_event, dept) => queue.add(dept.metadata.name as string),
    specOrMetadataChanged,
  );

  const enqueueOwner = (_event: string, object: KubeObject) => {
    const department = object.metadata?.labels?.[labels.department];
    if (department) queue.add(department);
  };
  for (const cache of childCaches.values()) manager.watch(cache, enqueueOwner);

  // A ResourceQuota changes with every pod that starts or ends (its usage): those changes only rebalance
  // the tenant-wide quota, at most once per department and window however many pods moved. A deleted
  // quota is put back by the full reconcile.
  const rebalancing = manager.controller({
    name: "department-quota",
    kind: "Department",
    reconcile: (name) => reconciler.rebalance(name, () => queue.add(name)),
  });
  manager.watch(
    manager.informer(resources.resourceQuota, { labelSelector: labels.department, metadataOnly: true }),
    (event, quota) => {
      const department = quota.metadata?.labels?.[labels.department];
      if (!department) return;
      if (event === "delete") queue.add(department);
      else rebalancing.add(department, settings.quotaRebalanceWindowMs);
    },
  );

  const impersonation = new ImpersonationSync(client, log.child({ component: "impersonation" }), () =>
    departments.list(),
  );
  manager.watch(departments, () => impersonation.schedule(), specOrMetadataChanged);
  manager.onSynced(() => impersonation.schedule(0));
  manager.onStop(() => impersonation.stop());

  new Gauge({
    name: "govhost_departments",
    help: "Departments by the status of their Ready condition",
    labelNames: ["ready"],
    registers: [manager.metrics.registry],
    collect() {
      this.reset();
      for (const dept of departments.list()) {
        const ready = dept.status?.conditions?.find((c) => c.type === "Ready")?.status ?? "Unknown";
        this.inc({ ready });
      }
    },
  });
}

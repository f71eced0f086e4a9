import type { Server } from "node:http";
import type { Logger } from "pino";
import { Gauge, Histogram } from "prom-client";
import type { InstanceLike } from "../lib/chargeback/allocations.ts";
import type { KubeClient, KubeObject } from "../lib/kube/client.ts";
import { Informer, objectKey } from "../lib/kube/informer.ts";
import { resources } from "../lib/kube/resources.ts";
import { platformOwned } from "../policies/keys.ts";
import { AccessibilityScanner } from "./accessibility/scanner.ts";
import { platformDefaults } from "./api/defaults.ts";
import type { Department } from "./api/department.ts";
import type { EService } from "./api/eservice.ts";
import type { Tenant } from "./api/eservice-workload.ts";
import { labels, managedByValue } from "./api/group.ts";
import { controllerLeaseName } from "./api/rbac.ts";
import type { SharedService } from "./api/shared-service.ts";
import { ComplianceScanner } from "./compliance/scanner.ts";
import { EServiceReconciler } from "./eservice/reconciler.ts";
import { ScanQueue } from "./eservice/scan-queue.ts";
import {
  defaultScanSettings,
  type EServiceSettings,
  type ScanSettings,
  scannerOptionsFrom,
} from "./eservice/settings.ts";
import { Meter } from "./metering/meter.ts";
import { EventRecorder } from "./runtime/events.ts";
import { startHealthServer } from "./runtime/health-server.ts";
import { LeaderElector } from "./runtime/leader.ts";
import { createControllerMetrics } from "./runtime/metrics.ts";
import { WorkQueue } from "./runtime/workqueue.ts";
import { SharedServiceInstanceReconciler } from "./sharedservice/reconciler.ts";
import { ImpersonationSync } from "./tenancy/impersonation.ts";
import { DepartmentReconciler } from "./tenancy/reconciler.ts";
import type { TenancySettings } from "./tenancy/settings.ts";

export interface ControllerOptions {
  client: KubeClient;
  settings: TenancySettings;
  eserviceSettings: EServiceSettings;
  log: Logger;
  identity: string;
  leaseNamespace: string;
  host: string;
  port: number;
  concurrency?: number;
  resyncMs?: number;
  complianceIntervalMs?: number;
  meteringRefreshMs?: number;
  /** Size of a department's ledger changes past which it is compacted and folded. */
  ledgerCompactBytes?: number;
  /** How often pods' usage is read from the metrics API (metrics.k8s.io), when one is installed. */
  usagePollMs?: number;
  timeZone?: string;
  rateCard?: string;
  finalizeStatementsAfterMs?: number;
  /** Accessibility scan limits and fairness (defaults: defaultScanSettings). */
  scanSettings?: ScanSettings;
}

export interface RunningController {
  server: Server;
  queue: WorkQueue;
  /** Stops gracefully: no new work, waits for reconciles in flight, releases the lease. */
  stop(): Promise<void>;
}

const controllerName = "department";

/**
 * Runs the department controller: health and metrics first, then leader election (standby replicas wait
 * there), then informers feeding a work queue that the reconciler drains.
 */
export async function runController(options: ControllerOptions): Promise<RunningController> {
  const { client, log } = options;
  const abort = new AbortController();
  const metrics = createControllerMetrics();
  let synced = false;

  const departments = new Informer<Department & KubeObject>(
    client,
    resources.department,
    (_event, dept) => {
      queue.add(dept.metadata.name as string);
      meter.observeDepartment(dept);
      impersonation.schedule();
    },
    { onError: (error) => log.warn({ err: error }, "department watch failed; retrying") },
  );
  new Gauge({
    name: "govhost_departments",
    help: "Departments by the status of their Ready condition",
    labelNames: ["ready"],
    registers: [metrics.registry],
    collect() {
      this.reset();
      for (const dept of departments.list()) {
        const ready = dept.status?.conditions?.find((c) => c.type === "Ready")?.status ?? "Unknown";
        this.inc({ ready });
      }
    },
  });

  const impersonation = new ImpersonationSync(client, log.child({ component: "impersonation" }), () =>
    departments.list(),
  );
  const reconciler = new DepartmentReconciler(
    client,
    options.settings,
    new EventRecorder(client, "govhost-controller"),
  );
  const queue = new WorkQueue(
    async (name) => {
      const end = metrics.reconcileDuration.startTimer({ controller: controllerName });
      try {
        return await reconciler.reconcile(name);
      } finally {
        end();
        metrics.queueDepth.set({ controller: controllerName }, queue.depth);
      }
    },
    {
      concurrency: options.concurrency ?? 4,
      onError: (key, error, retryInMs) => {
        metrics.reconcileErrors.inc({ controller: controllerName });
        log.warn({ department: key, err: error, retryInMs }, "reconcile failed; will retry");
      },
    },
  );

  const scanDuration = new Histogram({
    name: "govhost_accessibility_scan_duration_seconds",
    help: "Time to scan one e-service's pages in both tiers",
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120],
    registers: [metrics.registry],
  });
  const scanSettings = options.scanSettings ?? defaultScanSettings;
  const accessibilityScanner = new AccessibilityScanner(
    scannerOptionsFrom(scanSettings, log.child({ component: "accessibility" })),
  );
  const scans = new ScanQueue(
    accessibilityScanner,
    (key, durationMs) => {
      scanDuration.observe(durationMs / 1000);
      eserviceQueue.add(key);
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
  const eserviceReconciler = new EServiceReconciler({
    client,
    settings: options.eserviceSettings,
    events: new EventRecorder(client, "govhost-controller"),
    scans,
    tenantOf: (namespace) => tenantOf(namespace),
  });
  const eserviceQueue = new WorkQueue(
    async (key) => {
      const end = metrics.reconcileDuration.startTimer({ controller: "eservice" });
      try {
        return await eserviceReconciler.reconcile(key);
      } finally {
        end();
        metrics.queueDepth.set({ controller: "eservice" }, eserviceQueue.depth);
      }
    },
    {
      concurrency: options.concurrency ?? 4,
      onError: (key, error, retryInMs) => {
        metrics.reconcileErrors.inc({ controller: "eservice" });
        log.warn({ eservice: key, err: error, retryInMs }, "reconcile failed; will retry");
      },
    },
  );

  const instanceReconciler = new SharedServiceInstanceReconciler({
    client,
    tenantOf: (namespace) => tenantOf(namespace),
    serviceOf: (name) => sharedServices.get(name),
  });
  const instanceQueue = new WorkQueue(
    async (key) => {
      const end = metrics.reconcileDuration.startTimer({ controller: "sharedserviceinstance" });
      try {
        return await instanceReconciler.reconcile(key);
      } finally {
        end();
        metrics.queueDepth.set({ controller: "sharedserviceinstance" }, instanceQueue.depth);
      }
    },
    {
      concurrency: options.concurrency ?? 4,
      onError: (key, error, retryInMs) => {
        metrics.reconcileErrors.inc({ controller: "sharedserviceinstance" });
        log.warn({ instance: key, err: error, retryInMs }, "reconcile failed; will retry");
      },
    },
  );

  const server = await startHealthServer({
    host: options.host,
    port: options.port,
    registry: metrics.registry,
    ready: () => synced,
  });
  log.info({ address: `http://${options.host}:${options.port}` }, "health and metrics listening");

  const elector = new LeaderElector(client, {
    namespace: options.leaseNamespace,
    name: controllerLeaseName,
    identity: options.identity,
  });
  log.info({ identity: options.identity }, "waiting for leadership");
  await elector.acquire(abort.signal, () => {
    log.error("lost the controller lease; exiting so a fresh process can rejoin the election");
    process.exit(1);
  });
  metrics.isLeader.set(1);
  log.info("became leader; starting informers");

  const enqueueOwner = (_event: string, object: KubeObject) => {
    const department = object.metadata?.labels?.[labels.department];
    if (department) queue.add(department);
  };
  const namespaces = new Informer<KubeObject>(client, resources.namespace, enqueueOwner, {
    labelSelector: `${labels.managedBy}=${managedByValue}`,
  });
  const tenantOf = (namespace: string): Tenant | undefined => {
    const ns = namespaces.get(namespace)?.metadata;
    const department = ns?.labels?.[labels.department];
    const environment = ns?.labels?.[labels.environment];
    if (!department || !environment) return undefined;
    const domains = ns?.annotations?.[platformOwned.domains] ?? "";
    return { department, environment, domains: domains.split(",").filter(Boolean) };
  };
  const eservices = new Informer<EService & KubeObject>(client, resources.eservice, (event, es) => {
    eserviceQueue.add(objectKey(es));
    meter.observeLifetime("eservice", es, event === "delete");
  });
  // Deployed follows the rollout (available replicas), so the EService that owns a Deployment is
  // reconciled again when its status changes.
  const eserviceDeployments = new Informer<KubeObject>(
    client,
    resources.deployment,
    (_event, deployment) => {
      const refs = (deployment.metadata?.ownerReferences ?? []) as {
        kind?: string;
        name?: string;
        controller?: boolean;
      }[];
      const owner = refs.find((ref) => ref.controller && ref.kind === "EService");
      if (owner?.name) eserviceQueue.add(`${deployment.metadata?.namespace}/${owner.name}`);
    },
    { labelSelector: platformOwned.eservice },
  );
  const instances = new Informer<KubeObject>(client, resources.sharedServiceInstance, (event, instance) => {
    instanceQueue.add(objectKey(instance));
    meter.observeInstance(instance as InstanceLike & KubeObject, event === "delete");
  });
  const sharedServices = new Informer<SharedService & KubeObject>(client, resources.sharedService, () => {
    for (const instance of instances.list()) instanceQueue.add(objectKey(instance));
  });
  const meter = new Meter({
    client,
    registry: metrics.registry,
    department: (name) => departments.get(name),
    log: log.child({ component: "metering" }),
    timeZone: options.timeZone ?? platformDefaults.timeZone,
    rateCard: options.rateCard ?? platformDefaults.rateCard,
    finalizeAfterMs: options.finalizeStatementsAfterMs ?? 24 * 3_600_000,
    ...(options.ledgerCompactBytes ? { compactAboveBytes: options.ledgerCompactBytes } : {}),
    owner: (name) => {
      const nsLabels = namespaces.get(name)?.metadata?.labels;
      const department = nsLabels?.[labels.department];
      const environment = nsLabels?.[labels.environment];
      return department && environment ? { department, environment } : undefined;
    },
    pod: (namespace, name) => pods.get(`${namespace}/${name}`),
  });
  const pods = new Informer<KubeObject>(client, resources.pod, (event, pod) =>
    meter.observePod(pod, event === "delete"),
  );
  const claims = new Informer<KubeObject>(client, resources.persistentVolumeClaim, (event, pvc) =>
    meter.observePvc(pvc, event === "delete"),
  );
  const children = [
    namespaces,
    ...[resources.resourceQuota, resources.limitRange, resources.networkPolicy, resources.roleBinding].map(
      (type) => new Informer(client, type, enqueueOwner, { labelSelector: labels.department }),
    ),
  ];
  const ingresses = new Informer<KubeObject>(client, resources.ingress, (event, ingress) =>
    meter.observeLifetime("ingress", ingress, event === "delete"),
  );
  // Metered objects are attributed through their namespace, so namespaces must be known first.
  const owners = [departments, ...children, sharedServices];
  for (const informer of owners) void informer.run(abort.signal);
  await Promise.all(owners.map((i) => i.synced));
  const metered = [pods, claims, ingresses, eservices, instances, eserviceDeployments];
  for (const informer of metered) void informer.run(abort.signal);
  await Promise.all(metered.map((i) => i.synced));
  meter.closeVanished(elector.previousLeaderLastRenewal ?? Date.now());
  synced = true;
  impersonation.schedule(0);
  queue.start();
  eserviceQueue.start();
  instanceQueue.start();
  meter.queue.start();
  log.info({ departments: departments.list().length }, "caches synced; reconciling");

  const scanner = new ComplianceScanner(client, log.child({ component: "compliance" }), metrics.registry, {
    departments: () => departments.list(),
    namespaces: () => namespaces.list(),
    objects: { Pod: () => pods.list(), Ingress: () => ingresses.list() },
  });
  void scanner.run(abort.signal, options.complianceIntervalMs ?? 60_000);

  // Usage above requests (consumed mode), when a metrics API is installed; one poll at a time.
  const usagePollMs = options.usagePollMs ?? 60_000;
  let polling = false;
  const usagePoll = setInterval(() => {
    if (polling) return;
    polling = true;
    meter
      .pollUsage(usagePollMs)
      .catch((error: unknown) => log.warn({ err: error }, "reading usage metrics failed; retrying next poll"))
      .finally(() => {
        polling = false;
      });
  }, usagePollMs);

  // Drafts include open allocations up to now, so they are recomputed even without events.
  const meterRefresh = setInterval(() => {
    for (const dept of departments.list()) meter.refresh(dept.metadata.name as string);
  }, options.meteringRefreshMs ?? 60_000);

  const resync = setInterval(
    () => {
      for (const dept of departments.list()) queue.add(dept.metadata.name as string);
      for (const es of eservices.list()) eserviceQueue.add(objectKey(es));
      for (const instance of instances.list()) instanceQueue.add(objectKey(instance));
    },
    options.resyncMs ?? 5 * 60_000,
  );

  return {
    server,
    queue,
    async stop() {
      clearInterval(resync);
      impersonation.stop();
      clearInterval(meterRefresh);
      clearInterval(usagePoll);
      abort.abort();
      scans.stop();
      await queue.stop();
      await eserviceQueue.stop();
      await instanceQueue.stop();
      await accessibilityScanner.close();
      await meter.queue.stop();
      await elector.release();
      metrics.isLeader.set(0);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      client.close();
    },
  };
}

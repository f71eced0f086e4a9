import type { Server } from "node:http";
import type { Logger } from "pino";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { Informer, type InformerEvent } from "../../lib/kube/informer.ts";
import type { ResourceType } from "../../lib/kube/resources.ts";
import { startHealthServer } from "./health-server.ts";
import { LeaderElector } from "./leader.ts";
import { type ControllerMetrics, createControllerMetrics, registerWatchMetrics } from "./metrics.ts";
import { StatusWriter } from "./status-writer.ts";
import { type ReconcileResult, WorkQueue } from "./workqueue.ts";

// One manager runs every controller, as controller-runtime's does: each controller's `setup(manager)`
// declares its informers, event filters and queue; the manager owns start order (health, leader election,
// caches, queues, then periodic work), resync and shutdown. Informers are shared: two controllers that watch
// the same resource with the same selector read one cache.

export interface ManagerOptions {
  client: KubeClient;
  log: Logger;
  /** This replica's name in leader election. */
  identity: string;
  leaseNamespace: string;
  leaseName: string;
  host: string;
  port: number;
  /** Every controller's keys are enqueued again this often (default 5 minutes). */
  resyncMs?: number;
}

export interface InformerOptions {
  labelSelector?: string;
  /**
   * Caches start in phases: every phase-0 cache is synced before phase 1 starts (metered objects are
   * attributed through their namespace, so namespaces must be known first). Default 0.
   */
  phase?: 0 | 1;
  /**
   * Keep only each object's metadata: for caches that only say which object changed (a separate cache
   * from a full one of the same resource).
   */
  metadataOnly?: boolean;
  /**
   * What the cache keeps of each object (lib/kube/informer.ts); every reader of a shared cache must ask
   * for the same one.
   */
  transform?: (object: KubeObject) => KubeObject;
  /** Read the watch in batches this many ms apart (lib/kube/informer.ts): for busy resources. */
  readEveryMs?: number;
}

/** Decides whether a change is worth a handler's time (controller-runtime's predicates). */
export type EventFilter<T> = (event: InformerEvent, object: T, previous?: T) => boolean;

export interface ControllerDefinition {
  /** The controller's name: its metrics label and log field. */
  name: string;
  /** The kind it reconciles: with the key, the fields of each reconcile's logger. */
  kind: string;
  /** Reconciles one object; `log` carries the controller, the kind and the object's key. */
  reconcile: (key: string, log: Logger) => Promise<ReconcileResult | undefined>;
  concurrency?: number;
  /** The keys a periodic resync enqueues again. */
  resyncKeys?: () => Iterable<string>;
}

/** A write refused before it was sent: this replica does not hold the lease (any more, or yet). */
export class NotLeadingError extends Error {
  constructor(method: string, path: string) {
    super(`not writing ${method} ${path}: this replica does not hold the controller lease`);
    this.name = "NotLeadingError";
  }
}

/** Raised through `RunningManager.done` when this replica loses the lease. */
export class LeaseLostError extends Error {
  constructor(cause?: unknown) {
    super("lost the controller lease", { cause });
    this.name = "LeaseLostError";
  }
}

export interface RunningManager {
  server: Server;
  /** Rejects with LeaseLostError when the lease is lost; resolves after `stop`. */
  done: Promise<void>;
  /** Stops gracefully: no new work, waits for reconciles in flight, releases the lease. */
  stop(): Promise<void>;
}

type Runnable = (signal: AbortSignal) => void;

export class Manager {
  /** For controllers: every write goes out only while this replica holds the lease (see LeaderElector). */
  readonly client: KubeClient;
  private readonly electionClient: KubeClient;
  private elector: LeaderElector | undefined;
  readonly log: Logger;
  readonly metrics: ControllerMetrics;
  readonly status: StatusWriter;
  private readonly options: ManagerOptions;
  /**
   * The shared caches by the resource and what of it is cached, as metrics name them: `pods`,
   * `departments.govhost.io (metadata)`, `namespaces govhost.io/department`.
   */
  private readonly informers = new Map<
    string,
    {
      informer: Informer<KubeObject>;
      phase: number;
      transform: ((object: KubeObject) => KubeObject) | undefined;
    }
  >();
  private readonly queues: { definition: ControllerDefinition; queue: WorkQueue }[] = [];
  private readonly syncedHooks: ((context: { previousLeaderLastRenewal?: number }) => void)[] = [];
  private readonly runnables: Runnable[] = [];
  private readonly stopHooks: (() => Promise<void> | void)[] = [];
  private ready = false;

  constructor(options: ManagerOptions) {
    this.options = options;
    // Requests name the replica (the API server's audit log tells two replicas apart).
    this.electionClient = options.client.derived({ userAgent: `govhost-controller/${options.identity}` });
    this.client = this.electionClient.derived({
      beforeWrite: (method, path) => {
        if (!this.elector?.holdsLease) throw new NotLeadingError(method, path);
      },
    });
    this.log = options.log;
    this.metrics = createControllerMetrics();
    registerWatchMetrics(this.metrics.registry, () =>
      [...this.informers].map(([resource, { informer }]) => ({
        resource,
        watchCounts: informer.watchCounts,
      })),
    );
    this.status = new StatusWriter(this.client, options.log.child({ component: "status" }));
  }

  /** The shared cache of one resource (with one label selector); created on first use. */
  informer<T extends KubeObject>(type: ResourceType, options: InformerOptions = {}): Informer<T> {
    const resource = [
      type.group ? `${type.plural}.${type.group}` : type.plural,
      options.labelSelector,
      options.metadataOnly ? "(metadata)" : undefined,
    ]
      .filter(Boolean)
      .join(" ");
    let entry = this.informers.get(resource);
    if (!entry) {
      const informer = new Informer<KubeObject>(this.client, type, undefined, {
        ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
        ...(options.metadataOnly ? { metadataOnly: true } : {}),
        ...(options.transform ? { transform: options.transform } : {}),
        ...(options.readEveryMs ? { readEveryMs: options.readEveryMs } : {}),
        onError: (error) => this.log.warn({ err: error, resource: type.plural }, "watch failed; retrying"),
      });
      entry = { informer, phase: options.phase ?? 0, transform: options.transform };
      this.informers.set(resource, entry);
    } else if (entry.transform !== options.transform)
      // A reader would silently get objects trimmed for another (or untrimmed ones it did not expect).
      throw new Error(
        `the shared cache of ${type.plural} is kept with another transform than this reader asks`,
      );
    entry.phase = Math.max(entry.phase, options.phase ?? 0);
    return entry.informer as unknown as Informer<T>;
  }

  /** Calls `handler` for the informer's changes that pass `filter` (all of them without one). */
  watch<T extends KubeObject>(
    informer: Informer<T>,
    handler: (event: InformerEvent, object: T) => void,
    filter?: EventFilter<T>,
  ): void {
    informer.addHandler((event, object, previous) => {
      if (!filter || filter(event, object, previous)) handler(event, object);
    });
  }

  /** A controller's work queue, drained once every cache is synced; failures are counted and logged. */
  controller(definition: ControllerDefinition): WorkQueue {
    const { name } = definition;
    const { metrics } = this;
    const log = this.log.child({ controller: name });
    const queue: WorkQueue = new WorkQueue(
      async (key) => {
        const end = metrics.reconcileDuration.startTimer({ controller: name });
        try {
          return await definition.reconcile(key, log.child({ kind: definition.kind, name: key }));
        } finally {
          end();
          metrics.queueDepth.set({ controller: name }, queue.depth);
        }
      },
      {
        concurrency: definition.concurrency ?? 4,
        onError: (key, error, retryInMs) => {
          metrics.reconcileErrors.inc({ controller: name });
          log.warn(
            { kind: definition.kind, name: key, err: error, retryInMs },
            "reconcile failed; will retry",
          );
        },
      },
    );
    this.queues.push({ definition, queue });
    return queue;
  }

  /** Runs once every cache is synced, before any queue starts. */
  onSynced(hook: (context: { previousLeaderLastRenewal?: number }) => void): void {
    this.syncedHooks.push(hook);
  }

  /** Starts after the queues (leader only); stops when the manager's signal aborts. */
  runnable(run: Runnable): void {
    this.runnables.push(run);
  }

  /** Runs `tick` every `ms` once started; a tick still running is not started again. */
  every(ms: number, tick: () => Promise<void> | void): void {
    this.runnable((signal) => {
      let running = false;
      const timer = setInterval(() => {
        if (running) return;
        running = true;
        Promise.resolve()
          .then(tick)
          .catch((error: unknown) =>
            this.log.warn({ err: error }, "periodic task failed; retrying next time"),
          )
          .finally(() => {
            running = false;
          });
      }, ms);
      signal.addEventListener("abort", () => clearInterval(timer), { once: true });
    });
  }

  /** Runs on stop, after the queues have drained, in the reverse order of registration. */
  onStop(hook: () => Promise<void> | void): void {
    this.stopHooks.push(hook);
  }

  /** Health and metrics first, then leader election (standby replicas wait there), then the controllers. */
  async start(): Promise<RunningManager> {
    const abort = new AbortController();
    const server = await startHealthServer({
      host: this.options.host,
      port: this.options.port,
      registry: this.metrics.registry,
      ready: () => this.ready,
    });
    this.log.info(
      { address: `http://${this.options.host}:${this.options.port}` },
      "health and metrics listening",
    );
    const elector = new LeaderElector(this.electionClient, {
      namespace: this.options.leaseNamespace,
      name: this.options.leaseName,
      identity: this.options.identity,
      log: this.log,
    });
    let lost: (error: LeaseLostError) => void = () => {};
    let finished: () => void = () => {};
    const done = new Promise<void>((resolve, reject) => {
      lost = reject;
      finished = resolve;
    });
    this.log.info({ identity: this.options.identity }, "waiting for leadership");
    try {
      this.elector = elector;
      await elector.acquire(abort.signal, (cause) => lost(new LeaseLostError(cause)));
    } catch (error) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw error;
    }
    this.metrics.isLeader.set(1);
    this.log.info("became leader; starting informers");

    await this.syncCaches(abort.signal);
    for (const hook of this.syncedHooks)
      hook({ previousLeaderLastRenewal: elector.previousLeaderLastRenewal ?? undefined });
    this.ready = true;
    for (const { queue } of this.queues) queue.start();
    for (const run of this.runnables) run(abort.signal);
    this.log.info("caches synced; reconciling");
    const resync = setInterval(() => this.resyncAll(), this.options.resyncMs ?? 5 * 60_000);

    const stop = async () => {
      clearInterval(resync);
      abort.abort();
      for (const { queue } of this.queues) await queue.stop();
      for (const hook of [...this.stopHooks].reverse()) await hook();
      await elector.release();
      this.metrics.isLeader.set(0);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      this.client.close();
      finished();
    };
    return { server, done, stop };
  }

  private async syncCaches(signal: AbortSignal): Promise<void> {
    const entries = [...this.informers.values()];
    for (const phase of [0, 1]) {
      const now = entries.filter((entry) => entry.phase === phase).map((entry) => entry.informer);
      for (const informer of now) void informer.run(signal);
      await Promise.all(now.map((informer) => informer.synced));
    }
  }

  private resyncAll(): void {
    for (const { definition, queue } of this.queues) {
      for (const key of definition.resyncKeys?.() ?? []) queue.add(key);
    }
  }
}

/**
 * Passes creations, deletions, and updates that change what a reconciler reads: the generation (spec),
 * labels, annotations or the deletion timestamp. Status-only and finalizer-only updates (mostly the
 * controller's own writes) are dropped, like controller-runtime's GenerationChangedPredicate; the periodic
 * resync still visits every object.
 */
export function specOrMetadataChanged<T extends KubeObject>(
  event: InformerEvent,
  object: T,
  previous?: T,
): boolean {
  if (event !== "update" || !previous) return true;
  const a = previous.metadata ?? {};
  const b = object.metadata ?? {};
  return (
    a.generation !== b.generation ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    JSON.stringify(a.labels ?? {}) !== JSON.stringify(b.labels ?? {}) ||
    JSON.stringify(a.annotations ?? {}) !== JSON.stringify(b.annotations ?? {})
  );
}

import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { PodReading } from "../../lib/chargeback/above-request.ts";
import {
  type DepartmentLike,
  type InstanceLike,
  instanceAllocationChanges,
  type LifetimeObject,
  lifetimeAllocationChanges,
  type PodLike,
  type PvcLike,
  podAllocationChanges,
  pvcAllocationChanges,
  reservedChanges,
  resizeChanges,
} from "../../lib/chargeback/allocations.ts";
import { type AllocationChange, seriesOf } from "../../lib/chargeback/engine.ts";
import { type Ledger, latestAmounts, ledgerOf } from "../../lib/chargeback/ledger.ts";
import { billedShardChanges, lineShardKey } from "../../lib/chargeback/ledger-shards.ts";
import { allocationModeOf, priceVersions } from "../../lib/chargeback/ratecard.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import type { Department } from "../api/department.ts";
import type { RateCard } from "../api/ratecard.ts";
import type { StatusWriter } from "../runtime/status-writer.ts";
import { WorkQueue } from "../runtime/workqueue.ts";
import { writeBudget } from "./budget.ts";
import { recordInShard, recordUsageInShard, vanishedEnds } from "./ledger-recording.ts";
import { LedgerStore } from "./ledger-store.ts";
import { podMetrics, readingsByDepartment } from "./pod-usage.ts";
import { registerMeteringMetrics } from "./prometheus-metrics.ts";
import { type MeteringSnapshot, meteringSnapshot, monthStatement } from "./snapshot.ts";
import { type KnownStatements, writeStatements } from "./statements.ts";

// Event-driven metering: every pod or volume change becomes allocation changes (with the instants recorded
// on the objects), recorded in the department's ledger, and the month's draft ChargebackStatement is
// recomputed from the ledger with the cost engine. Alongside, usage above requests is polled from the
// metrics API (above-request.ts), and a large ledger folds what is gone into integrals (fold.ts).

export interface MeterOptions {
  client: KubeClient;
  log: Logger;
  status: StatusWriter;
  timeZone: string;
  rateCard: string;
  /** The rate card named `rateCard` as last seen (from the controller's cache). */
  currentRateCard: () => (RateCard & KubeObject) | undefined;
  /** How long after a month ends its statement stays open for late events before it is finalized. */
  finalizeAfterMs: number;
  registry: Registry;
  /** The department as last seen (its budget and status), from the controller's cache. */
  department: (name: string) => (Department & KubeObject) | undefined;
  /** Which department and environment a namespace belongs to (from the platform-owned labels). */
  owner: (namespace: string) => { department: string; environment: string } | undefined;
  /** A pod as last seen, from the controller's cache (for its requests when reading its usage). */
  pod: (namespace: string, name: string) => PodLike | undefined;
  /**
   * How long changes wait to be written together (ms, default 1 s): one write per department per window at
   * most. A large ledger waits longer (scaledInterval).
   */
  batchMs?: number;
  /**
   * How often a department's statements, metrics and budget are recomputed from its ledger while its
   * changes keep coming (ms, default 5 s; longer for a large ledger, scaledInterval): the ledger records
   * every batch at once; pricing the whole month again for each batch is what a busy department paid for
   * per event.
   */
  statementEveryMs?: number;
  /**
   * Compact a ledger shard once its changes pass this size: drop the finalized months and fold
   * allocations that ended and are gone (default 256 KiB).
   */
  compactAboveBytes?: number;
  /** Re-shard a ledger once one of its shards is stored in more than this (default 512 KiB). */
  shardAboveBytes?: number;
}

/** Up to this many changes in a department's ledger, its batches and pricing keep their base interval. */
const changesPerInterval = 20_000;
/** The longest a batch or a pricing waits, in base intervals (10 s of changes; a draft 50 s old). */
const maxIntervalScale = 10;

/**
 * A department's batch window or pricing interval for a ledger of `ledgerChanges` changes. Writing a shard
 * and pricing the month cost in proportion to the whole ledger (every change is sent or integrated again),
 * not to the changes since the last time; a ledger holds every allocation of the last two minutes (the
 * fold's grace), so under steady churn it grows with the churn. The interval grows with the ledger, so a
 * busy department's metering costs about the same per second whatever its ledger holds, and what it defers
 * is freshness (the draft, the metrics), never a change: each is recorded, at the instants on its object.
 */
export function scaledInterval(baseMs: number, ledgerChanges: number): number {
  return Math.round(baseMs * Math.min(maxIntervalScale, Math.max(1, ledgerChanges / changesPerInterval)));
}

export class Meter {
  private readonly options: MeterOptions;
  private readonly pending = new Map<string, AllocationChange[]>();
  private readonly departmentsSeen = new Map<string, DepartmentLike>();
  private readonly live = new Map<string, Map<string, AllocationChange>>();
  /** Subjects whose object exists (as last seen): their changes may be derived again, so never folded. */
  private readonly present = new Set<string>();
  private readonly deleting = new Set<string>();
  private readonly snapshots = new Map<
    string,
    { snapshot: MeteringSnapshot; currency: string; budgetMinor?: number }
  >();
  readonly queue: WorkQueue;
  private readonly ledgers: LedgerStore;
  private readonly statements: KnownStatements = new Map();
  /** When each department's statements were last computed (see statementEveryMs). */
  private readonly pricedAt = new Map<string, number>();
  /** How many changes each department's ledger held when last recorded into (see scaledInterval). */
  private readonly ledgerSizes = new Map<string, number>();
  private usageMetricsAvailable: boolean | undefined;
  /** Set once the caches are synced: open allocations of objects that vanished meanwhile end then. */
  private vanished: { lastWatchedAt: number; checked: Set<string> } | undefined;

  constructor(options: MeterOptions) {
    this.options = options;
    registerMeteringMetrics(options.registry, () => this.snapshots);
    this.ledgers = new LedgerStore({
      client: options.client,
      log: options.log,
      registry: options.registry,
      shardAboveBytes: options.shardAboveBytes ?? 512 * 1024,
    });
    this.queue = new WorkQueue((department) => this.flush(department), {
      concurrency: 2,
      onError: (department, error) =>
        options.log.warn({ department, err: error }, "metering flush failed; retrying"),
    });
  }

  observePod(pod: PodLike, deleted: boolean): void {
    const owner = this.options.owner(pod.metadata?.namespace ?? "");
    if (owner)
      this.enqueue(
        owner.department,
        this.trackLive(owner.department, podAllocationChanges(pod, owner, deleted)),
        deleted,
      );
  }

  observePvc(pvc: PvcLike & { metadata?: { namespace?: string } }, deleted: boolean): void {
    const owner = this.options.owner(pvc.metadata?.namespace ?? "");
    if (owner)
      this.enqueue(
        owner.department,
        this.trackLive(owner.department, pvcAllocationChanges(pvc, owner, deleted)),
        deleted,
      );
  }

  /** Remembers the current amounts of objects still holding resources (for resizes); passes changes on. */
  private trackLive(department: string, changes: AllocationChange[]): AllocationChange[] {
    const live = this.live.get(department) ?? new Map<string, AllocationChange>();
    this.live.set(department, live);
    const ended = new Set(changes.filter((c) => c.amount === 0n).map((c) => c.subject));
    for (const c of changes) {
      const key = `${c.subject}|${c.resource}`;
      if (ended.has(c.subject)) live.delete(key);
      else live.set(key, c);
    }
    return changes;
  }

  /** An Ingress (a public endpoint) or an EService was created, changed or deleted. */
  observeLifetime(
    kind: "ingress" | "eservice",
    object: LifetimeObject & { metadata?: { namespace?: string } },
    deleted: boolean,
  ): void {
    const owner = this.options.owner(object.metadata?.namespace ?? "");
    if (owner)
      this.enqueue(owner.department, lifetimeAllocationChanges(object, kind, owner, deleted), deleted);
  }

  /** A shared-service instance was created, changed plan or was deleted. */
  observeInstance(instance: InstanceLike & { metadata?: { namespace?: string } }, deleted: boolean): void {
    const owner = this.options.owner(instance.metadata?.namespace ?? "");
    if (owner) this.enqueue(owner.department, instanceAllocationChanges(instance, owner, deleted), deleted);
  }

  /** A department was created, changed or deleted: its reserved quota may have changed. */
  observeDepartment(dept: DepartmentLike): void {
    const name = dept.metadata.name;
    if (!name) return;
    this.departmentsSeen.set(name, dept);
    this.queue.add(name);
  }

  /**
   * Called once every metered cache is synced, before the first flush. An object deleted while no
   * controller watched never sent its deletion, so its allocation would stay open and be billed forever:
   * each department's first flush ends the open allocations whose object no longer exists, at
   * `lastWatchedAt` (the previous leader's last lease renewal: the object existed as long as a controller
   * watched, since it would have recorded the deletion). That is the earliest instant the deletion could
   * have happened, so the department is never billed for time it may not have used (docs/metering.md).
   */
  closeVanished(lastWatchedAt: number): void {
    this.vanished = { lastWatchedAt, checked: new Set() };
  }

  /** Ends for the department's open allocations whose object is gone (once per department, see above). */
  private vanishedEnds(department: string, ledger: Ledger, pending: AllocationChange[]): AllocationChange[] {
    if (!this.vanished || this.vanished.checked.has(department)) return [];
    const inFlight = new Set(pending.map((c) => c.subject));
    const at = this.vanished.lastWatchedAt;
    const ends = vanishedEnds(
      ledger,
      at,
      (subject) => this.present.has(subject) || this.deleting.has(subject) || inFlight.has(subject),
    );
    if (ends.length > 0)
      this.options.log.info(
        { department, ended: ends.length, at: new Date(at).toISOString() },
        "closed allocations of objects deleted while no controller was watching",
      );
    return ends;
  }

  /** Recompute a department's draft (the open allocations grow with time even without events). */
  refresh(department: string): void {
    this.queue.add(department);
  }

  private enqueue(department: string, changes: AllocationChange[], deleted: boolean): void {
    for (const c of changes) {
      // A deleted object stops being present once its deletion is recorded (in flush): until then a
      // fold could remove its series and the pending changes would add it again.
      if (deleted) this.deleting.add(c.subject);
      else this.present.add(c.subject);
    }
    if (changes.length === 0) return;
    const pending = this.pending.get(department);
    if (pending) pending.push(...changes);
    else this.pending.set(department, [...changes]);
    // Events within the batch window share one ledger write and one statement computation.
    this.queue.add(
      department,
      scaledInterval(this.options.batchMs ?? 1000, this.ledgerSizes.get(department) ?? 0),
    );
  }

  /**
   * On a clean stop (still the leader): records the changes still waiting for their batch window, which
   * would otherwise be lost with the process (a pod that came and went in the window would never be billed).
   */
  async drain(withinMs = 5_000): Promise<void> {
    await this.queue.stop();
    const recording = (async () => {
      for (const department of [...this.pending.keys()]) {
        try {
          await this.flush(department, false);
        } catch (error) {
          this.options.log.warn({ department, err: error }, "could not record metering changes on stop");
        }
      }
    })();
    // An API server that does not answer must not hold the stop (the next leader ends what is left open).
    const gaveUp = await Promise.race([recording.then(() => false), sleep(withinMs, true, { ref: false })]);
    if (gaveUp) this.options.log.warn({ withinMs }, "stopped before every metering change was recorded");
  }

  private async flush(department: string, price = true): Promise<undefined> {
    const changes = this.pending.get(department) ?? [];
    this.pending.delete(department);
    try {
      const seen = this.departmentsSeen.get(department);
      const live = [...(this.live.get(department)?.values() ?? [])];
      const card = this.options.currentRateCard();
      const versions = card ? priceVersions(card) : [];
      const cuts = versions.map((v) => v.validFrom);
      const shards = await this.recordChanges(department, changes, cuts, (current) => {
        const latest = latestAmounts(current);
        return [
          ...(seen ? reservedChanges(seen, latest, Date.now()) : []),
          ...resizeChanges(live, latest, Date.now()),
          ...this.vanishedEnds(department, current, changes),
        ];
      });
      this.vanished?.checked.add(department);
      for (const c of changes) {
        if (this.deleting.delete(c.subject)) this.present.delete(c.subject);
      }
      const ledgerSize = shards.reduce((n, data) => n + ledgerOf(department, data).changes.length, 0);
      this.ledgerSizes.set(department, ledgerSize);
      if (!price) return undefined;
      if (!card) {
        this.options.log.warn(
          { rateCard: this.options.rateCard },
          "rate card missing; statements not computed",
        );
        return undefined;
      }
      const now = Date.now();
      const due =
        (this.pricedAt.get(department) ?? 0) +
        scaledInterval(this.options.statementEveryMs ?? 5_000, ledgerSize);
      if (now < due) {
        // Recorded; priced once the interval is over (a flush then, with or without new changes).
        this.queue.add(department, due - now);
        return undefined;
      }
      this.pricedAt.set(department, now);
      const mode = allocationModeOf(card, department);
      const billed = { department, changes: billedShardChanges(department, shards, mode) };
      // Each month is integrated once per flush, for its statement and the metrics alike.
      const series = seriesOf(billed.changes);
      const statementOf = monthStatement(series, versions, this.options.timeZone, now);
      await writeStatements(
        this.options.client,
        this.options,
        billed,
        card,
        statementOf,
        now,
        this.statements,
      );
      const snapshot = meteringSnapshot(series, versions, this.options.timeZone, now, statementOf);
      const budget = this.options.department(department)?.spec.monthlyBudget;
      this.snapshots.set(department, {
        snapshot,
        currency: card.spec.currency,
        ...(budget ? { budgetMinor: Math.round(budget.amount * 100) } : {}),
      });
      await writeBudget(
        this.options.status,
        this.options.department(department),
        snapshot,
        card.spec.currency,
      );
    } catch (error) {
      // Put the changes back so the retry records them.
      this.pending.set(department, [...changes, ...(this.pending.get(department) ?? [])]);
      throw error;
    }
    return undefined;
  }

  /**
   * Read-merge-write of each shard of the ledger with optimistic concurrency (retried on conflict): each
   * shard records the changes of the subjects it owns. Returns every shard's content.
   */
  private async recordChanges(
    department: string,
    changes: AllocationChange[],
    priceCuts: readonly number[],
    derive: (ledger: Ledger) => AllocationChange[],
  ): Promise<Record<string, string>[]> {
    const shards = await this.ledgers.update(department, (data, owns) => {
      const ledger = ledgerOf(department, data);
      const mine = [...changes, ...derive(ledger)].filter((c) => owns(c.subject));
      const recording = {
        department,
        timeZone: this.options.timeZone,
        compactAboveBytes: this.options.compactAboveBytes ?? 256 * 1024,
        present: (subject: string) => this.present.has(subject),
        priceCuts,
        log: this.options.log,
      };
      return { result: undefined, data: recordInShard(data, ledger, mine, recording) };
    });
    return shards.map((s) => s.data);
  }

  /**
   * Counts a department's usage above requests since its watermark, in the ledger: each shard counts the
   * lines it owns since its own watermark, and every shard's watermark moves, with or without readings.
   */
  private async recordUsage(department: string, readings: PodReading[], now: number, intervalMs: number) {
    const { timeZone } = this.options;
    await this.ledgers.update(department, (data, owns) => {
      const mine = readings.filter((r) => owns(lineShardKey(r)));
      return { result: undefined, data: recordUsageInShard(data, mine, { now, intervalMs, timeZone }) };
    });
  }

  /**
   * Reads every pod's usage from the metrics API and counts, per department, usage above requests since
   * the last poll. Without a metrics API, `consumed` mode bills requests (logged once per change).
   */
  async pollUsage(intervalMs: number): Promise<void> {
    const items = await podMetrics(this.options.client);
    if (this.usageMetricsAvailable !== (items !== undefined)) {
      this.usageMetricsAvailable = items !== undefined;
      this.options.log.info(
        { available: this.usageMetricsAvailable },
        items
          ? "metrics.k8s.io is available: consumed mode bills max(request, usage)"
          : "no metrics.k8s.io API: consumed mode bills requests",
      );
    }
    if (!items) return;
    const readings = readingsByDepartment(items, this.options.owner, this.options.pod);
    const now = Date.now();
    for (const [department, list] of readings) {
      await this.recordUsage(department, list, now, intervalMs);
      this.queue.add(department);
    }
  }
}

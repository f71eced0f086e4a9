import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { isConflict, type KubeClient, type KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";

interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  retryPeriodMs?: number;
  /** Failed lease reads and writes are logged here (they are retried, so they are warnings). */
  log?: Logger;
}

const microTime = (date = new Date()) => date.toISOString().replace("Z", "000Z");

/**
 * Leader election on a coordination.k8s.io Lease, as client-go does it: the holder renews the lease;
 * others take it over when it has not changed for a whole lease duration as observed on their own clock
 * (so clock skew between replicas does not matter). Writes use optimistic concurrency (resourceVersion).
 */
export class LeaderElector {
  private readonly options: Required<Omit<LeaderElectionOptions, "log">>;
  private readonly log: Logger | undefined;
  private readonly client: KubeClient;
  private observed: { record: string; at: number } | undefined;
  private leading = false;
  /** When this replica last acquired or renewed the lease, on its own clock. */
  private lastRenew = 0;
  private previousRenewal: number | undefined;

  constructor(client: KubeClient, options: LeaderElectionOptions) {
    this.client = client;
    const { log, ...rest } = options;
    this.options = { leaseDurationSeconds: 15, retryPeriodMs: 2_000, ...rest };
    this.log = log?.child({ lease: `${options.namespace}/${options.name}` });
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Whether this replica may write now: it leads and renewed the lease within its renew deadline (two
   * thirds of the lease duration). Another replica takes over only after a whole lease duration without a
   * renewal on its own clock, so a replica that was stopped or cut off (a paused process, a long GC, a
   * lost network) stops writing before anyone else may start, even before its renew loop runs again.
   */
  get holdsLease(): boolean {
    return this.leading && Date.now() - this.lastRenew < this.renewDeadlineMs;
  }

  private get renewDeadlineMs(): number {
    return this.options.leaseDurationSeconds * 1000 * 0.66;
  }

  /**
   * When the lease was last renewed before this process took it (ms since the epoch), undefined for a new
   * lease: until then a leader was watching, so that is the last instant the platform saw the cluster.
   */
  get previousLeaderLastRenewal(): number | undefined {
    return this.previousRenewal;
  }

  /**
   * Tries to acquire (an API error is logged and tried again), then keeps renewing; calls `onLost` with the
   * last failure if renewals fail for two thirds of a lease duration. Resolves once leadership is acquired;
   * renewal continues in the background until the signal aborts.
   */
  async acquire(signal: AbortSignal, onLost: (cause: unknown) => void): Promise<void> {
    while (!signal.aborted && !(await this.attempt("acquire"))) {
      await sleep(this.options.retryPeriodMs, undefined, { signal }).catch(() => {});
    }
    if (signal.aborted) return;
    this.leading = true;
    void this.renewLoop(signal, onLost);
  }

  private async renewLoop(signal: AbortSignal, onLost: (cause: unknown) => void): Promise<void> {
    let lastFailure: unknown;
    while (!signal.aborted) {
      await sleep(this.options.retryPeriodMs, undefined, { signal }).catch(() => {});
      if (signal.aborted) break;
      const renewed = await this.attempt("renew", (error) => {
        lastFailure = error;
      });
      if (!renewed && Date.now() - this.lastRenew > this.renewDeadlineMs) {
        this.leading = false;
        const cause = lastFailure ?? new Error("another replica holds the lease");
        this.log?.error({ err: cause }, "lease lost: not renewed within two thirds of its duration");
        onLost(cause);
        return;
      }
    }
  }

  /** One try; an API error is logged (with what was tried) and counts as not holding the lease. */
  private async attempt(what: "acquire" | "renew", onError?: (error: unknown) => void): Promise<boolean> {
    try {
      return await this.tryAcquireOrRenew();
    } catch (error) {
      this.log?.warn({ err: error }, `lease ${what} failed; trying again`);
      onError?.(error);
      return false;
    }
  }

  /** Gives the lease up so a standby replica can take over at once (on graceful shutdown). */
  async release(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.client.find<Lease>(resources.lease, this.options.name, this.options.namespace);
      if (lease?.spec?.holderIdentity !== this.options.identity) return;
      await this.client.replace<Lease>({
        ...lease,
        spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1 },
      });
    } catch (error) {
      // Not fatal: a standby takes over once the lease expires instead of at once.
      this.log?.warn({ err: error }, "lease release failed; a standby replica waits for it to expire");
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, leaseDurationSeconds } = this.options;
    // The renewal counts from before it was sent: the lease may hold it from any instant after that.
    const started = Date.now();
    const now = microTime(new Date(started));
    const lease = await this.client.find<Lease>(resources.lease, name, namespace);
    if (!lease) {
      try {
        await this.client.create<Lease>({
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds,
            acquireTime: now,
            renewTime: now,
            leaseTransitions: 0,
          },
        });
        this.lastRenew = started;
        return true;
      } catch (error) {
        if (isConflict(error)) return false;
        throw error;
      }
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify(spec);
    if (this.observed?.record !== record) this.observed = { record, at: Date.now() };
    const heldByOther = spec.holderIdentity && spec.holderIdentity !== identity;
    const duration = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    if (heldByOther && Date.now() - (this.observed?.at ?? 0) < duration) return false;
    const transitions = (spec.leaseTransitions ?? 0) + (spec.holderIdentity === identity ? 0 : 1);
    const takingOver = spec.holderIdentity !== identity;
    try {
      await this.client.replace<Lease>({
        ...lease,
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds,
          acquireTime: spec.holderIdentity === identity ? spec.acquireTime : now,
          renewTime: now,
          leaseTransitions: transitions,
        },
      });
      if (takingOver && spec.renewTime) this.previousRenewal = Date.parse(spec.renewTime);
      this.lastRenew = started;
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
  }
}

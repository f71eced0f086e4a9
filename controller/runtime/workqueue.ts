export interface ReconcileResult {
  /** Reconcile this key again after the given delay (e.g. while waiting for something to finish). */
  requeueAfterMs?: number;
}

export interface WorkQueueOptions {
  concurrency?: number;
  baseRetryMs?: number;
  maxRetryMs?: number;
  onError?: (key: string, error: unknown, retryInMs: number) => void;
}

/**
 * A controller work queue: keys are deduplicated while waiting, a key is never processed by two workers at
 * once (an add during processing runs it again afterwards), and failures retry with exponential backoff.
 */
export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; at: number }>();
  private readonly idleWaiters: (() => void)[] = [];
  private running = false;
  private readonly concurrency: number;
  private readonly baseRetryMs: number;
  private readonly maxRetryMs: number;

  private readonly handler: (key: string) => Promise<ReconcileResult | undefined>;
  private readonly options: WorkQueueOptions;

  constructor(
    handler: (key: string) => Promise<ReconcileResult | undefined>,
    options: WorkQueueOptions = {},
  ) {
    this.handler = handler;
    this.options = options;
    this.concurrency = options.concurrency ?? 4;
    this.baseRetryMs = options.baseRetryMs ?? 200;
    this.maxRetryMs = options.maxRetryMs ?? 60_000;
  }

  /** Keys waiting or in progress (the queue depth metric). */
  get depth(): number {
    return this.queue.length + this.processing.size;
  }

  add(key: string, delayMs = 0): void {
    if (delayMs > 0) {
      // Like client-go's delaying queue, the earliest deadline wins: a pending long requeue (e.g. a scan
      // due tomorrow) must not swallow a retry due in 200 ms.
      const at = Date.now() + delayMs;
      const pending = this.timers.get(key);
      if (pending && pending.at <= at) return;
      if (pending) clearTimeout(pending.timer);
      const timer = setTimeout(() => {
        this.timers.delete(key);
        this.add(key);
      }, delayMs);
      this.timers.set(key, { timer, at });
      return;
    }
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  start(): void {
    this.running = true;
    this.pump();
  }

  /** Stops taking new keys and waits for the ones in progress. */
  async stop(): Promise<void> {
    this.running = false;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    while (this.processing.size > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.running && this.processing.size < this.concurrency && this.queue.length > 0) {
      const key = this.queue.shift() as string;
      this.queued.delete(key);
      this.processing.add(key);
      void this.process(key);
    }
  }

  private retryDelay(key: string): number {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    return Math.min(this.maxRetryMs, this.baseRetryMs * 2 ** (failures - 1));
  }

  private async process(key: string): Promise<void> {
    let requeueAfter: number | undefined;
    try {
      const result = await this.handler(key);
      this.failures.delete(key);
      requeueAfter = result?.requeueAfterMs;
    } catch (error) {
      requeueAfter = this.retryDelay(key);
      this.options.onError?.(key, error, requeueAfter);
    } finally {
      this.processing.delete(key);
    }
    if (this.dirty.delete(key)) this.add(key);
    else if (requeueAfter !== undefined && this.running) this.add(key, requeueAfter);
    this.pump();
    if (this.depth === 0 || this.processing.size === 0) {
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }
}

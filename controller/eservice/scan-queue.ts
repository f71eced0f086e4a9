import type { Logger } from "pino";
import { seconds } from "../accessibility/deadline.ts";
import type { ScanResult } from "../accessibility/findings.ts";
import type { ScanTarget } from "../accessibility/scanner.ts";
import { defaultScanSettings } from "./settings.ts";

export interface Scanner {
  /** Scans the target; stops soon after `signal` aborts (the queue's deadline). */
  scan(target: ScanTarget, signal?: AbortSignal): Promise<ScanResult>;
}

export type ScanOutcome =
  | { state: "done"; result: ScanResult; finishedAt: Date; durationMs: number }
  | { state: "queued" | "running" };

export interface ScanQueueOptions {
  /** Scans running at once, platform-wide (default 2). A department never has more than one. */
  concurrency?: number;
  /** One scan of one e-service, all its pages; past it the scan fails (default 3 minutes). */
  scanTimeoutMs?: number;
  /** The department an object key (`namespace/name`) belongs to; default its namespace. */
  departmentOf?: (objectKey: string) => string;
  log?: Logger;
}

interface Job {
  objectKey: string;
  department: string;
  scanKey: string;
  target: ScanTarget;
  outcome: ScanOutcome;
}

/** The result of a scan that did not complete: it fails the gate with `message`. */
export function failedScan(message: string): ScanResult {
  return { findings: [], lookAndFeel: [], errors: [{ path: "*", message }], tiers: [], contentDigest: "" };
}

/**
 * Runs accessibility scans off the reconcile path (a browser scan takes seconds): a reconcile asks for the
 * scan of an object at a scan key and is called back when it is done; it then takes the result and
 * records it. Only the newest request per object is kept; results are held in memory until taken, so a
 * restart simply scans again.
 *
 * Scans are scheduled fairly between departments, since a department's pages decide how long its scans
 * take: each department has its own FIFO, departments take turns (round robin), at most one scan per
 * department runs at a time and at most `concurrency` in all. Every scan has a deadline; one that misses
 * it is aborted and reported as failed, and its slot goes to the next department in turn.
 */
export class ScanQueue {
  private readonly jobs = new Map<string, Job>();
  /** Per department, object keys waiting, oldest first. */
  private readonly waiting = new Map<string, string[]>();
  /** Departments with waiting work, in turn order (a department goes to the back when it starts one). */
  private readonly turns: string[] = [];
  private readonly runningDepartments = new Set<string>();
  private readonly inFlight = new Set<AbortController>();
  private stopped = false;
  private readonly scanner: Scanner;
  private readonly onDone: (objectKey: string, durationMs: number) => void;
  private readonly concurrency: number;
  private readonly scanTimeoutMs: number;
  private readonly departmentOf: (objectKey: string) => string;
  private readonly log: Logger | undefined;

  constructor(
    scanner: Scanner,
    onDone: (objectKey: string, durationMs: number) => void,
    options: ScanQueueOptions | number = {},
  ) {
    const opts = typeof options === "number" ? { concurrency: options } : options;
    this.scanner = scanner;
    this.onDone = onDone;
    this.concurrency = Math.max(1, Math.floor(opts.concurrency ?? defaultScanSettings.concurrency));
    this.scanTimeoutMs = opts.scanTimeoutMs ?? defaultScanSettings.scanTimeoutMs;
    this.departmentOf = opts.departmentOf ?? ((key) => key.split("/")[0] ?? key);
    this.log = opts.log;
  }

  /** The outcome for this object at this scan key, starting the scan when there is none. */
  request(objectKey: string, scanKey: string, target: ScanTarget): ScanOutcome {
    const job = this.jobs.get(objectKey);
    if (job?.scanKey === scanKey) return job.outcome;
    // A running scan of an older key finishes (or is aborted), but its result is discarded.
    const department = this.departmentOf(objectKey);
    this.jobs.set(objectKey, { objectKey, department, scanKey, target, outcome: { state: "queued" } });
    this.enqueue(department, objectKey);
    this.pump();
    return { state: "queued" };
  }

  /** Removes a finished result once recorded (or an object's job when the object is gone). */
  forget(objectKey: string, scanKey?: string): void {
    const job = this.jobs.get(objectKey);
    if (job && (scanKey === undefined || job.scanKey === scanKey) && job.outcome.state !== "running")
      this.jobs.delete(objectKey);
  }

  get depth(): number {
    let waiting = 0;
    for (const keys of this.waiting.values()) waiting += keys.length;
    return waiting + this.runningDepartments.size;
  }

  /** Scans running now. */
  get running(): number {
    return this.runningDepartments.size;
  }

  /** Starts nothing more and aborts the scans that are running. */
  stop(): void {
    this.stopped = true;
    for (const controller of this.inFlight) controller.abort(new Error("the controller is stopping"));
  }

  private enqueue(department: string, objectKey: string): void {
    const keys = this.waiting.get(department) ?? [];
    if (keys.includes(objectKey)) return;
    keys.push(objectKey);
    this.waiting.set(department, keys);
    if (!this.turns.includes(department)) this.turns.push(department);
  }

  /** The next job in turn: the first department not running a scan whose oldest live request is queued. */
  private next(): Job | undefined {
    for (let i = 0; i < this.turns.length; i++) {
      const department = this.turns[i] as string;
      if (this.runningDepartments.has(department)) continue;
      const keys = this.waiting.get(department) ?? [];
      while (keys.length > 0) {
        const objectKey = keys.shift() as string;
        const job = this.jobs.get(objectKey);
        if (job?.outcome.state !== "queued") continue;
        this.turns.splice(i, 1);
        if (keys.length > 0) this.turns.push(department);
        else this.waiting.delete(department);
        return job;
      }
      this.waiting.delete(department);
      this.turns.splice(i, 1);
      i--;
    }
    return undefined;
  }

  private pump(): void {
    while (!this.stopped && this.runningDepartments.size < this.concurrency) {
      const job = this.next();
      if (!job) return;
      this.runningDepartments.add(job.department);
      void this.run(job);
    }
  }

  private async run(job: Job): Promise<void> {
    job.outcome = { state: "running" };
    const started = performance.now();
    const controller = new AbortController();
    this.inFlight.add(controller);
    const limit = `the scan did not finish within ${seconds(this.scanTimeoutMs)} (all pages together); make the pages load and settle faster, or scan fewer paths`;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<ScanResult>((resolve) => {
      timer = setTimeout(() => {
        controller.abort(new Error(limit));
        resolve(failedScan(limit));
      }, this.scanTimeoutMs);
    });
    let result: ScanResult;
    try {
      // The deadline wins even if the scanner ignored the abort; the scan's own cleanup continues apart.
      result = await Promise.race([this.scanner.scan(job.target, controller.signal), deadline]);
    } catch (error) {
      result = failedScan(error instanceof Error ? error.message : String(error));
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }
    if (controller.signal.aborted && !this.stopped)
      this.log?.warn(
        { eservice: job.objectKey, department: job.department, timeoutMs: this.scanTimeoutMs },
        "accessibility scan timed out",
      );
    this.runningDepartments.delete(job.department);
    const current = this.jobs.get(job.objectKey);
    if (current === job) {
      const durationMs = Math.round(performance.now() - started);
      job.outcome = { state: "done", result, finishedAt: new Date(), durationMs };
      if (!this.stopped) this.onDone(job.objectKey, durationMs);
    } else if (current && current.outcome.state === "queued") {
      // A newer request arrived while this one ran: it waits its department's next turn.
      this.enqueue(current.department, current.objectKey);
    }
    this.pump();
  }
}

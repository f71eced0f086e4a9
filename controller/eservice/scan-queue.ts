import type { ScanResult } from "../accessibility/findings.ts";
import type { ScanTarget } from "../accessibility/scanner.ts";

export interface Scanner {
  scan(target: ScanTarget): Promise<ScanResult>;
}

export type ScanOutcome =
  | { state: "done"; result: ScanResult; finishedAt: Date; durationMs: number }
  | { state: "queued" | "running" };

interface Job {
  scanKey: string;
  target: ScanTarget;
  outcome: ScanOutcome;
}

/**
 * Runs accessibility scans off the reconcile path (a browser scan takes seconds): a reconcile asks for the
 * scan of an object at a scan key and is called back when it is done; it then takes the result and
 * records it. Only the newest request per object is kept; results are held in memory until taken, so a
 * restart simply scans again.
 */
export class ScanQueue {
  private readonly jobs = new Map<string, Job>();
  private readonly waiting: string[] = [];
  private running = 0;
  private stopped = false;
  private readonly scanner: Scanner;
  private readonly onDone: (objectKey: string, durationMs: number) => void;
  private readonly concurrency: number;

  constructor(scanner: Scanner, onDone: (objectKey: string, durationMs: number) => void, concurrency = 1) {
    this.scanner = scanner;
    this.onDone = onDone;
    this.concurrency = concurrency;
  }

  /** The outcome for this object at this scan key, starting the scan when there is none. */
  request(objectKey: string, scanKey: string, target: ScanTarget): ScanOutcome {
    const job = this.jobs.get(objectKey);
    if (job?.scanKey === scanKey) return job.outcome;
    // A running scan of an older key finishes, but its result is discarded (the job is replaced).
    this.jobs.set(objectKey, { scanKey, target, outcome: { state: "queued" } });
    if (!this.waiting.includes(objectKey)) this.waiting.push(objectKey);
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
    return this.waiting.length + this.running;
  }

  stop(): void {
    this.stopped = true;
  }

  private pump(): void {
    while (!this.stopped && this.running < this.concurrency && this.waiting.length > 0) {
      const objectKey = this.waiting.shift() as string;
      const job = this.jobs.get(objectKey);
      if (job?.outcome.state !== "queued") continue;
      this.running++;
      void this.run(objectKey, job);
    }
  }

  private async run(objectKey: string, job: Job): Promise<void> {
    job.outcome = { state: "running" };
    const started = performance.now();
    let result: ScanResult;
    try {
      result = await this.scanner.scan(job.target);
    } catch (error) {
      result = {
        findings: [],
        lookAndFeel: [],
        errors: [{ path: "*", message: error instanceof Error ? error.message : String(error) }],
        tiers: [],
        contentDigest: "",
      };
    }
    this.running--;
    const current = this.jobs.get(objectKey);
    if (current === job) {
      const durationMs = Math.round(performance.now() - started);
      job.outcome = { state: "done", result, finishedAt: new Date(), durationMs };
      this.onDone(objectKey, durationMs);
    } else if (current && current.outcome.state === "queued" && !this.waiting.includes(objectKey)) {
      this.waiting.push(objectKey);
    }
    this.pump();
  }
}

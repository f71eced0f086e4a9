import { Worker } from "node:worker_threads";
import type { JSDOM as Jsdom } from "jsdom";
import { type AxeRunOptions, axeSource } from "./axe-source.ts";
import { abortReason, ScanTimeoutError, seconds } from "./deadline.ts";
import { type AxeViolation, type LookAndFeelFinding, type RuleFinding, toFindings } from "./findings.ts";
import { checkLookAndFeel, type DomDocument } from "./look-and-feel.ts";
import { browserOnlyRules } from "./standards.ts";

interface AxeWindow {
  axe: { run(context: unknown, options: AxeRunOptions): Promise<{ violations: AxeViolation[] }> };
}

export interface JsdomPage {
  url: string;
  html: string;
  path: string;
}

export interface JsdomOptions {
  tags: string[];
  languages: string[];
}

export interface JsdomResult {
  findings: RuleFinding[];
  lookAndFeel: LookAndFeelFinding[];
}

/**
 * The fast tier: the served HTML in jsdom, with every rule of the standard except those needing layout.
 * The page cannot act here: runScripts "outside-only" runs neither its <script> elements nor its event
 * handler attributes (only the injected axe), and without `resources` jsdom loads no frames, scripts or
 * stylesheets. Nothing here reaches the network: jsdom would still serve XMLHttpRequest (axe's preload uses
 * it to fetch stylesheets, @import targets included, from the controller's own network position), so the
 * window's network APIs are removed and axe's preload is off. jsdom gives document no named properties, so
 * `<img name="documentElement">` shadows nothing. The page's console output is dropped.
 */
export async function scanWithJsdom(page: JsdomPage, options: JsdomOptions): Promise<JsdomResult> {
  const { JSDOM, VirtualConsole } = await import("jsdom");
  const axe = await axeSource();
  const dom: Jsdom = new JSDOM(page.html, {
    url: page.url,
    runScripts: "outside-only",
    pretendToBeVisual: true,
    virtualConsole: new VirtualConsole(),
  });
  try {
    const network = dom.window as unknown as Record<string, unknown>;
    for (const api of ["XMLHttpRequest", "WebSocket", "EventSource", "fetch"]) {
      network[api] = undefined;
      delete network[api];
    }
    const window = dom.window as unknown as AxeWindow;
    const document = dom.window.document;
    dom.window.eval(axe);
    const results = await window.axe.run(document, {
      runOnly: { type: "tag", values: options.tags },
      rules: Object.fromEntries(browserOnlyRules.map((id) => [id, { enabled: false }])),
      resultTypes: ["violations"],
      preload: false,
    });
    return {
      findings: toFindings(results.violations, "jsdom", page.path, options.tags),
      lookAndFeel: checkLookAndFeel(document as unknown as DomDocument, page.path, options.languages),
    };
  } finally {
    dom.window.close();
  }
}

export interface WorkerLimits {
  timeoutMs: number;
  signal?: AbortSignal;
}

export type WorkerRequest = { id: number; page: JsdomPage; options: JsdomOptions };
/** What a worker is started with (jsdom-worker.ts). */
export interface JsdomWorkerData {
  /** A full collection runs after a page once the heap in use passes this. */
  collectAboveBytes: number;
}

/** The heap a worker uses and holds (V8's used and total heap size) after a page. */
export interface WorkerHeap {
  usedBytes: number;
  totalBytes: number;
}

/** A page's outcome, and the worker's heap after it (see retireAboveMb). */
export type WorkerReply = { id: number; heap: WorkerHeap } & (
  | { ok: true; result: JsdomResult }
  | { ok: false; message: string }
);

/**
 * Runs scanWithJsdom in worker threads, bounded in time and memory: axe over a hostile DOM is CPU work on
 * the thread that runs it, which a timer on the controller's own thread could not interrupt. A worker that
 * times out, is aborted or fails is terminated and never reused; one that answered goes back to the idle
 * set (starting a worker costs more than a page), unless it still holds more than `retireAboveMb` of heap
 * (after a very large page, say). Workers run no tenant code (jsdom runs none of the page's scripts) and
 * each page gets a fresh jsdom window, so reuse carries nothing from one page to the next. A worker
 * collects its garbage once its heap in use passes `collectAboveMb` (jsdom-worker.ts says why).
 */
export class JsdomWorkers {
  private readonly idle: Worker[] = [];
  private readonly busy = new Set<Worker>();
  private readonly maxIdle: number;
  private readonly maxHeapMb: number;
  private readonly retireAboveBytes: number;
  private readonly workerData: JsdomWorkerData;
  private idleTimer: NodeJS.Timeout | undefined;
  private nextId = 1;
  /** Workers started so far (each costs loading jsdom and axe). */
  started = 0;
  /** The heap of the last worker to answer, after its page. */
  lastHeap: WorkerHeap = { usedBytes: 0, totalBytes: 0 };

  constructor(
    options: { maxIdle?: number; maxHeapMb?: number; retireAboveMb?: number; collectAboveMb?: number } = {},
  ) {
    this.maxIdle = options.maxIdle ?? 2;
    this.maxHeapMb = options.maxHeapMb ?? 768;
    this.retireAboveBytes = (options.retireAboveMb ?? 256) * 1024 * 1024;
    this.workerData = { collectAboveBytes: (options.collectAboveMb ?? 128) * 1024 * 1024 };
  }

  private spawn(): Worker {
    this.started++;
    const worker = new Worker(new URL("./jsdom-worker.ts", import.meta.url), {
      execArgv: [],
      workerData: this.workerData,
      resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMb },
    });
    worker.unref();
    worker.once("exit", () => {
      const at = this.idle.indexOf(worker);
      if (at >= 0) this.idle.splice(at, 1);
    });
    return worker;
  }

  scan(page: JsdomPage, options: JsdomOptions, limits: WorkerLimits): Promise<JsdomResult> {
    if (limits.signal?.aborted) return Promise.reject(abortReason(limits.signal));
    clearTimeout(this.idleTimer);
    const worker = this.idle.pop() ?? this.spawn();
    this.busy.add(worker);
    const id = this.nextId++;
    return new Promise<JsdomResult>((resolve, reject) => {
      let settled = false;
      const finish = (reusable: boolean, settle: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        limits.signal?.removeEventListener("abort", onAbort);
        worker.off("message", onMessage);
        worker.off("error", onError);
        worker.off("exit", onExit);
        this.busy.delete(worker);
        if (reusable && this.idle.length < this.maxIdle) {
          this.idle.push(worker);
          this.scheduleIdleClose();
        } else void worker.terminate();
        settle();
      };
      const onAbort = () => finish(false, () => reject(abortReason(limits.signal as AbortSignal)));
      const onMessage = (reply: WorkerReply) => {
        if (reply.id !== id) return;
        this.lastHeap = reply.heap;
        finish(reply.heap.totalBytes <= this.retireAboveBytes, () =>
          reply.ok ? resolve(reply.result) : reject(new Error(reply.message)),
        );
      };
      const onError = (error: Error) =>
        finish(false, () =>
          reject(
            new Error(
              /heap|memory/i.test(error.message)
                ? "the page's DOM is too large to check"
                : `the DOM rules failed: ${error.message}`,
            ),
          ),
        );
      const onExit = (code: number) =>
        finish(false, () => reject(new Error(`the DOM rules stopped (worker exit ${code})`)));
      const timer = setTimeout(
        () =>
          finish(false, () =>
            reject(
              new ScanTimeoutError(
                `the DOM rules did not finish on the page within ${seconds(limits.timeoutMs)}`,
              ),
            ),
          ),
        limits.timeoutMs,
      );
      limits.signal?.addEventListener("abort", onAbort, { once: true });
      worker.on("message", onMessage);
      worker.once("error", onError);
      worker.once("exit", onExit);
      const request: WorkerRequest = { id, page, options };
      worker.postMessage(request);
    });
  }

  private scheduleIdleClose(): void {
    clearTimeout(this.idleTimer);
    // Idle workers hold jsdom and axe (~100 MiB each); they go after a quiet minute.
    this.idleTimer = setTimeout(() => void this.closeIdle(), 60_000);
    this.idleTimer.unref();
  }

  private async closeIdle(): Promise<void> {
    const idle = this.idle.splice(0);
    await Promise.all(idle.map((w) => w.terminate()));
  }

  /** Terminates every worker, busy ones included (their scans fail). */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const busy = [...this.busy];
    await Promise.all([this.closeIdle(), ...busy.map((w) => w.terminate())]);
  }
}

/** Look-and-feel checks of HTML rendered elsewhere (the browser tier, for client-rendered pages). */
export async function lookAndFeelOfHtml(
  html: string,
  path: string,
  languages: string[],
): Promise<LookAndFeelFinding[]> {
  const { JSDOM } = await import("jsdom");
  const dom = new JSDOM(html);
  try {
    return checkLookAndFeel(dom.window.document as unknown as DomDocument, path, languages);
  } finally {
    dom.window.close();
  }
}

import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
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

/** How a worker process is started: its argument (jsdom-worker.ts reads it). */
export interface JsdomWorkerArgs {
  /** A full collection runs after a page once the heap in use passes this. */
  collectAboveBytes: number;
}

/** What a worker process holds after a page: V8's heap in use and reserved, and its resident memory. */
export interface WorkerHeap {
  usedBytes: number;
  totalBytes: number;
  rssBytes: number;
}

/** A page's outcome, and the worker's memory after it (see retireAboveMb). */
export type WorkerReply = { id: number; heap: WorkerHeap } & (
  | { ok: true; result: JsdomResult }
  | { ok: false; message: string }
);

/** A worker process that V8 stopped at its heap limit (SIGABRT, or exit code 134 from a shell). */
const outOfHeap = (code: number | null, signal: NodeJS.Signals | null) =>
  signal === "SIGABRT" || code === 134;

/**
 * Runs scanWithJsdom in worker processes, bounded in time and memory: axe over a hostile DOM is CPU work on
 * the thread that runs it, which a timer on the controller's own thread could not interrupt. Processes,
 * not worker threads: a thread's memory stays the controller's after the thread ends (measured: a worker
 * thread that scanned 1,000 pages left the controller at 380 to 454 MiB resident once terminated, and
 * retiring threads often only added to it), while an ended process gives all of its memory back. A worker
 * that times out, is aborted or fails is killed and never reused; one that answered goes back to the idle
 * set (starting one costs more than a page), unless it is resident past `retireAboveMb` after the page.
 * Workers run no tenant code (jsdom runs none of the page's scripts) and each page gets a fresh jsdom
 * window, so reuse carries nothing from one page to the next. A worker starts with an empty environment
 * (it needs none of the controller's) and collects its garbage once its heap in use passes
 * `collectAboveMb` (jsdom-worker.ts says why); one that loses the controller exits.
 */
export class JsdomWorkers {
  private readonly idle: ChildProcess[] = [];
  private readonly busy = new Set<ChildProcess>();
  private readonly maxIdle: number;
  private readonly maxHeapMb: number;
  private readonly retireAboveBytes: number;
  private readonly args: JsdomWorkerArgs;
  private idleTimer: NodeJS.Timeout | undefined;
  private nextId = 1;
  /** Workers started so far (each costs loading jsdom and axe). */
  started = 0;
  /** The memory of the last worker to answer, after its page. */
  lastHeap: WorkerHeap = { usedBytes: 0, totalBytes: 0, rssBytes: 0 };

  /** The process ids of the workers alive now, idle or busy. */
  get pids(): number[] {
    return [...this.idle, ...this.busy].flatMap((w) => (w.pid === undefined ? [] : [w.pid]));
  }

  constructor(
    options: { maxIdle?: number; maxHeapMb?: number; retireAboveMb?: number; collectAboveMb?: number } = {},
  ) {
    this.maxIdle = options.maxIdle ?? 2;
    this.maxHeapMb = options.maxHeapMb ?? 768;
    this.retireAboveBytes = (options.retireAboveMb ?? 320) * 1024 * 1024;
    this.args = { collectAboveBytes: (options.collectAboveMb ?? 128) * 1024 * 1024 };
  }

  private spawn(): ChildProcess {
    this.started++;
    const worker = fork(
      fileURLToPath(new URL("./jsdom-worker.ts", import.meta.url)),
      [JSON.stringify(this.args)],
      {
        execArgv: [`--max-old-space-size=${this.maxHeapMb}`, "--expose-gc"],
        env: {},
        serialization: "advanced",
        // What it could print is V8's own report when a page exhausts its heap, which the exit code says.
        stdio: ["ignore", "ignore", "ignore", "ipc"],
      },
    );
    worker.once("exit", () => {
      const at = this.idle.indexOf(worker);
      if (at >= 0) this.idle.splice(at, 1);
    });
    // An idle worker keeps neither the controller nor a test process alive.
    this.release(worker);
    return worker;
  }

  private hold(worker: ChildProcess): void {
    worker.ref();
    worker.channel?.ref();
  }

  private release(worker: ChildProcess): void {
    worker.unref();
    worker.channel?.unref();
  }

  scan(page: JsdomPage, options: JsdomOptions, limits: WorkerLimits): Promise<JsdomResult> {
    if (limits.signal?.aborted) return Promise.reject(abortReason(limits.signal));
    clearTimeout(this.idleTimer);
    const worker = this.idle.pop() ?? this.spawn();
    this.busy.add(worker);
    this.hold(worker);
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
        this.release(worker);
        if (reusable && this.idle.length < this.maxIdle) {
          this.idle.push(worker);
          this.scheduleIdleClose();
        } else worker.kill("SIGKILL");
        settle();
      };
      const onAbort = () => finish(false, () => reject(abortReason(limits.signal as AbortSignal)));
      const onMessage = (reply: WorkerReply) => {
        if (reply.id !== id) return;
        this.lastHeap = reply.heap;
        finish(reply.heap.rssBytes <= this.retireAboveBytes, () =>
          reply.ok ? resolve(reply.result) : reject(new Error(reply.message)),
        );
      };
      const onError = (error: Error) =>
        finish(false, () => reject(new Error(`the DOM rules failed: ${error.message}`)));
      const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
        finish(false, () =>
          reject(
            new Error(
              outOfHeap(code, signal)
                ? "the page's DOM is too large to check"
                : `the DOM rules stopped (worker exit ${signal ?? code})`,
            ),
          ),
        );
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
      worker.send(request);
    });
  }

  private scheduleIdleClose(): void {
    clearTimeout(this.idleTimer);
    // Idle workers hold jsdom and axe (~100 MiB each); they go after a quiet minute.
    this.idleTimer = setTimeout(() => this.closeIdle(), 60_000);
    this.idleTimer.unref();
  }

  private closeIdle(): Promise<void>[] {
    return this.idle.splice(0).map(stopWorker);
  }

  /** Stops every worker, busy ones included (their scans fail). */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    await Promise.all([...this.closeIdle(), ...[...this.busy].map(stopWorker)]);
  }
}

/** Kills a worker process and resolves once it has exited. */
function stopWorker(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  // Held until it has exited, so that a caller awaiting close() is not left behind by an empty event loop.
  worker.ref();
  worker.kill("SIGKILL");
  return exited;
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

import { Worker } from "node:worker_threads";
import { JSDOM, VirtualConsole } from "jsdom";
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
  const dom = new JSDOM(page.html, {
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
    dom.window.eval(axeSource);
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
  /** Heap of the worker; a page whose DOM needs more fails instead of growing the controller. */
  maxHeapMb?: number;
  signal?: AbortSignal;
}

type WorkerReply = { ok: true; result: JsdomResult } | { ok: false; message: string };

/**
 * scanWithJsdom in a worker thread, bounded in time and memory: axe over a hostile DOM is CPU work on the
 * thread that runs it, which a timer on the controller's own thread could not interrupt. The worker is
 * terminated when the time is up or the scan is aborted.
 */
export function scanWithJsdomInWorker(
  page: JsdomPage,
  options: JsdomOptions,
  limits: WorkerLimits,
): Promise<JsdomResult> {
  if (limits.signal?.aborted) return Promise.reject(abortReason(limits.signal));
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./jsdom-worker.ts", import.meta.url), {
      workerData: { page, options },
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: limits.maxHeapMb ?? 768 },
    });
    let settled = false;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      limits.signal?.removeEventListener("abort", onAbort);
      void worker.terminate();
      settle();
    };
    const onAbort = () => finish(() => reject(abortReason(limits.signal as AbortSignal)));
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(
            new ScanTimeoutError(
              `the DOM rules did not finish on the page within ${seconds(limits.timeoutMs)}`,
            ),
          ),
        ),
      limits.timeoutMs,
    );
    limits.signal?.addEventListener("abort", onAbort, { once: true });
    worker.once("message", (reply: WorkerReply) =>
      finish(() => (reply.ok ? resolve(reply.result) : reject(new Error(reply.message)))),
    );
    worker.once("error", (error) =>
      finish(() =>
        reject(
          new Error(
            /heap|memory/i.test(error.message)
              ? "the page's DOM is too large to check"
              : `the DOM rules failed: ${error.message}`,
          ),
        ),
      ),
    );
    worker.once("exit", (code) => finish(() => reject(new Error(`the DOM rules stopped (exit ${code})`))));
  });
}

/** Look-and-feel checks of HTML rendered elsewhere (the browser tier, for client-rendered pages). */
export function lookAndFeelOfHtml(html: string, path: string, languages: string[]): LookAndFeelFinding[] {
  const dom = new JSDOM(html);
  try {
    return checkLookAndFeel(dom.window.document as unknown as DomDocument, path, languages);
  } finally {
    dom.window.close();
  }
}

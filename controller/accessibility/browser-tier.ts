import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { Browser, BrowserContext, CDPSession, Page } from "playwright-core";
import { type AxeRunOptions, axeSource } from "./axe-source.ts";
import { abortReason, ScanTimeoutError, seconds, withDeadline } from "./deadline.ts";
import { type AxeViolation, type RuleFinding, type Tier, toFindings } from "./findings.ts";
import { type ConnectTo, OriginProxy, sameOrigin, scanOrigin } from "./origin-guard.ts";

export interface BrowserTierOptions {
  /** Chromium binary; default Debian's /usr/bin/chromium (the controller passes GOVHOST_CHROMIUM). */
  executablePath?: string;
  /**
   * Playwright's server that starts the browser (one Chromium per connection, ended when it closes), in
   * another container of the same pod (controller/api/scanner-browser.ts); default: Chromium starts here.
   */
  endpoint?: string;
  /** Starting Chromium (default 20 s). */
  launchTimeoutMs?: number;
  /** Loading one page up to its load event (default 20 s). */
  navigationTimeoutMs?: number;
  /** At most this long waiting for the page's network to go quiet after load (default 2 s, not an error). */
  settleMs?: number;
  /** axe on one page, injection included (default 30 s). */
  axeTimeoutMs?: number;
  /** The rendered HTML of a page, as serialised for the look-and-feel checks (default 5 MiB). */
  maxHtmlBytes?: number;
  log?: Logger;
}

export class BrowserUnavailableError extends Error {}

const loggedRefusals = 5;

/** The page left its origin (or reloaded) between loading and being checked: it is not scanned. */
class NavigatedAwayError extends Error {}

// Chromium must not reach the internet or Google services from a closed network (they fail slowly), and
// the scan needs no GPU. Sandboxing stays on unless the process runs as root, where Chromium refuses it.
// WebRTC may use no UDP that bypasses the proxy (TURN over TCP goes to the proxy, which refuses it).
const launchArgs = [
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
  "--disable-domain-reliability",
  "--no-pings",
  "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
  "--webrtc-ip-handling-policy=disable_non_proxied_udp",
];

// The browser gets no credentials and no proxy settings from the controller's environment (KUBECONFIG,
// tokens, HTTP(S)_PROXY, cloud credentials): only what it needs to run and find fonts.
const browserEnvNames = [
  "PATH",
  "HOME",
  "LANG",
  "LC_ALL",
  "TZ",
  "TMPDIR",
  "FONTCONFIG_PATH",
  "FONTCONFIG_FILE",
];

function browserEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of browserEnvNames) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

export function findChromium(explicit?: string): string | undefined {
  const candidates = [explicit, "/usr/bin/chromium", "/usr/bin/chromium-browser"];
  return candidates.find((path): path is string => Boolean(path) && existsSync(path as string));
}

const firstLine = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).split("\n")[0]?.replace(/^[\w.]+: /, "") ?? "";

/** What axe and the serialiser report from the isolated world, checked before use. */
function parseViolations(json: unknown): AxeViolation[] {
  if (typeof json !== "string") throw new Error("axe returned no result");
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) throw new Error("axe returned a malformed result");
  return parsed.map((v: unknown) => {
    const o = v as Partial<Record<keyof AxeViolation, unknown>>;
    if (
      typeof o.id !== "string" ||
      typeof o.help !== "string" ||
      typeof o.helpUrl !== "string" ||
      !Array.isArray(o.tags) ||
      !Array.isArray(o.nodes)
    )
      throw new Error("axe returned a malformed violation");
    return {
      id: o.id,
      impact: typeof o.impact === "string" ? o.impact : null,
      help: o.help,
      helpUrl: o.helpUrl,
      tags: o.tags.map(String),
      nodes: (o.nodes as { target?: unknown }[]).map((n) => ({
        target: Array.isArray(n?.target) ? n.target.map(String) : [],
      })),
    };
  });
}

// Everything below runs in an isolated world, never in the page's: that world has its own globals and
// its own DOM wrappers and prototypes, so whatever the page patches in its world (window.axe, Array, JSON,
// Promise, Element.prototype, getComputedStyle) is not what axe uses. Named elements do not shadow document
// properties there either (Chromium exposes document's named properties to the main world only), so
// `<img name="documentElement">` does not hide the page from axe; the root is still read through the
// prototype's own getter.
const isolatedRoot = `Object.getOwnPropertyDescriptor(Document.prototype, "documentElement").get.call(document)`;

const runAxeExpression = (options: AxeRunOptions) => `(async () => {
  const results = await axe.run(document, ${JSON.stringify(options)});
  return JSON.stringify(results.violations.map((v) => ({
    id: v.id, impact: v.impact ?? null, help: v.help, helpUrl: v.helpUrl, tags: v.tags,
    nodes: v.nodes.map((n) => ({ target: n.target })),
  })));
})()`;

/** The length of the page's serialisation, without sending the page back over CDP. */
const sizeExpression = `(() => "<!doctype html>\\n".length + Object.getOwnPropertyDescriptor(Element.prototype, "outerHTML").get.call(${isolatedRoot}).length)()`;

const serialiseExpression = (maxBytes: number) => `(() => {
  const html = "<!doctype html>\\n" + Object.getOwnPropertyDescriptor(Element.prototype, "outerHTML").get.call(${isolatedRoot});
  return html.length > ${maxBytes} ? null : html;
})()`;

/**
 * A browser from Playwright's server at `endpoint`, started with `launch` for this connection only. The
 * server may still be starting (its container and the controller's start together): refused connections
 * are retried until the launch timeout.
 */
/** Loaded on the first scan that needs a browser (see axe-source.ts). */
const playwright = () => import("playwright-core");

async function connectToServer(
  endpoint: string,
  launch: Record<string, unknown>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Browser> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { chromium } = await playwright();
      return await chromium.connect(endpoint, {
        headers: { "x-playwright-launch-options": JSON.stringify(launch) },
        timeout: Math.max(1_000, deadline - Date.now()),
      });
    } catch (error) {
      if (!/ECONNREFUSED/.test(String(error)) || Date.now() + 500 >= deadline || signal?.aborted) throw error;
      await sleep(500);
    }
  }
}

/**
 * One scan's browser: its own Chromium process, fresh profile and context, that can reach exactly one
 * origin. Every request of every page, frame, pop-up and worker, and every redirect hop, passes the
 * browser-wide request interception (CDP Fetch on the browser target), which fails anything off the
 * origin; the only network route out is a forward proxy that enforces the same origin (WebSockets and
 * anything else the interception does not see). Service workers are blocked, WebSockets refused in the
 * page, no cookies or credentials exist. axe runs in an isolated JavaScript world the page cannot reach.
 */
export class BrowserSession {
  /** Requests the interception refused (for logs and tests). */
  blocked = 0;
  /** True once a step timed out: the browser may be wedged and must not scan another page. */
  broken = false;
  private readonly origin: ReturnType<typeof scanOrigin>;
  private readonly browser: Browser;
  private readonly context: BrowserContext;
  private readonly proxy: OriginProxy;
  private readonly options: BrowserTierOptions;
  private closing: Promise<void> | undefined;

  private constructor(
    browser: Browser,
    context: BrowserContext,
    proxy: OriginProxy,
    options: BrowserTierOptions,
  ) {
    this.browser = browser;
    this.context = context;
    this.proxy = proxy;
    this.options = options;
    this.origin = proxy.origin;
  }

  get refusedByProxy(): number {
    return this.proxy.refused;
  }

  static async open(
    url: string,
    options: BrowserTierOptions,
    signal?: AbortSignal,
    connectTo?: ConnectTo,
  ): Promise<BrowserSession> {
    const executablePath = options.endpoint
      ? (options.executablePath ?? "/usr/bin/chromium")
      : findChromium(options.executablePath);
    if (!executablePath)
      throw new BrowserUnavailableError(
        "Chromium is not installed (Debian package chromium, or set GOVHOST_CHROMIUM); the layout checks cannot run",
      );
    const origin = scanOrigin(url);
    const proxy = await OriginProxy.start(origin.origin, options.log, connectTo);
    let browser: Browser | undefined;
    let abandoned = false;
    try {
      const launchTimeoutMs = options.launchTimeoutMs ?? 20_000;
      const launch = {
        executablePath,
        headless: true,
        args: launchArgs,
        proxy: { server: proxy.url },
        timeout: launchTimeoutMs,
      };
      const launching = options.endpoint
        ? // The browser container has no credentials to protect and cannot start Chromium's own sandbox
          // under the runtime's seccomp profile (no user namespaces): the container is the boundary.
          connectToServer(options.endpoint, { ...launch, chromiumSandbox: false }, launchTimeoutMs, signal)
        : playwright().then(({ chromium }) =>
            chromium.launch({
              ...launch,
              env: browserEnv(),
              chromiumSandbox: process.getuid?.() !== 0,
              handleSIGINT: false,
              handleSIGTERM: false,
              handleSIGHUP: false,
            }),
          );
      // A browser that starts after the scan gave up is closed, never left running.
      launching.then(
        (late) => {
          if (abandoned) void late.close();
        },
        () => {},
      );
      browser = await withDeadline(
        launching,
        launchTimeoutMs + 1_000,
        `Chromium did not start within ${seconds(launchTimeoutMs)}`,
        signal,
      );
      const context = await browser.newContext({ serviceWorkers: "block", acceptDownloads: false });
      const session = new BrowserSession(browser, context, proxy, options);
      await session.guard(await browser.newBrowserCDPSession());
      await context.routeWebSocket(/.*/, (ws) => {
        session.blocked++;
        void ws.close({ code: 1008, reason: "WebSockets are refused during an accessibility scan" });
      });
      // Pop-ups are closed at once (their requests are checked like any other in the meantime).
      context.on("page", (popup) => {
        void popup.opener().then(
          (opener) => opener && popup.close(),
          () => {},
        );
      });
      return session;
    } catch (error) {
      abandoned = true;
      await browser?.close().catch(() => {});
      await proxy.close();
      throw error;
    }
  }

  /** Browser-wide request interception: every request and redirect hop of every target, before it is sent. */
  private async guard(cdp: CDPSession): Promise<void> {
    cdp.on("Fetch.requestPaused", (event) => {
      const url = event.request.url;
      if (sameOrigin(url, this.origin)) {
        void cdp.send("Fetch.continueRequest", { requestId: event.requestId }).catch(() => {});
        return;
      }
      // A page can try thousands: the first few are logged, the count when the scan ends.
      if (++this.blocked <= loggedRefusals)
        this.options.log?.warn(
          { origin: this.origin.origin, target: url.slice(0, 200), resourceType: event.resourceType },
          "accessibility scan: blocked a request outside the page's origin",
        );
      void cdp
        .send("Fetch.failRequest", { requestId: event.requestId, errorReason: "BlockedByClient" })
        .catch(() => {});
    });
    await cdp.send("Fetch.enable", { patterns: [{ urlPattern: "*", requestStage: "Request" }] });
  }

  /**
   * Loads `page.url` (which must be on the session's origin), waits for it to settle, and runs axe with
   * `run` in an isolated world. Returns the findings and the rendered HTML.
   */
  async scan(
    page: { url: string; path: string },
    run: { tags: string[]; rules?: string[] },
    signal?: AbortSignal,
  ): Promise<{ findings: RuleFinding[]; html: string }> {
    if (this.broken) throw new Error("the browser was closed after an earlier step timed out");
    if (!sameOrigin(page.url, this.origin)) throw new Error(`${page.url} is not on ${this.origin.origin}`);
    const navigationTimeoutMs = this.options.navigationTimeoutMs ?? 20_000;
    const axeTimeoutMs = this.options.axeTimeoutMs ?? 30_000;
    const step = async <T>(work: Promise<T>, ms: number, message: string): Promise<T> => {
      try {
        return await withDeadline(work, ms, message, signal);
      } catch (error) {
        if (error instanceof ScanTimeoutError || signal?.aborted) this.broken = true;
        throw error;
      }
    };
    const tab = await step(this.context.newPage(), navigationTimeoutMs, "Chromium did not open a page");
    try {
      let response: Awaited<ReturnType<Page["goto"]>>;
      try {
        response = await step(
          tab.goto(page.url, { waitUntil: "load", timeout: navigationTimeoutMs }),
          navigationTimeoutMs + 1_000,
          `the page did not finish loading within ${seconds(navigationTimeoutMs)}`,
        );
      } catch (error) {
        if (error instanceof (await playwright()).errors.TimeoutError) {
          this.broken = true;
          throw new ScanTimeoutError(
            `the page did not finish loading within ${seconds(navigationTimeoutMs)}`,
          );
        }
        if (error instanceof ScanTimeoutError || signal?.aborted) throw error;
        throw new Error(
          /ERR_BLOCKED_BY_CLIENT/.test(String(error))
            ? `${page.url} redirected outside ${this.origin.origin}, which the scanner does not follow; scan that site directly`
            : `could not load ${page.url}: ${firstLine(error)}`,
        );
      }
      if (!response?.ok()) throw new Error(`${page.url} answered HTTP ${response?.status() ?? "nothing"}`);
      // Best effort: a page that keeps polling is scanned as it is after settleMs.
      await tab
        .waitForLoadState("networkidle", { timeout: this.options.settleMs ?? 2_000 })
        .catch(() => undefined);
      if (signal?.aborted) throw abortReason(signal);

      const cdp = await this.context.newCDPSession(tab);
      const isolated = async (expression: string, withAxe: boolean): Promise<unknown> => {
        const { frameTree } = await cdp.send("Page.getFrameTree");
        if (!sameOrigin(frameTree.frame.url, this.origin))
          throw new NavigatedAwayError(
            `the page navigated outside ${this.origin.origin} while it was being scanned`,
          );
        const { executionContextId } = await cdp.send("Page.createIsolatedWorld", {
          frameId: frameTree.frame.id,
          worldName: `govhost-axe-${randomUUID()}`,
          grantUniveralAccess: false,
        });
        if (withAxe) {
          const injected = await cdp.send("Runtime.evaluate", {
            expression: await axeSource(),
            contextId: executionContextId,
            silent: true,
          });
          if (injected.exceptionDetails) throw new Error("axe could not be loaded into the page");
        }
        const evaluated = await cdp.send("Runtime.evaluate", {
          expression,
          contextId: executionContextId,
          awaitPromise: true,
          returnByValue: true,
          silent: true,
        });
        if (evaluated.exceptionDetails)
          throw new Error(
            firstLine(evaluated.exceptionDetails.exception?.description ?? evaluated.exceptionDetails.text),
          );
        return evaluated.result.value;
      };
      const options: AxeRunOptions = {
        runOnly: run.rules ? { type: "rule", values: run.rules } : { type: "tag", values: run.tags },
        resultTypes: ["violations"],
      };
      // A page past the cap is refused before axe runs over it: axe over 50 MB of DOM can outlast its own
      // timeout on a busy machine, and the finding would then depend on how busy it was.
      const maxHtmlBytes = this.options.maxHtmlBytes ?? 5 * 1024 * 1024;
      const size = await step(
        isolated(sizeExpression, false),
        axeTimeoutMs,
        `the page did not answer within ${seconds(axeTimeoutMs)} (the page kept the browser busy)`,
      );
      if (typeof size !== "number" || size > maxHtmlBytes)
        throw new Error(`the rendered page is larger than ${maxHtmlBytes} bytes`);
      let violations: AxeViolation[];
      try {
        violations = parseViolations(
          await step(
            isolated(runAxeExpression(options), true),
            axeTimeoutMs,
            `axe did not finish on the page within ${seconds(axeTimeoutMs)} (the page kept the browser busy)`,
          ),
        );
      } catch (error) {
        if (error instanceof ScanTimeoutError || error instanceof NavigatedAwayError || signal?.aborted)
          throw error;
        throw new Error(
          /Execution context was destroyed|Cannot find context|No frame/i.test(String(error))
            ? "the page navigated or reloaded while it was being scanned"
            : `axe failed on the page: ${firstLine(error)}`,
        );
      }
      const html = await step(
        isolated(serialiseExpression(maxHtmlBytes), false),
        axeTimeoutMs,
        `the rendered page could not be read within ${seconds(axeTimeoutMs)}`,
      );
      if (typeof html !== "string") throw new Error(`the rendered page is larger than ${maxHtmlBytes} bytes`);
      const tier: Tier = "chromium";
      return { findings: toFindings(violations, tier, page.path, run.tags), html };
    } finally {
      if (!this.broken)
        await withDeadline(tab.close({ runBeforeUnload: false }), 5_000, "the page did not close").catch(
          () => {
            this.broken = true;
          },
        );
    }
  }

  /** Closes the browser (killing its renderers, however busy) and the proxy. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await withDeadline(this.browser.close(), 10_000, "Chromium did not close").catch((error: unknown) =>
        this.options.log?.warn({ err: error }, "accessibility scan: Chromium did not close"),
      );
      await this.proxy.close();
      if (this.blocked || this.proxy.refused)
        this.options.log?.info(
          { origin: this.origin.origin, blocked: this.blocked, refusedByProxy: this.proxy.refused },
          "accessibility scan: requests outside the page's origin were blocked",
        );
    })();
    return this.closing;
  }
}

/**
 * The layout tier: a real headless Chromium (driven by playwright-core, no browser download) renders the
 * page with its scripts and styles, and axe runs the rules that need computed layout. Each scan gets its own
 * browser process confined to the page's origin (see BrowserSession); the process ends with the scan.
 */
export class BrowserTier {
  private readonly options: BrowserTierOptions;
  private readonly sessions = new Set<BrowserSession>();

  constructor(options: BrowserTierOptions = {}) {
    this.options = options;
  }

  /**
   * A browser confined to the origin of `url` (its host resolved once, or reached at `connectTo`); close it
   * when the scan is done.
   */
  async open(url: string, signal?: AbortSignal, connectTo?: ConnectTo): Promise<BrowserSession> {
    const session = await BrowserSession.open(url, this.options, signal, connectTo);
    this.sessions.add(session);
    const close = session.close.bind(session);
    session.close = () => {
      this.sessions.delete(session);
      return close();
    };
    return session;
  }

  /** Scans one page in a browser of its own (open, scan, close). */
  async scan(
    page: { url: string; path: string },
    run: { tags: string[]; rules?: string[] },
    signal?: AbortSignal,
  ): Promise<{ findings: RuleFinding[]; html: string }> {
    const session = await this.open(page.url, signal);
    try {
      return await session.scan(page, run, signal);
    } finally {
      await session.close();
    }
  }

  /** Closes every browser still open (at shutdown). */
  async close(): Promise<void> {
    await Promise.all([...this.sessions].map((s) => s.close()));
  }
}

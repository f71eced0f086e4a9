import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";
import { type AxeRunOptions, axeSource } from "./axe-source.ts";
import { type AxeViolation, type RuleFinding, type Tier, toFindings } from "./findings.ts";

export interface BrowserTierOptions {
  /** Chromium binary; default $GOVHOST_CHROMIUM, then Debian's /usr/bin/chromium. */
  executablePath?: string;
  navigationTimeoutMs?: number;
  /** Close the browser after this long without scans (it holds ~150 MiB). */
  idleCloseMs?: number;
}

export class BrowserUnavailableError extends Error {}

// Chromium must not reach the internet or Google services from a closed network (they fail slowly), and
// the scan needs no GPU. Sandboxing stays on unless the process runs as root, where Chromium refuses it.
const launchArgs = [
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

export function findChromium(explicit?: string): string | undefined {
  const candidates = [
    explicit,
    process.env.GOVHOST_CHROMIUM,
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
  ];
  return candidates.find((path): path is string => Boolean(path) && existsSync(path as string));
}

/**
 * The layout tier: a real headless Chromium (driven by playwright-core, no browser download) renders the
 * page with its scripts and styles, and axe runs the rules that need computed layout. Requests to any
 * other origin are blocked, so a page cannot make the scanner fetch arbitrary addresses.
 */
export class BrowserTier {
  private browser: Promise<Browser> | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly options: BrowserTierOptions;

  constructor(options: BrowserTierOptions = {}) {
    this.options = options;
  }

  private launch(): Promise<Browser> {
    if (!this.browser) {
      const executablePath = findChromium(this.options.executablePath);
      if (!executablePath)
        return Promise.reject(
          new BrowserUnavailableError(
            "Chromium is not installed (Debian package chromium, or set GOVHOST_CHROMIUM); the layout checks cannot run",
          ),
        );
      const launching = chromium.launch({
        executablePath,
        headless: true,
        args: launchArgs,
        chromiumSandbox: process.getuid?.() !== 0,
      });
      this.browser = launching;
      launching.then(
        (browser) => browser.on("disconnected", () => (this.browser = undefined)),
        () => (this.browser = undefined),
      );
    }
    return this.browser;
  }

  /**
   * Renders `url` and runs axe with `run` (either the layout rules or, for client-rendered pages, all the
   * standard's rules). Returns the findings and the rendered HTML.
   */
  async scan(
    page: { url: string; path: string },
    run: { tags: string[]; rules?: string[] },
  ): Promise<{ findings: RuleFinding[]; html: string }> {
    clearTimeout(this.idleTimer);
    const browser = await this.launch();
    const context = await browser.newContext({ bypassCSP: true, serviceWorkers: "block" });
    try {
      const origin = new URL(page.url).origin;
      await context.route("**/*", (route) => {
        const target = route.request().url();
        return target.startsWith(`${origin}/`) || target === origin || target.startsWith("data:")
          ? route.continue()
          : route.abort("blockedbyclient");
      });
      const tab = await context.newPage();
      const response = await tab.goto(page.url, {
        waitUntil: "load",
        timeout: this.options.navigationTimeoutMs ?? 30_000,
      });
      if (!response?.ok()) throw new Error(`${page.url} answered HTTP ${response?.status() ?? "nothing"}`);
      await tab.addScriptTag({ content: axeSource });
      const options: AxeRunOptions = {
        runOnly: run.rules ? { type: "rule", values: run.rules } : { type: "tag", values: run.tags },
        resultTypes: ["violations"],
      };
      const violations = await tab.evaluate(async (axeOptions) => {
        const scope = globalThis as unknown as {
          axe: { run(context: unknown, options: unknown): Promise<{ violations: unknown[] }> };
          document: unknown;
        };
        const results = await scope.axe.run(scope.document, axeOptions);
        return JSON.parse(JSON.stringify(results.violations));
      }, options);
      const tier: Tier = "chromium";
      return {
        findings: toFindings(violations as AxeViolation[], tier, page.path, run.tags),
        html: await tab.content(),
      };
    } finally {
      await context.close();
      this.scheduleIdleClose();
    }
  }

  private scheduleIdleClose(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => void this.close(), this.options.idleCloseMs ?? 5 * 60_000);
    this.idleTimer.unref();
  }

  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const browser = this.browser;
    this.browser = undefined;
    if (browser) await (await browser.catch(() => undefined))?.close();
  }
}

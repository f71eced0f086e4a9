import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { AccessibilityStandard } from "../api/eservice.ts";
import { type BrowserSession, BrowserTier, type BrowserTierOptions } from "./browser-tier.ts";
import { abortReason } from "./deadline.ts";
import type { LookAndFeelFinding, PageError, RuleFinding, ScanResult, Tier } from "./findings.ts";
import { JsdomWorkers, lookAndFeelOfHtml } from "./jsdom-tier.ts";
import type { ConnectTo } from "./origin-guard.ts";
import { fetchPage } from "./page-fetch.ts";
import { browserOnlyRules, tagsFor } from "./standards.ts";

export interface ScanTarget {
  /** Root of the site: the in-cluster Service URL or an allowed preview URL. */
  baseUrl: string;
  /**
   * Where to connect for baseUrl's host instead of resolving it: for the in-cluster URL, a ready pod of the
   * version being judged (so the scan never reaches an old replica mid-rollout, and a scanner outside the
   * cluster needs no cluster DNS). Requests keep baseUrl's host name.
   */
  connectTo?: ConnectTo;
  paths: string[];
  standard: AccessibilityStandard;
  clientRendered: boolean;
  languages: string[];
}

export interface ScannerOptions {
  browser?: BrowserTier;
  /** Options of the browser tier the scanner creates when `browser` is not given (timeouts, log). */
  browserOptions?: BrowserTierOptions;
  /** Fetching one page's HTML for the jsdom tier (default 15 s). */
  fetchTimeoutMs?: number;
  maxPageBytes?: number;
  /** The DOM rules on one page, in a worker process (default 30 s). */
  domRulesTimeoutMs?: number;
  log?: Logger;
}

export function pageUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, "")}${path}`;
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Scans an e-service's pages in two tiers: jsdom for the rules that need only the DOM (fast, the page's
 * scripts never run, in a worker process), then headless Chromium for the rules that need layout. Client-
 * rendered sites run every rule in Chromium, since their served HTML is not what people see. One browser,
 * confined to the site's origin, serves all the paths of one scan and ends with it; a page whose browser
 * step timed out gets the next path a new browser. `signal` aborts the scan (the caller's deadline).
 */
export class AccessibilityScanner {
  readonly browser: BrowserTier;
  private readonly jsdom = new JsdomWorkers();
  private readonly options: ScannerOptions;

  constructor(options: ScannerOptions = {}) {
    this.options = options;
    this.browser =
      options.browser ??
      new BrowserTier({ ...options.browserOptions, log: options.browserOptions?.log ?? options.log });
  }

  async scan(target: ScanTarget, signal?: AbortSignal): Promise<ScanResult> {
    const tags = tagsFor(target.standard);
    const findings: RuleFinding[] = [];
    const lookAndFeel: LookAndFeelFinding[] = [];
    const errors: PageError[] = [];
    const tiers = new Set<Tier>();
    const digest = createHash("sha256");
    let session: BrowserSession | undefined;
    const browserFor = async (url: string): Promise<BrowserSession> => {
      if (session?.broken) {
        await session.close();
        session = undefined;
      }
      session ??= await this.browser.open(url, signal, target.connectTo);
      return session;
    };

    try {
      for (const path of target.paths) {
        if (signal?.aborted) {
          errors.push({ path, message: `not scanned: ${abortReason(signal).message}` });
          continue;
        }
        const url = pageUrl(target.baseUrl, path);
        try {
          if (!target.clientRendered) {
            const page = await fetchPage(url, {
              timeoutMs: this.options.fetchTimeoutMs ?? 15_000,
              maxBytes: this.options.maxPageBytes ?? 5 * 1024 * 1024,
              signal,
              ...(target.connectTo ? { connectTo: target.connectTo } : {}),
            });
            digest.update(`${path}\n${page.html}\n`);
            const fast = await this.jsdom.scan(
              { url: page.url, html: page.html, path },
              { tags, languages: target.languages },
              { timeoutMs: this.options.domRulesTimeoutMs ?? 30_000, signal },
            );
            tiers.add("jsdom");
            findings.push(...fast.findings);
            lookAndFeel.push(...fast.lookAndFeel);
            const layout = await (await browserFor(url)).scan(
              { url: page.url, path },
              { tags, rules: browserOnlyRules },
              signal,
            );
            tiers.add("chromium");
            findings.push(...layout.findings);
          } else {
            const rendered = await (await browserFor(url)).scan({ url, path }, { tags }, signal);
            tiers.add("chromium");
            digest.update(`${path}\n${rendered.html}\n`);
            findings.push(...rendered.findings);
            lookAndFeel.push(...(await lookAndFeelOfHtml(rendered.html, path, target.languages)));
          }
        } catch (error) {
          errors.push({ path, message: describe(error) });
        }
      }
    } finally {
      await session?.close();
    }
    return {
      findings,
      lookAndFeel,
      errors,
      tiers: [...tiers].sort(),
      contentDigest: `sha256:${digest.digest("hex")}`,
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.browser.close(), this.jsdom.close()]);
  }
}

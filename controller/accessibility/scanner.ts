import { createHash } from "node:crypto";
import type { AccessibilityStandard } from "../api/eservice.ts";
import { BrowserTier } from "./browser-tier.ts";
import type { LookAndFeelFinding, PageError, RuleFinding, ScanResult, Tier } from "./findings.ts";
import { lookAndFeelOfHtml, scanWithJsdom } from "./jsdom-tier.ts";
import { fetchPage } from "./page-fetch.ts";
import { browserOnlyRules, tagsFor } from "./standards.ts";

export interface ScanTarget {
  /** Root of the site: the in-cluster Service URL or an allowed preview URL. */
  baseUrl: string;
  paths: string[];
  standard: AccessibilityStandard;
  clientRendered: boolean;
  languages: string[];
}

export interface ScannerOptions {
  browser?: BrowserTier;
  fetchTimeoutMs?: number;
  maxPageBytes?: number;
}

export function pageUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, "")}${path}`;
}

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Scans an e-service's pages in two tiers: jsdom for the rules that need only the DOM (fast, the page's
 * scripts never run), then headless Chromium for the rules that need layout. Client-rendered sites run
 * every rule in Chromium, since their served HTML is not what people see.
 */
export class AccessibilityScanner {
  readonly browser: BrowserTier;
  private readonly options: ScannerOptions;

  constructor(options: ScannerOptions = {}) {
    this.options = options;
    this.browser = options.browser ?? new BrowserTier();
  }

  async scan(target: ScanTarget): Promise<ScanResult> {
    const tags = tagsFor(target.standard);
    const findings: RuleFinding[] = [];
    const lookAndFeel: LookAndFeelFinding[] = [];
    const errors: PageError[] = [];
    const tiers = new Set<Tier>();
    const digest = createHash("sha256");

    for (const path of target.paths) {
      const url = pageUrl(target.baseUrl, path);
      try {
        if (!target.clientRendered) {
          const page = await fetchPage(url, {
            timeoutMs: this.options.fetchTimeoutMs ?? 15_000,
            maxBytes: this.options.maxPageBytes ?? 5 * 1024 * 1024,
          });
          digest.update(`${path}\n${page.html}\n`);
          const fast = await scanWithJsdom(
            { url: page.url, html: page.html, path },
            {
              tags,
              languages: target.languages,
            },
          );
          tiers.add("jsdom");
          findings.push(...fast.findings);
          lookAndFeel.push(...fast.lookAndFeel);
          const layout = await this.browser.scan({ url: page.url, path }, { tags, rules: browserOnlyRules });
          tiers.add("chromium");
          findings.push(...layout.findings);
        } else {
          const rendered = await this.browser.scan({ url, path }, { tags });
          tiers.add("chromium");
          digest.update(`${path}\n${rendered.html}\n`);
          findings.push(...rendered.findings);
          lookAndFeel.push(...lookAndFeelOfHtml(rendered.html, path, target.languages));
        }
      } catch (error) {
        errors.push({ path, message: describe(error) });
      }
    }
    return {
      findings,
      lookAndFeel,
      errors,
      tiers: [...tiers].sort(),
      contentDigest: `sha256:${digest.digest("hex")}`,
    };
  }

  close(): Promise<void> {
    return this.browser.close();
  }
}

import type { Logger } from "pino";
import type { ScannerOptions } from "../accessibility/scanner.ts";
import { platformDefaults } from "../api/defaults.ts";

/** Platform-wide e-service settings (the operator's choices, not the department's). */
export interface EServiceSettings {
  /** Namespace of the platform ingress controller, the only source allowed to reach e-service pods. */
  ingressControllerNamespace: string;
  ingressClassName: string;
  /** cert-manager ClusterIssuer that issues each public host's certificate, when the platform uses one. */
  tlsClusterIssuer?: string;
  /**
   * Where spec.accessibility.previewUrl may point (the scanner fetches them from the controller): `host`
   * allows that host on its scheme's default port only (80 for http, 443 for https), `host:port` that port
   * only (IPv6 as `[::1]:8443`). Any other port on an allowed host is refused.
   */
  previewHosts: string[];
  /**
   * How soon a scan that could not reach every page is tried again (while it stays failed), instead of
   * waiting for the next scheduled rescan: pages are often unreachable for a moment (a rollout, a Service
   * whose endpoints the node has not programmed yet).
   */
  incompleteScanRetryMs: number;
  /**
   * How often each e-service's children are all applied even when its caches say they are as applied (the
   * backstop: see controller/runtime/applied-digest.ts).
   */
  reapplyEveryMs: number;
}

export const defaultEServiceSettings: EServiceSettings = {
  ingressControllerNamespace: platformDefaults.ingressControllerNamespace,
  ingressClassName: platformDefaults.ingressClassName,
  previewHosts: [],
  incompleteScanRetryMs: 60_000,
  reapplyEveryMs: 60 * 60_000,
};

/**
 * Accessibility scanning limits (the operator's choices). Every step a tenant's page can drag out is
 * bounded; the queue runs at most one scan per department and `concurrency` in all.
 */
export interface ScanSettings {
  /** Scans running at once, platform-wide . */
  concurrency: number;
  /** One e-service's scan, all its pages . */
  scanTimeoutMs: number;
  /** Fetching a page's HTML, and loading it in Chromium up to its load event . */
  pageTimeoutMs: number;
  /** Waiting for the network to go quiet after load; a page still busy is scanned as it is . */
  settleMs: number;
  /** axe on one page, in each tier . */
  axeTimeoutMs: number;
  /** Chromium binary (GOVHOST_CHROMIUM); default Debian's /usr/bin/chromium. */
  chromium?: string | undefined;
  /** Playwright's server in the controller pod's browser container (GOVHOST_BROWSER_ENDPOINT); unset: Chromium is started here. */
  browserEndpoint?: string | undefined;
}

export const defaultScanSettings: ScanSettings = {
  concurrency: 2,
  scanTimeoutMs: 180_000,
  pageTimeoutMs: 20_000,
  settleMs: 2_000,
  axeTimeoutMs: 30_000,
};

/** The scanner's own limits from ScanSettings (the queue takes concurrency and scanTimeoutMs). */
export function scannerOptionsFrom(settings: ScanSettings, log?: Logger): ScannerOptions {
  return {
    fetchTimeoutMs: settings.pageTimeoutMs,
    domRulesTimeoutMs: settings.axeTimeoutMs,
    browserOptions: {
      ...(settings.chromium ? { executablePath: settings.chromium } : {}),
      ...(settings.browserEndpoint ? { endpoint: settings.browserEndpoint } : {}),
      navigationTimeoutMs: settings.pageTimeoutMs,
      settleMs: settings.settleMs,
      axeTimeoutMs: settings.axeTimeoutMs,
    },
    ...(log ? { log } : {}),
  };
}

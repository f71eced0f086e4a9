// axe-core, jsdom and playwright are loaded on the first scan, not when the controller starts: a
// controller that scans nothing (or a standby) does not hold their ~90 MiB.
let source: Promise<string> | undefined;

/** The axe-core script injected into each page (jsdom window or browser page). */
export function axeSource(): Promise<string> {
  source ??= import("axe-core").then((axe) => axe.default.source);
  return source;
}

/** Options passed to axe.run: only violations, only the standard's tags, minus rules left to another tier. */
export interface AxeRunOptions {
  runOnly: { type: "tag"; values: string[] } | { type: "rule"; values: string[] };
  rules?: Record<string, { enabled: boolean }>;
  resultTypes: ["violations"];
  /** axe fetches stylesheets for its CSSOM rules unless false (the jsdom tier turns it off). */
  preload?: boolean;
}

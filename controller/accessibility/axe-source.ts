import axe from "axe-core";

/** The axe-core script injected into each page (jsdom window or browser page). */
export const axeSource: string = axe.source;

/** Options passed to axe.run: only violations, only the standard's tags, minus rules left to another tier. */
export interface AxeRunOptions {
  runOnly: { type: "tag"; values: string[] } | { type: "rule"; values: string[] };
  rules?: Record<string, { enabled: boolean }>;
  resultTypes: ["violations"];
  /** axe fetches stylesheets for its CSSOM rules unless false (the jsdom tier turns it off). */
  preload?: boolean;
}

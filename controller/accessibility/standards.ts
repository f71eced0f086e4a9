import type { AccessibilityStandard } from "../api/eservice.ts";

/** axe-core tags of each conformance target: every level A and AA criterion up to that WCAG version. */
export function tagsFor(standard: AccessibilityStandard): string[] {
  const wcag21 = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
  return standard === "WCAG22-AA" ? [...wcag21, "wcag22aa"] : wcag21;
}

/**
 * Rules whose outcome depends on layout, computed colours or rendered size. jsdom has no layout engine, so
 * these run in the browser tier only; everything else runs in the fast jsdom tier.
 */
export const browserOnlyRules = [
  "color-contrast",
  "target-size",
  "link-in-text-block",
  "scrollable-region-focusable",
  "css-orientation-lock",
  "p-as-heading",
];

/** Findings of this impact block public exposure unless waived. */
export const blockingImpacts = new Set(["critical", "serious"]);

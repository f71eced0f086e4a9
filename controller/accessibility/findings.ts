import type { AccessibilitySummary, AccessibilityWaiver, Impact } from "../api/eservice.ts";
import { blockingImpacts } from "./standards.ts";

export type Tier = "jsdom" | "chromium";

/** One failed axe rule on one page, as found by one tier. */
export interface RuleFinding {
  id: string;
  impact: Impact;
  tier: Tier;
  path: string;
  help: string;
  helpUrl: string;
  tags: string[];
  nodes: number;
  /** CSS selectors of the first failing elements (never page content). */
  targets: string[];
}

export interface LookAndFeelFinding {
  id: string;
  path: string;
  title: string;
  message: string;
}

export interface PageError {
  path: string;
  message: string;
}

export interface ScanResult {
  findings: RuleFinding[];
  lookAndFeel: LookAndFeelFinding[];
  /** Pages that could not be scanned (unreachable, not HTML, timed out): a scan with errors never passes. */
  errors: PageError[];
  tiers: Tier[];
  /** sha256 over the HTML of every scanned page, in path order. */
  contentDigest: string;
}

/** The shape of an axe-core violation that govhost reads (axe-core's own type is wider). */
export interface AxeViolation {
  id: string;
  impact?: string | null;
  help: string;
  helpUrl: string;
  tags: string[];
  nodes: { target: unknown[] }[];
}

const knownImpacts: Impact[] = ["critical", "serious", "moderate", "minor"];
const maxTargets = 5;

/** axe violations of one page, restricted to the conformance target's tags. */
export function toFindings(
  violations: AxeViolation[],
  tier: Tier,
  path: string,
  tags: string[],
): RuleFinding[] {
  return violations
    .filter((v) => v.tags.some((t) => tags.includes(t)))
    .map((v) => ({
      id: v.id,
      impact: knownImpacts.includes(v.impact as Impact) ? (v.impact as Impact) : "minor",
      tier,
      path,
      help: v.help,
      helpUrl: v.helpUrl,
      tags: v.tags.filter((t) => t.startsWith("wcag")),
      nodes: v.nodes.length,
      targets: v.nodes.slice(0, maxTargets).map((n) => n.target.map(String).join(" ")),
    }));
}

export function waiverActive(waiver: AccessibilityWaiver | undefined, now: Date): boolean {
  return waiver !== undefined && Date.parse(waiver.expires) > now.getTime();
}

const maxListed = 50;

type Summary = Pick<AccessibilitySummary, "counts" | "failedRules" | "lookAndFeel">;

/** The status summary of a scan: violation counts by impact, and failed rules merged across pages. */
export function summarise(result: ScanResult): Summary {
  const counts = { critical: 0, serious: 0, moderate: 0, minor: 0 };
  const byRule = new Map<string, AccessibilitySummary["failedRules"][number]>();
  for (const finding of result.findings) {
    counts[finding.impact] += finding.nodes;
    const entry = byRule.get(finding.id);
    if (entry) {
      entry.nodes += finding.nodes;
      if (!entry.paths.includes(finding.path)) entry.paths.push(finding.path);
    } else {
      byRule.set(finding.id, {
        id: finding.id,
        impact: finding.impact,
        tier: finding.tier,
        nodes: finding.nodes,
        paths: [finding.path],
        help: finding.help,
      });
    }
  }
  const lookAndFeel = new Map<string, AccessibilitySummary["lookAndFeel"][number]>();
  for (const finding of result.lookAndFeel) {
    const entry = lookAndFeel.get(finding.id);
    if (entry) entry.paths.push(finding.path);
    else lookAndFeel.set(finding.id, { id: finding.id, paths: [finding.path], message: finding.message });
  }
  const impactOrder = (impact: string) => knownImpacts.indexOf(impact as Impact);
  return {
    counts,
    // Blocking impacts sort first, so the cap never hides a rule that blocks exposure.
    failedRules: [...byRule.values()]
      .sort((a, b) => impactOrder(a.impact) - impactOrder(b.impact) || a.id.localeCompare(b.id))
      .slice(0, maxListed),
    lookAndFeel: [...lookAndFeel.values()].sort((a, b) => a.id.localeCompare(b.id)),
  };
}

/**
 * Which failures block public exposure under the current spec: serious and critical axe rules (and the
 * look-and-feel checks when enforced), minus those an unexpired waiver covers. Recomputed from the stored
 * summary on every reconcile, so a new or expired waiver takes effect without a rescan.
 */
export function judge(
  summary: Summary,
  options: { waiver?: AccessibilityWaiver; enforceLookAndFeel: boolean; now: Date },
): Pick<AccessibilitySummary, "blockingRules" | "waivedRules"> {
  const failing = summary.failedRules.filter((r) => blockingImpacts.has(r.impact)).map((r) => r.id);
  if (options.enforceLookAndFeel) failing.push(...summary.lookAndFeel.map((f) => f.id));
  const waiver = waiverActive(options.waiver, options.now) ? options.waiver : undefined;
  const waived = failing.filter((id) => waiver && (!waiver.rules || waiver.rules.includes(id)));
  return {
    blockingRules: failing.filter((id) => !waived.includes(id)).sort(),
    waivedRules: waived.sort(),
  };
}

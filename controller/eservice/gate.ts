import type { EServiceCondition } from "../api/conditions.ts";
import type { AccessibilitySummary, EServiceSpec } from "../api/eservice.ts";

type AccessibilityCondition = Extract<EServiceCondition, { type: "AccessibilityBaseline" }>;
type ExposedCondition = Extract<EServiceCondition, { type: "Exposed" }>;

// The exposure gate as a pure function: an e-service is public only when it is public by spec, its
// workload was admitted (security baseline), and its pages pass the accessibility baseline (or an
// approver's unexpired waiver covers what fails). A public e-service that later fails is kept public
// with a warning or withdrawn, as its spec says.

export type ScanState =
  | { state: "current"; summary: AccessibilitySummary }
  | { state: "pending"; message: string }
  /** The scan cannot run as specified (e.g. a preview host the platform does not allow). */
  | { state: "impossible"; reason: AccessibilityCondition["reason"]; message: string };

export interface GateInput {
  spec: EServiceSpec;
  host: string | undefined;
  /** Why the host may not be published (outside the department's domains). */
  hostProblem?: string;
  /** `refusal`: a policy refused a child, or the API server found one invalid (see the reconciler). */
  workload: { admitted: boolean; refusal?: "policy" | "invalid"; message: string };
  /** The Deployment's rollout: a first exposure waits until no pod of an earlier version can answer. */
  rollout?: { complete: boolean; message: string };
  scan: ScanState;
  wasExposed: boolean;
  /** Reason of the current Exposed condition, so a withdrawal stays reported as one. */
  previousReason?: string;
}

export interface GateDecision {
  expose: boolean;
  accessibility: AccessibilityCondition;
  exposed: ExposedCondition;
}

function accessibilityCondition(spec: EServiceSpec, scan: ScanState): AccessibilityCondition {
  const type = "AccessibilityBaseline" as const;
  if (scan.state === "pending")
    return { type, status: "Unknown", reason: "ScanPending", message: scan.message };
  if (scan.state === "impossible")
    return { type, status: "False", reason: scan.reason, message: scan.message };
  const summary = scan.summary;
  const where = `full report: PolicyReport ${summary.report}`;
  if (summary.error) {
    return {
      type,
      status: "False",
      reason: "ScanFailed",
      message: `The pages could not all be scanned, so the baseline is not met: ${summary.error}`,
    };
  }
  if (summary.blockingRules.length > 0) {
    const described = summary.blockingRules.map((id) => {
      const rule = summary.failedRules.find((r) => r.id === id);
      const lf = summary.lookAndFeel.find((f) => f.id === id);
      return rule
        ? `${id} (${rule.impact}, ${rule.paths.join(" ")})`
        : `${id} (look and feel, ${lf?.paths.join(" ")})`;
    });
    return {
      type,
      status: "False",
      reason: "Violations",
      message: `${summary.blockingRules.length} rules fail ${spec.accessibility.standard} and block public exposure: ${described.join(", ")}; fix them or ask an accessibility approver for a waiver (${where})`,
    };
  }
  if (summary.waivedRules.length > 0) {
    const waiver = spec.accessibility.waiver;
    return {
      type,
      status: "True",
      reason: "Waived",
      message: `Passes with a waiver for ${summary.waivedRules.join(", ")} approved by ${waiver?.approvedBy} until ${waiver?.expires} (${where})`,
    };
  }
  const { moderate, minor } = summary.counts;
  return {
    type,
    status: "True",
    reason: "Passed",
    message: `No serious or critical ${spec.accessibility.standard} failures on ${summary.paths.length} pages (${moderate} moderate, ${minor} minor; ${where})`,
  };
}

export function decideExposure(input: GateInput): GateDecision {
  const { spec, scan, wasExposed } = input;
  const accessibility = accessibilityCondition(spec, scan);
  const exposed = (
    status: "True" | "False",
    reason: ExposedCondition["reason"],
    message: string,
  ): GateDecision => ({
    expose: status === "True",
    accessibility,
    exposed: { type: "Exposed", status, reason, message },
  });

  if (spec.exposure !== "public")
    return exposed("False", "Internal", "exposure is internal; set spec.exposure to public to publish it");
  if (!input.host)
    return exposed(
      "False",
      "NoHostname",
      "The department has no domains, so a public host name cannot be chosen; an operator must add spec.domains to the Department",
    );
  if (input.hostProblem) return exposed("False", "HostnameNotAllowed", input.hostProblem);
  if (!input.workload.admitted)
    return exposed(
      "False",
      input.workload.refusal === "invalid" ? "ChildInvalid" : "SecurityBaseline",
      `Not published: ${input.workload.message}`,
    );
  const url = `https://${input.host}/`;
  // The scan judged the current version's pods; until the rollout is over the Service also routes to pods
  // of the earlier version, which were never judged (or failed): publishing now would serve them.
  if (!wasExposed && accessibility.status === "True" && input.rollout && !input.rollout.complete)
    return exposed(
      "False",
      "RolloutInProgress",
      `Public exposure waits for the rollout to finish: ${input.rollout.message}`,
    );
  if (accessibility.status === "True") return exposed("True", "Public", `Serving ${url}`);
  if (wasExposed && accessibility.status === "Unknown")
    return exposed("True", "RescanPending", `Serving ${url} while the pages are rescanned`);
  if (wasExposed && spec.accessibility.onRegression === "warn")
    return exposed(
      "True",
      "ExposedWithRegression",
      `Still serving ${url} although the pages now fail the accessibility baseline (onRegression: warn); fix them promptly`,
    );
  const withdrawn = wasExposed || input.previousReason === "Withdrawn";
  return exposed(
    "False",
    withdrawn ? "Withdrawn" : "AccessibilityBaseline",
    withdrawn
      ? "Withdrawn from public access because the pages now fail the accessibility baseline (onRegression: withdraw)"
      : "Public exposure waits for the accessibility baseline to pass",
  );
}

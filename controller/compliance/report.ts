import type { KubeObject } from "../../lib/kube/client.ts";
import type { BaselineRule } from "../../policies/baseline.ts";
import type { PolicyMode } from "../../policies/modes.ts";

export type ReportResult = "pass" | "fail" | "warn";

export interface Finding {
  rule: BaselineRule;
  mode: PolicyMode;
  object: KubeObject;
  passed: boolean;
  messages: string[];
}

export const reportName = "govhost-baseline";

/** What a violation counts as in the report: Warn-mode rules warn, Deny and Audit rules fail. */
export function resultOf(finding: Finding): ReportResult {
  if (finding.passed) return "pass";
  return finding.mode === "Warn" ? "warn" : "fail";
}

export function summarize(findings: Finding[]) {
  const summary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
  for (const finding of findings) summary[resultOf(finding)]++;
  return summary;
}

/** The wgpolicyk8s.io PolicyReport for one namespace (pure: same findings, same report). */
export function policyReport(
  namespace: string,
  department: string,
  findings: Finding[],
  now: Date,
): KubeObject {
  const seconds = Math.floor(now.getTime() / 1000);
  const sorted = [...findings].sort((a, b) =>
    `${a.object.kind}/${a.object.metadata?.name}/${a.rule.id}`.localeCompare(
      `${b.object.kind}/${b.object.metadata?.name}/${b.rule.id}`,
    ),
  );
  return {
    apiVersion: "wgpolicyk8s.io/v1alpha2",
    kind: "PolicyReport",
    metadata: {
      name: reportName,
      namespace,
      labels: { "app.kubernetes.io/managed-by": "govhost", "govhost.io/department": department },
    },
    summary: summarize(findings),
    results: sorted.map((f) => ({
      source: "govhost",
      policy: `govhost-${f.rule.name}`,
      rule: f.rule.id,
      category: f.rule.category,
      severity: f.rule.severity,
      result: resultOf(f),
      scored: true,
      message: f.passed ? f.rule.title : f.messages.join("; "),
      timestamp: { seconds, nanos: 0 },
      resources: [
        {
          apiVersion: f.object.apiVersion,
          kind: f.object.kind,
          name: f.object.metadata?.name,
          namespace,
          uid: f.object.metadata?.uid,
        },
      ],
      properties: { mode: f.mode, title: f.rule.title },
    })),
  };
}

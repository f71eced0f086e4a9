import type { KubeObject } from "../../lib/kube/client.ts";
import type { ScanResult } from "../accessibility/findings.ts";
import { lookAndFeelRules } from "../accessibility/look-and-feel.ts";
import type { EService } from "../api/eservice.ts";
import type { Tenant } from "../api/eservice-workload.ts";
import { apiVersion, labels, managedByValue } from "../api/group.ts";

// The full accessibility report of one e-service as a wgpolicyk8s.io PolicyReport scoped to the EService
// (owned by it, so it goes when the EService goes). EService status carries only the summary.

export function accessibilityReportName(eservice: string): string {
  return `govhost-a11y-${eservice}`;
}

const severityOf: Record<string, string> = {
  critical: "critical",
  serious: "high",
  moderate: "medium",
  minor: "low",
};

export function accessibilityReport(
  es: EService,
  tenant: Tenant,
  result: ScanResult,
  blocking: string[],
  scannedAt: Date,
): KubeObject {
  const timestamp = { seconds: Math.floor(scannedAt.getTime() / 1000), nanos: 0 };
  const resource = {
    apiVersion,
    kind: "EService",
    name: es.metadata.name,
    namespace: es.metadata.namespace,
    uid: es.metadata.uid,
  };
  const outcome = (id: string) => (blocking.includes(id) ? "fail" : "warn");
  const results = [
    ...result.findings.map((f) => ({
      source: "govhost-accessibility",
      policy: "accessibility-baseline",
      rule: f.id,
      category: "accessibility",
      severity: severityOf[f.impact] ?? "info",
      result: outcome(f.id),
      scored: true,
      message: f.help,
      timestamp,
      resources: [resource],
      properties: {
        impact: f.impact,
        tier: f.tier,
        path: f.path,
        nodes: String(f.nodes),
        targets: f.targets.join(" | "),
        wcag: f.tags.join(","),
        helpUrl: f.helpUrl,
      },
    })),
    ...result.lookAndFeel.map((f) => ({
      source: "govhost-accessibility",
      policy: "look-and-feel",
      rule: f.id,
      category: "look-and-feel",
      severity: "medium",
      result: outcome(f.id),
      scored: true,
      message: f.message,
      timestamp,
      resources: [resource],
      properties: { path: f.path, title: lookAndFeelRules.find((r) => r.id === f.id)?.title ?? f.title },
    })),
    ...result.errors.map((e) => ({
      source: "govhost-accessibility",
      policy: "accessibility-baseline",
      rule: "page-scan",
      category: "accessibility",
      severity: "high",
      result: "error",
      scored: true,
      message: e.message,
      timestamp,
      resources: [resource],
      properties: { path: e.path },
    })),
  ];
  const summary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
  for (const r of results) summary[r.result as keyof typeof summary]++;
  return {
    apiVersion: "wgpolicyk8s.io/v1alpha2",
    kind: "PolicyReport",
    metadata: {
      name: accessibilityReportName(es.metadata.name as string),
      namespace: es.metadata.namespace,
      labels: {
        [labels.managedBy]: managedByValue,
        [labels.department]: tenant.department,
        [labels.environment]: tenant.environment,
        "govhost.io/eservice": es.metadata.name as string,
      },
      ownerReferences: [{ apiVersion, kind: "EService", name: es.metadata.name, uid: es.metadata.uid }],
    },
    scope: resource,
    summary,
    results,
  };
}

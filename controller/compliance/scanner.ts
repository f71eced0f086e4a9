import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { Gauge, type Registry } from "prom-client";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { apiVersionOf, type ResourceType, resources } from "../../lib/kube/resources.ts";
import { stableJson } from "../../lib/stable-json.ts";
import { baselineParams } from "../../policies/admission.ts";
import { baselineRules } from "../../policies/baseline.ts";
import { evaluateRule, ruleApplies } from "../../policies/evaluate.ts";
import { platformOwned } from "../../policies/keys.ts";
import type { PolicyMode } from "../../policies/modes.ts";
import { fieldManagers, statusOwners } from "../api/conditions.ts";
import type { Department } from "../api/department.ts";
import type { Condition } from "../api/schema-helpers.ts";
import type { StatusWriter } from "../runtime/status-writer.ts";
import { type Finding, policyReport, resultOf } from "./report.ts";
import { type LabelSelector, matchesSelector } from "./selector.ts";

// Background compliance: judges objects that already exist (created before a rule, or while it only
// warned) with the same rules the API server enforces, publishes a PolicyReport per tenant namespace and a
// summary on each Department.

const fieldManager = fieldManagers.compliance;
const scannedKinds: ResourceType[] = [
  resources.pod,
  resources.deployment,
  resources.statefulSet,
  resources.daemonSet,
  resources.job,
  resources.cronJob,
  resources.service,
  resources.ingress,
];

interface Binding extends KubeObject {
  spec?: { matchResources?: { namespaceSelector?: LabelSelector } };
}

interface Placement {
  ruleId: string;
  mode: PolicyMode;
  selector: LabelSelector | undefined;
}

/** On each PolicyReport: a digest of its findings as written (findingsDigest). */
const findingsDigestAnnotation = "govhost.io/findings-digest";

/** A digest of a report's findings without their timestamps: equal findings, equal digests. */
function findingsDigest(report: KubeObject): string {
  const results = (report.results ?? []) as Record<string, unknown>[];
  const content = stableJson(results.map(({ timestamp: _, ...result }) => result));
  return `sha256:${createHash("sha256").update(content).digest("base64url")}`;
}

/** The uid of the object's controller (owner reference with controller: true), if it names one. */
function controllerUid(object: KubeObject): string | undefined {
  return ((object.metadata?.ownerReferences ?? []) as { controller?: boolean; uid?: string }[]).find(
    (ref) => ref.controller,
  )?.uid;
}

/** What the controller's informers already hold: read from memory instead of listing again each scan. */
export interface ScannerCaches {
  departments: () => (Department & KubeObject)[];
  namespaces: () => KubeObject[];
  /** By kind, e.g. Pod; kinds not cached here are listed from the API server. */
  objects: Partial<Record<string, () => KubeObject[]>>;
}

export class ComplianceScanner {
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly caches: ScannerCaches;
  private readonly status: StatusWriter;
  private readonly violations: Gauge;
  /** Per namespace, the findings of the report as last written; undefined until read from the cluster. */
  private lastReports: Map<string, string> | undefined;

  constructor(
    client: KubeClient,
    log: Logger,
    registry: Registry,
    caches: ScannerCaches,
    status: StatusWriter,
  ) {
    this.client = client;
    this.status = status;
    this.log = log;
    this.caches = caches;
    this.violations = new Gauge({
      name: "govhost_policy_violations",
      help: "Objects failing a baseline rule (Deny or Audit mode) at the last background scan",
      labelNames: ["department", "rule"],
      registers: [registry],
    });
  }

  async run(signal: AbortSignal, intervalMs: number): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.scanOnce();
      } catch (error) {
        this.log.warn({ err: error }, "compliance scan failed; will retry");
      }
      // Resolves early on abort and removes its listener either way (one listener per cycle would leak).
      await sleep(intervalMs, undefined, { signal }).catch(() => {});
    }
  }

  async scanOnce(now = new Date()): Promise<void> {
    const params = await this.client.find<KubeObject & { data?: Record<string, string> }>(
      resources.configMap,
      baselineParams.name,
      baselineParams.namespace,
    );
    if (!params) {
      this.log.warn("baseline parameters ConfigMap missing; skipping compliance scan");
      return;
    }
    const bindings = await this.client.list<Binding>(resources.validatingAdmissionPolicyBinding, {
      labelSelector: "app.kubernetes.io/part-of=govhost",
    });
    const placements: Placement[] = bindings.items.map((b) => ({
      ruleId: b.metadata?.labels?.["govhost.io/baseline-rule"] ?? "",
      mode: (b.metadata?.labels?.["govhost.io/policy-mode"] ?? "Deny") as PolicyMode,
      selector: b.spec?.matchResources?.namespaceSelector,
    }));
    // A namespace being deleted takes no new report (the API server refuses new content there).
    const tenantNamespaces = this.caches
      .namespaces()
      .filter((ns) => ns.metadata?.labels?.[platformOwned.department] && !ns.metadata?.deletionTimestamp);
    const byName = new Map(tenantNamespaces.map((ns) => [ns.metadata?.name as string, ns]));
    const findings = new Map<string, Finding[]>([...byName.keys()].map((name) => [name, []]));

    // Pods, ReplicaSets and Jobs made by a controller are judged through the object that owns them, so a
    // failure is reported once. An owner reference is only a claim (tenants can write any), so an owned
    // object still reports every failure its scanned owner does not share: a forged reference hides nothing.
    const judged: { namespace: string; uid: string; owner?: string; findings: Finding[] }[] = [];
    for (const type of scannedKinds) {
      const items = this.caches.objects[type.kind]?.() ?? (await this.client.list<KubeObject>(type)).items;
      for (const item of items) {
        const namespace = byName.get(item.metadata?.namespace ?? "");
        if (!namespace) continue;
        const object = { ...item, apiVersion: apiVersionOf(type), kind: type.kind };
        const labels = namespace.metadata?.labels ?? {};
        const list: Finding[] = [];
        for (const rule of baselineRules) {
          if (!rule.background || !ruleApplies(rule, object)) continue;
          const placement = placements.find(
            (p) => p.ruleId === rule.id && matchesSelector(p.selector, labels),
          );
          if (!placement) continue;
          const outcome = evaluateRule(rule, {
            object: object as Record<string, unknown>,
            namespaceObject: namespace as Record<string, unknown>,
            params: { data: params.data ?? {} },
          });
          list.push({
            rule,
            mode: placement.mode,
            object,
            passed: outcome.passed,
            messages: outcome.messages,
          });
        }
        judged.push({
          namespace: namespace.metadata?.name as string,
          uid: item.metadata?.uid ?? "",
          owner: controllerUid(item),
          findings: list,
        });
      }
    }
    const byUid = new Map(judged.map((j) => [`${j.namespace}/${j.uid}`, j.findings]));
    for (const { namespace, owner, findings: list } of judged) {
      const ownerFindings = owner ? byUid.get(`${namespace}/${owner}`) : undefined;
      const ownerFails = new Set(ownerFindings?.filter((f) => !f.passed).map((f) => f.rule.id));
      const reported = ownerFindings ? list.filter((f) => !f.passed && !ownerFails.has(f.rule.id)) : list;
      findings.get(namespace)?.push(...reported);
    }

    // Unchanged findings are not rewritten (the timestamps alone would make every scan a write), also by a
    // controller that just started: the digests on the reports already there are read once, in one list
    // (the stored reports themselves are pruned by their CRD's schema, so they are not compared).
    this.lastReports ??= new Map(
      (
        await this.client.list<KubeObject>(resources.policyReport, {
          labelSelector: `${platformOwned.managedBy}=govhost`,
        })
      ).items.map((report) => [
        report.metadata?.namespace ?? "",
        report.metadata?.annotations?.[findingsDigestAnnotation] ?? "",
      ]),
    );
    const lastReports = this.lastReports;
    const byDepartment = new Map<string, Finding[]>();
    for (const [name, list] of findings) {
      const department = byName.get(name)?.metadata?.labels?.[platformOwned.department] as string;
      const report = policyReport(name, department, list, now);
      const fingerprint = findingsDigest(report);
      if (lastReports.get(name) !== fingerprint) {
        // One namespace's refusal must not keep every namespace after it from its report.
        try {
          const metadata = { ...report.metadata, annotations: { [findingsDigestAnnotation]: fingerprint } };
          await this.client.apply({ ...report, metadata }, { fieldManager });
          lastReports.set(name, fingerprint);
        } catch (error) {
          this.log.warn({ err: error, namespace: name }, "writing a PolicyReport failed; retrying next scan");
        }
      }
      byDepartment.set(department, [...(byDepartment.get(department) ?? []), ...list]);
    }
    this.violations.reset();
    for (const dept of this.caches.departments()) {
      const name = dept.metadata.name as string;
      if (!byDepartment.has(name) || dept.metadata.deletionTimestamp) continue;
      await this.writeSummary(dept, byDepartment.get(name) ?? [], now);
    }
  }

  private async writeSummary(dept: Department & KubeObject, findings: Finding[], now: Date): Promise<void> {
    const name = dept.metadata.name as string;
    const counts = { pass: 0, fail: 0, warn: 0 };
    const failing = new Map<string, number>();
    for (const finding of findings) {
      const result = resultOf(finding);
      counts[result]++;
      if (result === "fail") failing.set(finding.rule.id, (failing.get(finding.rule.id) ?? 0) + 1);
    }
    for (const [rule, count] of failing) this.violations.set({ department: name, rule }, count);
    const failingRules = [...failing.keys()].sort();
    const condition =
      counts.fail === 0
        ? {
            type: "PolicyCompliant" as const,
            status: "True" as const,
            reason: "NoViolations" as const,
            message: `${counts.pass} checks passed${counts.warn ? `, ${counts.warn} warnings` : ""}`,
          }
        : {
            type: "PolicyCompliant" as const,
            status: "False" as const,
            reason: "Violations" as const,
            message: `${counts.fail} failing checks (${failingRules.join(", ")}); see the PolicyReport govhost-baseline in each namespace`,
          };
    // The scan time alone is no change: the status is written when counts, rules or the condition change.
    const withoutScanTime = (status: Record<string, unknown>) => {
      const compliance = status.compliance as Record<string, unknown> | undefined;
      const conditions = (status.conditions ?? []) as Condition[];
      return stableJson({
        compliance: compliance ? { ...compliance, lastScan: undefined } : undefined,
        conditions: conditions.map((c) => ({ status: c.status, message: c.message })),
      });
    };
    await this.status.write(statusOwners.compliance, dept, {
      fields: {
        compliance: { ...counts, failingRules, lastScan: now.toISOString().replace(/\.\d+Z$/, "Z") },
      },
      conditions: [condition],
      now,
      changed: (before, next) => withoutScanTime(before) !== withoutScanTime(next),
    });
  }
}

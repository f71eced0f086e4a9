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
import { type Finding, policyReport, type ReportResult, resultOf } from "./report.ts";
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

/** What a department's summary needs of its namespaces' findings: counts, and failures per rule. */
interface Tally {
  counts: Record<ReportResult, number>;
  failing: Map<string, number>;
}

const newTally = (): Tally => ({ counts: { pass: 0, fail: 0, warn: 0 }, failing: new Map() });

function count(tally: Tally, findings: Finding[]): void {
  for (const finding of findings) {
    const result = resultOf(finding);
    tally.counts[result]++;
    if (result === "fail") tally.failing.set(finding.rule.id, (tally.failing.get(finding.rule.id) ?? 0) + 1);
  }
}

/**
 * The findings a namespace's report lists. Pods, ReplicaSets and Jobs made by a controller are judged
 * through the object that owns them, so a failure is reported once. An owner reference is only a claim
 * (tenants can write any), so an owned object still reports every failure its scanned owner does not
 * share: a forged reference hides nothing.
 */
function judge(
  namespace: KubeObject,
  objects: KubeObject[],
  placements: Placement[],
  params: Record<string, string>,
): Finding[] {
  const labels = namespace.metadata?.labels ?? {};
  const judged = objects.map((object) => {
    const findings: Finding[] = [];
    for (const rule of baselineRules) {
      if (!rule.background || !ruleApplies(rule, object)) continue;
      const placement = placements.find((p) => p.ruleId === rule.id && matchesSelector(p.selector, labels));
      if (!placement) continue;
      const outcome = evaluateRule(rule, {
        object: object as Record<string, unknown>,
        namespaceObject: namespace as Record<string, unknown>,
        params: { data: params },
      });
      findings.push({
        rule,
        mode: placement.mode,
        object,
        passed: outcome.passed,
        messages: outcome.messages,
      });
    }
    return { uid: object.metadata?.uid ?? "", owner: controllerUid(object), findings };
  });
  const byUid = new Map(judged.map((j) => [j.uid, j.findings]));
  return judged.flatMap(({ owner, findings }) => {
    const ownerFindings = owner ? byUid.get(owner) : undefined;
    if (!ownerFindings) return findings;
    const ownerFails = new Set(ownerFindings.filter((f) => !f.passed).map((f) => f.rule.id));
    return findings.filter((f) => !f.passed && !ownerFails.has(f.rule.id));
  });
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

    // Each namespace is judged, reported and let go in turn: only its objects' findings are held at once,
    // and of each department only its counts (at 1,000 departments, every finding of every object held to
    // the end of the scan was most of the controller's peak).
    const inNamespace = new Map<string, KubeObject[]>([...byName.keys()].map((name) => [name, []]));
    for (const type of scannedKinds) {
      const items = this.caches.objects[type.kind]?.() ?? (await this.client.list<KubeObject>(type)).items;
      for (const item of items)
        inNamespace
          .get(item.metadata?.namespace ?? "")
          ?.push({ ...item, apiVersion: apiVersionOf(type), kind: type.kind });
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
    const byDepartment = new Map<string, Tally>();
    for (const [name, namespace] of byName) {
      const objects = inNamespace.get(name) ?? [];
      inNamespace.delete(name);
      const list = judge(namespace, objects, placements, params.data ?? {});
      const department = namespace.metadata?.labels?.[platformOwned.department] as string;
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
      const tally = byDepartment.get(department) ?? newTally();
      byDepartment.set(department, tally);
      count(tally, list);
    }
    this.violations.reset();
    for (const dept of this.caches.departments()) {
      const name = dept.metadata.name as string;
      const tally = byDepartment.get(name);
      if (!tally || dept.metadata.deletionTimestamp) continue;
      await this.writeSummary(dept, tally, now);
    }
  }

  private async writeSummary(dept: Department & KubeObject, tally: Tally, now: Date): Promise<void> {
    const name = dept.metadata.name as string;
    const { counts, failing } = tally;
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

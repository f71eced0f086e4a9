import type { Logger } from "pino";
import {
  isAdmissionRefusal,
  isQuotaRefusal,
  type KubeClient,
  type KubeObject,
} from "../../lib/kube/client.ts";
import { type ResourceType, resources } from "../../lib/kube/resources.ts";
import { judge, summarise } from "../accessibility/findings.ts";
import type { ConnectTo } from "../accessibility/origin-guard.ts";
import { type EServiceCondition, statusOwners } from "../api/conditions.ts";
import type { AccessibilitySummary, EService, EServiceStatus } from "../api/eservice.ts";
import { selectorLabels, type Tenant } from "../api/eservice-workload.ts";
import { fieldManager } from "../api/group.ts";
import {
  type AppliedChild,
  appliedDigest,
  appliedVersion,
  type CachedChild,
} from "../runtime/applied-digest.ts";
import type { EventRecorder } from "../runtime/events.ts";
import { applyChild, invalidChildMessage, RefusedChild } from "../runtime/invalid-child.ts";
import { ReapplySchedule } from "../runtime/reapply-schedule.ts";
import { type DeploymentStatus, rolloutAvailability, rolloutComplete } from "../runtime/rollout.ts";
import type { StatusWriter } from "../runtime/status-writer.ts";
import type { ReconcileResult } from "../runtime/workqueue.ts";
import { type EServiceChildren, renderEService } from "./desired.ts";
import { decideExposure, type ScanState } from "./gate.ts";
import { accessibilityReport, accessibilityReportName } from "./report.ts";
import { podToScan, scanDue, scanExpiresAt, scanKey, scanTarget } from "./scan-plan.ts";
import type { ScanQueue } from "./scan-queue.ts";
import type { EServiceSettings } from "./settings.ts";

type EServiceObject = EService & KubeObject;

interface Workload {
  /** Every child applied. When not, `refusal` says who refused one: a policy, or the object's own validation. */
  admitted: boolean;
  refusal?: "policy" | "invalid";
  message: string;
  deployment?: KubeObject & { status?: DeploymentStatus };
  /** Its children at the versions the store holds, and those that must not exist (applied-digest.ts). */
  applied: AppliedChild[];
  absent: string[];
}

/**
 * What a recorded digest says of the children: all as applied, with or without the Ingress, and the
 * workload's children at the versions the caches hold.
 */
interface AsApplied {
  ingress: boolean;
  workload: AppliedChild[];
}

/** How a child that must not exist is named in a digest. */
const absentKey = (kind: string, namespace: string | undefined, name: string) =>
  `${kind}/${namespace ?? ""}/${name}`;

const maxRequeueMs = 24 * 3_600_000;

/** A used-up public-endpoint quota frees up without any change to the e-service: it is looked at again. */
const quotaRetryMs = 15_000;
/**
 * What a pending scan waits for reconciles the e-service when it happens: a rollout's progress and a pod
 * becoming ready change the Deployment's status (watched), a finished scan re-queues it (scan-queue.ts). A
 * look after this long is only a backstop. (It was 15 s: with 2,000 e-services whose pods never start, that
 * was 133 reconciles a second for nothing.)
 */
const pendingBackstopMs = 5 * 60_000;

/** The workload's kinds, to find a desired child in the caches. */
const workloadTypes: Record<string, ResourceType> = {
  Deployment: resources.deployment,
  Service: resources.service,
  NetworkPolicy: resources.networkPolicy,
  PodDisruptionBudget: resources.podDisruptionBudget,
};

function underDomains(host: string, domains: string[]): boolean {
  return domains.some((d) => host === d || host.endsWith(`.${d}`));
}

/** Deployed means the workload serves (runtime/rollout.ts). */
export function deployedFromRollout(
  replicas: number,
  status: DeploymentStatus | undefined,
): EServiceCondition {
  const { serving, reason, message } = rolloutAvailability(replicas, status);
  return { type: "Deployed", status: serving ? "True" : "False", reason, message };
}

/**
 * Reconciles one EService: renders its workload, gets its pages scanned, and publishes it through an
 * Ingress only when the exposure gate allows. Idempotent; a refused workload or an unreachable page is
 * reported in status, never retried in a hot loop.
 */
export class EServiceReconciler {
  private readonly client: KubeClient;
  private readonly settings: EServiceSettings;
  private readonly events: EventRecorder;
  private readonly scans: ScanQueue;
  private readonly tenantOf: (namespace: string) => Tenant | undefined;
  private readonly status: StatusWriter;
  private readonly log: Logger;
  private readonly cached: CachedChild;
  private readonly reapply: ReapplySchedule;

  constructor(options: {
    client: KubeClient;
    settings: EServiceSettings;
    events: EventRecorder;
    scans: ScanQueue;
    tenantOf: (namespace: string) => Tenant | undefined;
    status: StatusWriter;
    log: Logger;
    /** The children's caches; without them every child is applied on every reconcile. */
    cached?: CachedChild;
  }) {
    this.status = options.status;
    this.log = options.log;
    this.cached = options.cached ?? (() => undefined);
    this.reapply = new ReapplySchedule(options.settings.reapplyEveryMs);
    this.client = options.client;
    this.settings = options.settings;
    this.events = options.events;
    this.scans = options.scans;
    this.tenantOf = options.tenantOf;
  }

  async reconcile(key: string, log: Logger = this.log): Promise<ReconcileResult | undefined> {
    const [namespace, name] = key.split("/") as [string, string];
    const es = await this.client.find<EServiceObject>(resources.eservice, name, namespace);
    if (!es || es.metadata.deletionTimestamp) {
      // Children and the report are owned by the EService and garbage-collected with it.
      this.scans.forget(key);
      this.reapply.forget(key);
      return undefined;
    }
    const tenant = this.tenantOf(namespace);
    if (!tenant) {
      await this.writeStatus(es, {
        conditions: [
          {
            type: "Deployed",
            status: "False",
            reason: "NotATenantNamespace",
            message: `Namespace ${namespace} does not belong to a department; create EServices in a department namespace`,
          },
        ],
      });
      return undefined;
    }
    try {
      return await this.provision(key, es, tenant);
    } catch (error) {
      const message = `Reconcile failed, retrying: ${error instanceof Error ? error.message : String(error)}`;
      await this.writeStatus(es, {
        conditions: [{ type: "Deployed", status: "Unknown", reason: "ReconcileError", message }],
      }).catch((writeError: unknown) => log.warn({ err: writeError }, "status write failed"));
      throw error;
    }
  }

  private async provision(
    key: string,
    es: EServiceObject,
    tenant: Tenant,
  ): Promise<ReconcileResult | undefined> {
    const now = new Date();
    const children = renderEService(es, tenant, this.settings);
    // Children still as the last pass applied them are not applied again (applied-digest.ts), except in the
    // periodic full apply: each change of the Deployment's status during a rollout reconciles the e-service.
    const everything = this.reapply.due(key);
    const asApplied = everything ? undefined : this.asApplied(es, children);
    const workload =
      (asApplied && this.cachedWorkload(children, asApplied.workload)) ||
      (await this.applyWorkload(children));
    const scan = await this.scanState(key, es, tenant, children, workload, now);
    const wasExposed =
      es.status?.conditions?.some((c) => c.type === "Exposed" && c.status === "True") ?? false;
    const hostProblem =
      children.host && !underDomains(children.host, tenant.domains)
        ? `Host ${children.host} is not under the department's domains (${tenant.domains.join(", ") || "none"}); choose a hostname under one of them`
        : undefined;
    const decision = decideExposure({
      spec: es.spec,
      host: children.host,
      hostProblem,
      workload,
      // Only when the scan judged the pods themselves (not a preview site) does their version matter.
      ...(workload.deployment && !es.spec.accessibility.previewUrl
        ? {
            rollout: rolloutComplete(
              es.spec.replicas,
              workload.deployment.metadata?.generation,
              workload.deployment.status,
            ),
          }
        : {}),
      scan: scan.state,
      wasExposed,
      previousReason: es.status?.conditions?.find((c) => c.type === "Exposed")?.reason,
    });

    let exposedCondition = decision.exposed;
    let ingress: { applied?: AppliedChild; absent?: string } | undefined;
    const ingressName = es.metadata.name as string;
    if (decision.expose && children.ingress) {
      const desired = children.ingress;
      try {
        const stored = asApplied?.ingress
          ? this.cached(resources.ingress, ingressName, es.metadata.namespace)
          : await this.client.apply(desired, { fieldManager });
        ingress = { applied: { desired, version: appliedVersion(desired, stored) } };
      } catch (error) {
        if (isQuotaRefusal(error))
          exposedCondition = {
            type: "Exposed",
            status: "False",
            reason: "QuotaExceeded",
            message: `The department's public endpoints are used up, so the Ingress was not created (${error.message}); withdraw another public e-service or ask an operator to raise spec.quota.publicEndpoints`,
          };
        else if (isAdmissionRefusal(error))
          exposedCondition = {
            type: "Exposed",
            status: "False",
            reason: "IngressRefused",
            message: `The platform refused the Ingress: ${error.message}`,
          };
        else throw error;
      }
    } else {
      if (asApplied?.ingress !== false)
        await this.client.delete(resources.ingress, ingressName, es.metadata.namespace);
      ingress = { absent: absentKey("Ingress", es.metadata.namespace, ingressName) };
    }
    const exposedNow = exposedCondition.status === "True";
    // A refused Ingress leaves its state unknown: no digest, so the next pass applies everything.
    const appliedChildren =
      workload.admitted && ingress
        ? appliedDigest(
            [...workload.applied, ...(ingress.applied ? [ingress.applied] : [])],
            [...workload.absent, ...(ingress.absent ? [ingress.absent] : [])],
          )
        : undefined;

    const { securityCondition, deployedCondition } = workloadConditions(es.spec.replicas, workload);
    const written = await this.writeStatus(es, {
      conditions: [deployedCondition, securityCondition, decision.accessibility, exposedCondition],
      url: exposedNow ? `https://${children.host}/` : undefined,
      internalUrl: children.internalUrl,
      accessibility: scan.summary,
      appliedChildren,
    });
    if (!asApplied && appliedChildren) this.reapply.applied(key);
    if (scan.recorded) this.scans.forget(key, scan.summary?.scanKey);
    if (written)
      await this.recordTransitions(es, wasExposed, exposedCondition, workload, decision.accessibility);
    const next = this.nextVisit(es, scan.state, scan.summary, now);
    // A used-up quota frees up without any change to the e-service: look again.
    if (exposedCondition.reason === "QuotaExceeded")
      return { requeueAfterMs: Math.min(next?.requeueAfterMs ?? quotaRetryMs, quotaRetryMs) };
    return next;
  }

  private async applyWorkload(children: EServiceChildren): Promise<Workload> {
    let deployment: Workload["deployment"];
    const applied: AppliedChild[] = [];
    const apply = async (desired: KubeObject) => {
      const stored = await this.client.apply(desired, { fieldManager });
      applied.push({ desired, version: appliedVersion(desired, stored) });
      return stored;
    };
    const { name, namespace } = this.workloadName(children);
    try {
      deployment = await applyChild(children.deployment, apply);
      await applyChild(children.service, apply);
      await applyChild(children.networkPolicy, apply);
      if (children.podDisruptionBudget) await applyChild(children.podDisruptionBudget, apply);
      else await this.client.delete(resources.podDisruptionBudget, name, namespace);
    } catch (error) {
      if (!(error instanceof RefusedChild)) throw error;
      if (error.byPolicy)
        return { admitted: false, refusal: "policy", message: error.message, applied: [], absent: [] };
      return {
        admitted: false,
        refusal: "invalid",
        message: invalidChildMessage("e-service", error, "change the e-service's spec"),
        applied: [],
        absent: [],
      };
    }
    return this.admitted(deployment, applied, this.absentWorkload(children));
  }

  /** The workload as the caches hold it (`applied`: its children's versions there), when they hold its Deployment. */
  private cachedWorkload(children: EServiceChildren, applied: AppliedChild[]): Workload | undefined {
    const { name, namespace } = this.workloadName(children);
    const deployment: Workload["deployment"] = this.cached(resources.deployment, name, namespace);
    if (!deployment) return undefined;
    return this.admitted(deployment, applied, this.absentWorkload(children));
  }

  private admitted(
    deployment: NonNullable<Workload["deployment"]>,
    applied: AppliedChild[],
    absent: string[],
  ): Workload {
    const status = deployment.status ?? {};
    const replicas = (deployment.spec as { replicas?: number } | undefined)?.replicas ?? 0;
    return {
      admitted: true,
      deployment,
      message: `Deployment, Service and NetworkPolicy applied; ${status.availableReplicas ?? 0}/${replicas} replicas available`,
      applied,
      absent,
    };
  }

  /**
   * Whether the e-service's children are as the last pass applied them: the digest it recorded equals the
   * one of the same desired children at the versions the caches hold now, with the Ingress or without it.
   */
  private asApplied(es: EServiceObject, children: EServiceChildren): AsApplied | undefined {
    const recorded = es.status?.appliedChildren;
    if (!recorded) return undefined;
    const { name, namespace } = this.workloadName(children);
    if (!children.podDisruptionBudget && this.cached(resources.podDisruptionBudget, name, namespace))
      return undefined;
    const current = this.workloadChildren(children).map((desired) => ({
      desired,
      version: appliedVersion(desired, this.cachedChild(desired)),
    }));
    const absent = this.absentWorkload(children);
    const ingressName = es.metadata.name as string;
    const ingress = this.cached(resources.ingress, ingressName, namespace);
    if (!ingress)
      return appliedDigest(current, [...absent, absentKey("Ingress", namespace, ingressName)]) === recorded
        ? { ingress: false, workload: current }
        : undefined;
    const withIngress = children.ingress && {
      desired: children.ingress,
      version: appliedVersion(children.ingress, ingress),
    };
    return withIngress && appliedDigest([...current, withIngress], absent) === recorded
      ? { ingress: true, workload: current }
      : undefined;
  }

  private workloadName(children: EServiceChildren) {
    return {
      name: children.deployment.metadata?.name as string,
      namespace: children.deployment.metadata?.namespace,
    };
  }

  private workloadChildren(children: EServiceChildren): KubeObject[] {
    return [
      children.deployment,
      children.service,
      children.networkPolicy,
      ...(children.podDisruptionBudget ? [children.podDisruptionBudget] : []),
    ];
  }

  private absentWorkload(children: EServiceChildren): string[] {
    const { name, namespace } = this.workloadName(children);
    return children.podDisruptionBudget ? [] : [absentKey("PodDisruptionBudget", namespace, name)];
  }

  private cachedChild(desired: KubeObject): KubeObject | undefined {
    const type = workloadTypes[desired.kind as string];
    const { name, namespace } = desired.metadata ?? {};
    return type && this.cached(type, name as string, namespace);
  }

  /** The accessibility result that counts now, starting a scan when one is due. */
  private async scanState(
    key: string,
    es: EServiceObject,
    tenant: Tenant,
    children: EServiceChildren,
    workload: Workload,
    now: Date,
  ): Promise<{ state: ScanState; summary?: AccessibilitySummary; recorded?: boolean }> {
    const currentKey = scanKey(es);
    const previous = es.status?.accessibility;
    const rejudged = previous && { ...previous, ...judge(previous, this.judgement(es, now)) };
    const stillValid = previous?.scanKey === currentKey;
    if (stillValid && !scanDue(es, now, this.settings.incompleteScanRetryMs) && rejudged)
      return { state: { state: "current", summary: rejudged }, summary: rejudged };
    // A scheduled rescan of unchanged inputs keeps the last result in force until it completes.
    const fallback = (message: string): { state: ScanState; summary?: AccessibilitySummary } =>
      stillValid && rejudged
        ? { state: { state: "current", summary: rejudged }, summary: rejudged }
        : { state: { state: "pending", message }, summary: previous };

    if (!workload.admitted)
      return fallback(
        workload.refusal === "invalid"
          ? "Not scanned: the workload's children could not all be applied"
          : "Not scanned: the workload was refused by admission",
      );
    let connectTo: ConnectTo | undefined;
    if (!es.spec.accessibility.previewUrl) {
      if (es.spec.replicas === 0)
        return {
          state: {
            state: "impossible",
            reason: "NothingToScan",
            message: "replicas is 0, so there are no pages to scan",
          },
          summary: previous,
        };
      const status = workload.deployment?.status ?? {};
      const rolledOut =
        (status.availableReplicas ?? 0) > 0 &&
        (status.updatedReplicas ?? 0) >= es.spec.replicas &&
        status.observedGeneration === workload.deployment?.metadata?.generation;
      if (!rolledOut) return fallback("Waiting for the new version to roll out before scanning it");
      const pods = await this.client.list<KubeObject>(resources.pod, {
        namespace: es.metadata.namespace,
        labelSelector: Object.entries(selectorLabels(es))
          .map(([k, v]) => `${k}=${v}`)
          .join(","),
      });
      connectTo = podToScan(es, pods.items);
      if (!connectTo) return fallback(`Waiting for a ready pod running ${es.spec.image} to scan`);
    }
    const planned = scanTarget(
      es,
      { url: children.internalUrl, ...(connectTo ? { connectTo } : {}) },
      this.settings,
    );
    if ("problem" in planned)
      return {
        state: { state: "impossible", reason: "PreviewUrlNotAllowed", message: planned.problem },
        summary: previous,
      };

    const outcome = this.scans.request(key, currentKey, planned.target);
    if (outcome.state !== "done")
      return fallback(`Scanning ${es.spec.accessibility.paths.length} pages (${outcome.state})`);

    const result = outcome.result;
    const base = summarise(result);
    const judged = judge(base, this.judgement(es, now));
    const summary: AccessibilitySummary = {
      standard: es.spec.accessibility.standard,
      image: es.spec.image,
      paths: es.spec.accessibility.paths,
      scanKey: currentKey,
      contentDigest: result.contentDigest,
      scannedAt: outcome.finishedAt.toISOString().replace(/\.\d+Z$/, "Z"),
      tiers: result.tiers,
      ...base,
      ...judged,
      report: accessibilityReportName(es.metadata.name as string),
      ...(result.errors.length
        ? {
            error: result.errors
              .map((e) => `${e.path}: ${e.message}`)
              .join("; ")
              .slice(0, 1000),
          }
        : {}),
    };
    await this.client.apply(
      accessibilityReport(es, tenant, result, judged.blockingRules, outcome.finishedAt),
      {
        fieldManager,
      },
    );
    return { state: { state: "current", summary }, summary, recorded: true };
  }

  private judgement(es: EServiceObject, now: Date) {
    return {
      waiver: es.spec.accessibility.waiver,
      enforceLookAndFeel: es.spec.accessibility.lookAndFeel === "enforce",
      now,
    };
  }

  private nextVisit(
    es: EServiceObject,
    state: ScanState,
    summary: AccessibilitySummary | undefined,
    now: Date,
  ): ReconcileResult | undefined {
    const times: number[] = [];
    const expires = summary
      ? scanExpiresAt(
          { ...es, status: { ...es.status, accessibility: summary } },
          this.settings.incompleteScanRetryMs,
        )
      : undefined;
    if (expires) times.push(expires.getTime() - now.getTime());
    const waiver = es.spec.accessibility.waiver;
    if (waiver && Date.parse(waiver.expires) > now.getTime())
      times.push(Date.parse(waiver.expires) - now.getTime());
    if (state.state === "pending") times.push(pendingBackstopMs);
    if (times.length === 0) return undefined;
    return { requeueAfterMs: Math.min(maxRequeueMs, Math.max(1_000, Math.min(...times))) };
  }

  private async recordTransitions(
    es: EServiceObject,
    wasExposed: boolean,
    exposed: EServiceCondition,
    workload: Workload,
    accessibility: EServiceCondition,
  ): Promise<void> {
    const isExposed = exposed.status === "True";
    if (isExposed && !wasExposed) await this.events.record(es, "Normal", "Published", exposed.message);
    if (!isExposed && wasExposed) await this.events.record(es, "Warning", "Withdrawn", exposed.message);
    if (exposed.reason === "ExposedWithRegression")
      await this.events.record(es, "Warning", "AccessibilityRegression", accessibility.message);
    if (!workload.admitted)
      await this.events.record(
        es,
        "Warning",
        workload.refusal === "invalid" ? "ChildInvalid" : "RefusedByAdmission",
        workload.message,
      );
  }

  /**
   * Writes the e-service's status when it changed; true when it wrote. Fields the update does not mention
   * keep their value; a mentioned but undefined field is removed.
   */
  private writeStatus(
    es: EServiceObject,
    update: { conditions: EServiceCondition[] } & Pick<
      EServiceStatus,
      "url" | "internalUrl" | "accessibility" | "appliedChildren"
    >,
  ): Promise<boolean> {
    const { conditions, ...fields } = update;
    return this.status.write(statusOwners.eservice, es, { fields, conditions });
  }
}

/**
 * Deployed and SecurityBaseline from how the workload's apply went. A child the API server found invalid
 * (not a policy's refusal) leaves the baseline unjudged: the children after it were never sent.
 */
function workloadConditions(
  replicas: number,
  workload: Workload,
): { securityCondition: EServiceCondition; deployedCondition: EServiceCondition } {
  if (workload.admitted)
    return {
      securityCondition: {
        type: "SecurityBaseline",
        status: "True",
        reason: "Admitted",
        message: "The workload passed admission (Pod Security restricted and the govhost baseline)",
      },
      deployedCondition: deployedFromRollout(replicas, workload.deployment?.status),
    };
  if (workload.refusal === "invalid")
    return {
      securityCondition: {
        type: "SecurityBaseline",
        status: "Unknown",
        reason: "NotJudged",
        message: "Not judged: the workload's children could not all be applied; see Deployed",
      },
      deployedCondition: {
        type: "Deployed",
        status: "False",
        reason: "ChildInvalid",
        message: workload.message,
      },
    };
  return {
    securityCondition: {
      type: "SecurityBaseline",
      status: "False",
      reason: "Refused",
      message: workload.message,
    },
    deployedCondition: {
      type: "Deployed",
      status: "False",
      reason: "RefusedByAdmission",
      message: "The workload was not deployed; see SecurityBaseline",
    },
  };
}

import type { Logger } from "pino";
import { isNotFound, type KubeClient, type KubeObject } from "../../lib/kube/client.ts";
import { formatMilli } from "../../lib/kube/quantity.ts";
import { type ResourceType, resources } from "../../lib/kube/resources.ts";
import { type DepartmentCondition, statusOwners } from "../api/conditions.ts";
import type { Department, DepartmentStatus } from "../api/department.ts";
import { fieldManager, labels } from "../api/group.ts";
import { deleteDepartmentStores } from "../performance/department-stores.ts";
import {
  type AppliedChild,
  appliedDigest,
  appliedVersion,
  type CachedChild,
} from "../runtime/applied-digest.ts";
import type { EventRecorder } from "../runtime/events.ts";
import { ReapplySchedule } from "../runtime/reapply-schedule.ts";
import type { StatusWriter } from "../runtime/status-writer.ts";
import type { ReconcileResult } from "../runtime/workqueue.ts";
import { childNames, type EnvironmentChildren, namespaceName, renderQuota, renderTenant } from "./desired.ts";
import {
  type Amounts,
  departmentTotals,
  formatAmounts,
  parseAmounts,
  planQuota,
  type QuotaObservation,
  safeTargets,
} from "./quota.ts";
import type { TenancySettings } from "./settings.ts";
import { departmentProblems } from "./validate.ts";

export const departmentFinalizer = "govhost.io/department-cleanup";

/**
 * Keeps a namespace's current limit while it is at most the safe target and still has at least half of the
 * room the target would give it: every quota write races with quota admission on the same object (a 409 for
 * the tenant), so limits move only when it matters. Lowering is never deferred.
 */
function withHysteresis(target: Amounts, observation: QuotaObservation): Amounts {
  const result: Amounts = {};
  for (const [resource, want] of Object.entries(target)) {
    const current = observation.specHard[resource];
    const used = observation.used[resource] ?? 0n;
    const keep = current !== undefined && current <= want && (current - used) * 2n >= want - used;
    result[resource] = keep ? current : want;
  }
  return result;
}

interface ResourceQuota extends KubeObject {
  spec?: { hard?: Record<string, string> };
  status?: { hard?: Record<string, string>; used?: Record<string, string> };
}

type DepartmentObject = Department & KubeObject;

/** The kinds of child the reconciler owns, to find one in its caches (metadata is enough). */
const childTypes: Record<string, ResourceType> = {
  Namespace: resources.namespace,
  LimitRange: resources.limitRange,
  NetworkPolicy: resources.networkPolicy,
  RoleBinding: resources.roleBinding,
};

function typeOf(object: KubeObject): ResourceType {
  const type = childTypes[object.kind as string];
  if (!type) throw new Error(`tenancy renders no ${String(object.kind)}`);
  return type;
}

/** "namespace/name" → [name, namespace]. */
const splitKey = (key: string): [string, string] => {
  const [namespace = "", name = ""] = key.split("/");
  return [name, namespace];
};

const sum = (values: bigint[]) => values.reduce((a, b) => a + b, 0n);
/**
 * Whether two sets of quantities are equal as amounts: the API server stores quantities in canonical form
 * ("5000" comes back as "5k", "1024Gi" as "1Ti"), so comparing the strings would rewrite an unchanged quota.
 */
const sameAmounts = (a: Amounts, b: Amounts) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

/**
 * Reconciles one Department into its namespaces and their guard rails. Idempotent: every step is a
 * server-side apply of desired state or a no-op, so it is safe to stop at any point and run again.
 */
export class DepartmentReconciler {
  private readonly client: KubeClient;
  private readonly settings: TenancySettings;
  private readonly events: EventRecorder;
  private readonly status: StatusWriter;
  private readonly log: Logger;
  private readonly cached: CachedChild;
  private readonly reapply: ReapplySchedule;

  constructor(options: {
    client: KubeClient;
    settings: TenancySettings;
    events: EventRecorder;
    status: StatusWriter;
    log: Logger;
    /** Without it every child is applied on every reconcile. */
    cached?: CachedChild;
  }) {
    this.client = options.client;
    this.settings = options.settings;
    this.events = options.events;
    this.status = options.status;
    this.log = options.log;
    this.cached = options.cached ?? (() => undefined);
    this.reapply = new ReapplySchedule(options.settings.reapplyEveryMs);
  }

  async reconcile(name: string, log: Logger = this.log): Promise<ReconcileResult | undefined> {
    let dept = await this.client.find<DepartmentObject>(resources.department, name);
    if (!dept) {
      this.reapply.forget(name);
      return undefined;
    }
    if (dept.metadata.deletionTimestamp) return this.finalize(dept);
    if (!dept.metadata.finalizers?.includes(departmentFinalizer)) {
      // The finalizer first (optimistic concurrency: a concurrent change fails this and retries), then
      // provisioning in the same pass with the object the patch returned.
      dept = await this.client.mergePatch<DepartmentObject>(resources.department, name, {
        metadata: {
          finalizers: [...(dept.metadata.finalizers ?? []), departmentFinalizer],
          resourceVersion: dept.metadata.resourceVersion,
        },
      });
    }

    const current = dept;
    try {
      return await this.provision(current);
    } catch (error) {
      // Surface persistent failures where people look; the work queue retries with backoff.
      const message = `Reconcile failed, retrying: ${error instanceof Error ? error.message : String(error)}`;
      await this.writeStatus(current, {
        conditions: [{ type: "Ready", status: "False", reason: "ReconcileError", message }],
      }).catch((writeError: unknown) => log.warn({ err: writeError }, "status write failed"));
      throw error;
    }
  }

  private async provision(dept: DepartmentObject): Promise<ReconcileResult | undefined> {
    const name = dept.metadata.name as string;
    const problems = departmentProblems(dept);
    if (problems.length > 0) {
      const message = `The department spec is invalid, nothing was changed: ${problems.join("; ")}`;
      if (
        await this.writeStatus(dept, {
          conditions: [{ type: "Ready", status: "False", reason: "InvalidSpec", message }],
        })
      ) {
        await this.events.record(dept, "Warning", "InvalidSpec", message);
      }
      return undefined;
    }

    const children = renderTenant(dept, this.settings);
    const absent = children.flatMap((c) =>
      c.removeRoleBindings.map((binding) => `${namespaceName(name, c.environment)}/${binding}`),
    );
    // Children still as the last full pass applied them are not applied again (applied-digest.ts), except
    // in the periodic full apply: a cold start then costs a read and a status check per department.
    const everything = this.reapply.due(name);
    if (!everything && this.unchangedSinceApplied(dept, children, absent)) {
      const quota = await this.reconcileQuota(
        dept,
        children.map((c) => c.environment),
      );
      return this.finish(dept, children, [], [], quota);
    }

    const applied: AppliedChild[] = [];
    const apply = async (object: KubeObject) => {
      const stored = await this.client.apply(object, { fieldManager });
      applied.push({ desired: object, version: appliedVersion(object, stored) });
    };
    const conflicts: string[] = [];
    const terminating: string[] = [];
    for (const { namespace } of children) {
      const nsName = namespace.metadata?.name as string;
      // Namespaces the cache does not hold (not the platform's, or not seen yet) are read, so a conflict
      // with someone else's namespace is never missed.
      const existing =
        this.cached(resources.namespace, nsName) ??
        (await this.client.find<KubeObject>(resources.namespace, nsName));
      if (existing && !this.ownedBy(existing, dept)) {
        conflicts.push(nsName);
        continue;
      }
      if (existing?.metadata?.deletionTimestamp) {
        terminating.push(nsName);
        continue;
      }
      await apply(namespace);
      if (!existing)
        await this.events.record(dept, "Normal", "NamespaceCreated", `Created namespace ${nsName}`);
    }
    const ready = children.filter((c) => {
      const ns = c.namespace.metadata?.name as string;
      return !conflicts.includes(ns) && !terminating.includes(ns);
    });

    const quota = await this.reconcileQuota(
      dept,
      ready.map((c) => c.environment),
    );
    for (const child of ready) {
      for (const object of child.objects) await apply(object);
      const namespace = namespaceName(name, child.environment);
      for (const binding of child.removeRoleBindings)
        await this.client.delete(resources.roleBinding, binding, namespace);
    }
    const complete = conflicts.length === 0 && terminating.length === 0;
    if (complete) this.reapply.applied(name);
    return this.finish(
      dept,
      ready,
      conflicts,
      terminating,
      quota,
      complete ? appliedDigest(applied, absent) : undefined,
    );
  }

  /**
   * Whether the department's children are as the last full pass applied them: the digest it recorded
   * equals the one of the same desired state at the versions the caches hold now (see applied-digest.ts).
   */
  private unchangedSinceApplied(dept: DepartmentObject, children: EnvironmentChildren[], absent: string[]) {
    const recorded = dept.status?.appliedChildren;
    if (!recorded) return false;
    if (absent.some((key) => this.cached(resources.roleBinding, ...splitKey(key)) !== undefined))
      return false;
    const current = children
      .flatMap((c) => [c.namespace, ...c.objects])
      .map((desired) => {
        const { name, namespace } = desired.metadata ?? {};
        const cached = this.cached(typeOf(desired), name as string, namespace);
        return { desired, version: appliedVersion(desired, cached) };
      });
    return appliedDigest(current, absent) === recorded;
  }

  private async finish(
    dept: DepartmentObject,
    ready: EnvironmentChildren[],
    conflicts: string[],
    terminating: string[],
    quota: Awaited<ReturnType<DepartmentReconciler["reconcileQuota"]>>,
    appliedChildren?: string,
  ): Promise<ReconcileResult | undefined> {
    const conditions: DepartmentCondition[] = [];
    if (conflicts.length > 0) {
      conditions.push({
        type: "Ready",
        status: "False",
        reason: "NamespaceConflict",
        message: `Namespaces ${conflicts.join(", ")} already exist and are not owned by this department; an operator must rename or remove them`,
      });
    } else if (terminating.length > 0) {
      conditions.push({
        type: "Ready",
        status: "False",
        reason: "NamespaceTerminating",
        message: `Waiting for namespaces ${terminating.join(", ")} to finish terminating before re-creating them`,
      });
    } else {
      conditions.push({
        type: "Ready",
        status: "True",
        reason: "Provisioned",
        message: `${ready.length} namespaces provisioned with quota, limits, network policies and role bindings`,
      });
    }
    conditions.push(quota.condition);
    conditions.push(
      dept.spec.suspended
        ? {
            type: "Suspended",
            status: "True",
            reason: "SuspendedBySpec",
            message: "New pods are refused (pod quota 0); existing objects and data are kept",
          }
        : {
            type: "Suspended",
            status: "False",
            reason: "Active",
            message: "The department may run workloads",
          },
    );
    const wasSuspended = dept.status?.conditions?.find((c) => c.type === "Suspended")?.status === "True";
    if (Boolean(dept.spec.suspended) !== wasSuspended && dept.status?.conditions) {
      await this.events.record(
        dept,
        "Normal",
        dept.spec.suspended ? "Suspended" : "Resumed",
        dept.spec.suspended ? "Department suspended: new pods are refused" : "Department resumed",
      );
    }
    await this.writeStatus(dept, {
      conditions,
      namespaces: ready.map((c) => c.namespace.metadata?.name as string),
      quota: quota.status,
      ...(appliedChildren ? { appliedChildren } : {}),
    });
    if (terminating.length > 0) return { requeueAfterMs: 2_000 };
    return quota.converged ? undefined : { requeueAfterMs: 1_000 };
  }

  /**
   * Usage moved in one of the department's namespaces (every pod that starts or ends moves it): only the
   * tenant-wide quota is planned again and its part of the status written. A full reconcile would apply
   * every child of every namespace for each pod. Anything but the provisioned steady state (namespaces
   * still being made, a spec that changed since) is handed to the full reconcile (`reconcileFully`).
   */
  async rebalance(name: string, reconcileFully: () => void): Promise<ReconcileResult | undefined> {
    const dept = await this.client.find<DepartmentObject>(resources.department, name);
    if (!dept || dept.metadata.deletionTimestamp) return undefined;
    const provisioned = new Set(dept.status?.namespaces ?? []);
    const environments = dept.spec.environments;
    const steady =
      departmentProblems(dept).length === 0 &&
      dept.status?.observedGeneration === dept.metadata.generation &&
      provisioned.size === environments.length &&
      environments.every((environment) => provisioned.has(namespaceName(name, environment)));
    if (!steady) {
      reconcileFully();
      return undefined;
    }
    const quota = await this.reconcileQuota(dept, environments);
    await this.writeStatus(dept, { conditions: [quota.condition], quota: quota.status });
    return quota.converged ? undefined : { requeueAfterMs: 1_000 };
  }

  private ownedBy(object: KubeObject, dept: DepartmentObject): boolean {
    const refs = (object.metadata?.ownerReferences ?? []) as { uid?: string }[];
    return refs.some((ref) => ref.uid === dept.metadata.uid);
  }

  /** Plans and applies the tenant-wide quota across the department's namespaces (see quota.ts). */
  private async reconcileQuota(dept: DepartmentObject, environments: string[]) {
    const name = dept.metadata.name as string;
    const totals = departmentTotals(dept.spec.quota);
    const quotas = await this.client.list<ResourceQuota>(resources.resourceQuota, {
      labelSelector: `${labels.department}=${name}`,
    });
    const observed: QuotaObservation[] = quotas.items
      .filter((q) => q.metadata?.name === childNames.quota)
      .map((q) => ({
        environment: q.metadata?.labels?.[labels.environment] ?? "",
        specHard: parseAmounts(q.spec?.hard),
        statusHard: parseAmounts(q.status?.hard),
        used: parseAmounts(q.status?.used),
      }));
    const active = new Set(environments);
    // Namespaces of environments no longer in the spec keep their data and usage but may not grow.
    const retired = observed.filter((o) => !active.has(o.environment) && o.environment);
    const retiredUse = (resource: string) => sum(retired.map((o) => o.used[resource] ?? 0n));
    const available: Amounts = Object.fromEntries(
      Object.entries(totals).map(([resource, total]) => [resource, total - retiredUse(resource)]),
    );
    const usedByEnv = Object.fromEntries(observed.map((o) => [o.environment, o.used]));
    const plan = planQuota(available, environments, dept.spec.quota.environmentWeights ?? {}, usedByEnv);
    const targets = safeTargets(
      available,
      plan,
      observed.filter((o) => active.has(o.environment)),
    );
    for (const o of retired)
      targets[o.environment] = Object.fromEntries(Object.keys(totals).map((r) => [r, o.used[r] ?? 0n]));

    let converged = true;
    const allocated: Record<string, Record<string, string>> = {};
    for (const [environment, safeTarget] of Object.entries(targets)) {
      const current = quotas.items.find((q) => q.metadata?.labels?.[labels.environment] === environment);
      const observation = observed.find((o) => o.environment === environment);
      const target = observation ? withHysteresis(safeTarget, observation) : safeTarget;
      const hard = formatAmounts(target);
      if (dept.spec.suspended || !active.has(environment)) hard.pods = formatMilli(0n);
      allocated[environment] = hard;
      const desired = renderQuota(dept, environment, hard);
      const desiredHard = parseAmounts((desired.spec as { hard: Record<string, string> }).hard);
      if (!current || !sameAmounts(parseAmounts(current.spec?.hard), desiredHard)) {
        await this.client.apply(desired, { fieldManager });
      }
      if (active.has(environment) && !sameAmounts(safeTarget, plan[environment] ?? {})) converged = false;
      // Quota admission enforces status.hard, which the quota controller copies from spec a moment after a
      // write: until then a namespace may still refuse what its new limit allows.
      if (!current || !sameAmounts(parseAmounts(current.status?.hard), desiredHard)) converged = false;
    }

    const used: Amounts = {};
    for (const resource of Object.keys(totals))
      used[resource] = sum(observed.map((o) => o.used[resource] ?? 0n));
    const over = Object.keys(totals).filter((r) => (used[r] ?? 0n) > (totals[r] ?? 0n));
    const condition: DepartmentCondition =
      over.length > 0
        ? {
            type: "QuotaHealthy",
            status: "False",
            reason: "OverQuota",
            message: over
              .map((r) => `${r}: ${formatMilli(used[r] ?? 0n)} used of ${formatMilli(totals[r] ?? 0n)}`)
              .join("; ")
              .concat(" (no namespace may grow until usage falls below the department quota)"),
          }
        : {
            type: "QuotaHealthy",
            status: "True",
            reason: converged ? "WithinQuota" : "Rebalancing",
            message: converged
              ? "Usage is within the department quota"
              : "Usage is within the department quota; headroom is being moved between environments",
          };
    return { condition, converged, status: { used: formatAmounts(used), allocated } };
  }

  /**
   * Deletes the department's namespaces, then, once they are gone, its service-performance stores, and
   * releases the finalizer.
   */
  private async finalize(dept: DepartmentObject): Promise<ReconcileResult | undefined> {
    const name = dept.metadata.name as string;
    if (!dept.metadata.finalizers?.includes(departmentFinalizer)) return undefined;
    const namespaces = await this.client.list<KubeObject>(resources.namespace, {
      labelSelector: `${labels.department}=${name}`,
    });
    const owned = namespaces.items.filter((ns) => this.ownedBy(ns, dept));
    for (const ns of owned) {
      if (!ns.metadata?.deletionTimestamp)
        await this.client.delete(resources.namespace, ns.metadata?.name as string);
    }
    if (owned.length > 0) {
      await this.writeStatus(dept, {
        conditions: [
          {
            type: "Ready",
            status: "False",
            reason: "Deleting",
            message: `Deleting namespaces ${owned.map((n) => n.metadata?.name).join(", ")}`,
          },
        ],
      });
      return { requeueAfterMs: 2_000 };
    }
    await deleteDepartmentStores(this.client, name);
    try {
      await this.client.mergePatch(resources.department, name, {
        metadata: {
          finalizers: (dept.metadata.finalizers ?? []).filter((f) => f !== departmentFinalizer),
          resourceVersion: dept.metadata.resourceVersion,
        },
      });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    return undefined;
  }

  /** Writes this reconciler's part of the status when it changed; true when it wrote. */
  private writeStatus(
    dept: DepartmentObject,
    update: { conditions: DepartmentCondition[] } & Pick<
      DepartmentStatus,
      "namespaces" | "quota" | "appliedChildren"
    >,
  ): Promise<boolean> {
    const { conditions, ...fields } = update;
    // Fields the update leaves undefined keep their value.
    const set = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
    return this.status.write(statusOwners.tenancy, dept, { fields: set, conditions });
  }
}

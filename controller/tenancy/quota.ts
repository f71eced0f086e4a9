import { formatMilli, parseMilli } from "../../lib/kube/quantity.ts";
import { type DepartmentQuota, quotaResourceNames } from "../api/department.ts";

// Tenant-wide quota. A department's quota holds across all of its namespaces together. Each namespace gets
// a ResourceQuota whose hard limit is its own usage plus a weighted share of the department's remaining
// headroom; the shares add up to the headroom, so the hard limits add up to the department quota and the
// API server's quota admission enforces the total atomically per namespace. Rebalancing follows every
// usage change. Lowering a limit takes effect only once the quota controller copies it to status.hard, so
// increases are granted only against what every other namespace could still reach (see safeTargets).

/** ResourceQuota resource names, in thousandths (see quantity.ts), keyed by ResourceQuota resource name. */
export type Amounts = Record<string, bigint>;

/** Maps the department's quota fields to the ResourceQuota resources that enforce them. */
export function departmentTotals(quota: DepartmentQuota): Amounts {
  const count = (n: number) => BigInt(n) * 1000n;
  const memory = parseMilli(quota.memory);
  return {
    [quotaResourceNames.cpu]: parseMilli(quota.cpu),
    [quotaResourceNames.memory]: memory,
    "limits.memory": memory,
    [quotaResourceNames.storage]: parseMilli(quota.storage),
    [quotaResourceNames.pods]: count(quota.pods),
    [quotaResourceNames.eServices]: count(quota.eServices),
    [quotaResourceNames.publicEndpoints]: count(quota.publicEndpoints),
  };
}

/** What a namespace's ResourceQuota says right now (parsed). */
export interface QuotaObservation {
  environment: string;
  specHard: Amounts;
  statusHard: Amounts;
  used: Amounts;
}

const get = (amounts: Amounts, resource: string) => amounts[resource] ?? 0n;
const max = (...values: bigint[]) => values.reduce((a, b) => (b > a ? b : a));
const min = (...values: bigint[]) => values.reduce((a, b) => (b < a ? b : a));

/** Smallest step of a resource's limit: CPU in millicores, everything else (counts, bytes) in whole units. */
export function granularity(resource: string): bigint {
  return resource.endsWith("cpu") ? 1n : 1000n;
}

/**
 * The ideal hard limits: usage plus a weighted share of the headroom (floor division in whole steps of the
 * resource; the remainder goes to the heaviest environment, earliest on ties). With no headroom left,
 * limits freeze at usage.
 */
export function planQuota(
  totals: Amounts,
  environments: string[],
  weights: Record<string, number>,
  used: Record<string, Amounts>,
): Record<string, Amounts> {
  const weightOf = (env: string) => BigInt(weights[env] ?? 1);
  const weightSum = environments.reduce((sum, env) => sum + weightOf(env), 0n);
  const heaviest = environments.reduce(
    (best, env) => (weightOf(env) > weightOf(best) ? env : best),
    environments[0] ?? "",
  );
  const plan: Record<string, Amounts> = Object.fromEntries(environments.map((env) => [env, {}]));
  for (const [resource, total] of Object.entries(totals)) {
    const usedTotal = environments.reduce((sum, env) => sum + get(used[env] ?? {}, resource), 0n);
    const headroom = max(total - usedTotal, 0n);
    const step = granularity(resource);
    let distributed = 0n;
    for (const env of environments) {
      const share = weightSum === 0n ? 0n : ((headroom * weightOf(env)) / weightSum / step) * step;
      distributed += share;
      (plan[env] as Amounts)[resource] = get(used[env] ?? {}, resource) + share;
    }
    if (heaviest)
      (plan[heaviest] as Amounts)[resource] =
        get(plan[heaviest] as Amounts, resource) + headroom - distributed;
  }
  return plan;
}

/**
 * The limits to write now: decreases at once; increases only as far as the department total allows when
 * every other namespace is assumed to reach the highest limit that may still be in force for it
 * (max of its spec, its status and its usage). Never exceeds the plan. Applying these repeatedly converges
 * on the plan once the quota controller has confirmed the decreases.
 */
export function safeTargets(
  totals: Amounts,
  plan: Record<string, Amounts>,
  observed: QuotaObservation[],
): Record<string, Amounts> {
  const byEnv = new Map(observed.map((o) => [o.environment, o]));
  const envs = Object.keys(plan);
  const targets: Record<string, Amounts> = {};
  for (const env of envs) {
    const desired = plan[env] as Amounts;
    const current = byEnv.get(env);
    targets[env] = Object.fromEntries(
      Object.entries(desired).map(([r, want]) => [
        r,
        current && r in current.specHard ? min(want, get(current.specHard, r)) : 0n,
      ]),
    );
  }
  const bound = (env: string, resource: string) => {
    const o = byEnv.get(env);
    const target = get(targets[env] as Amounts, resource);
    return o ? max(target, get(o.statusHard, resource), get(o.used, resource)) : target;
  };
  for (const [resource, total] of Object.entries(totals)) {
    for (const env of envs) {
      const others = envs.filter((e) => e !== env).reduce((sum, e) => sum + bound(e, resource), 0n);
      const allowed = total - others;
      const want = get(plan[env] as Amounts, resource);
      const target = targets[env] as Amounts;
      if (want > get(target, resource) && allowed > get(target, resource))
        target[resource] = min(want, allowed);
    }
  }
  return targets;
}

export function parseAmounts(values: Record<string, string> | undefined): Amounts {
  return Object.fromEntries(Object.entries(values ?? {}).map(([k, v]) => [k, parseMilli(v)]));
}

export function formatAmounts(amounts: Amounts): Record<string, string> {
  return Object.fromEntries(Object.entries(amounts).map(([k, v]) => [k, formatMilli(v)]));
}

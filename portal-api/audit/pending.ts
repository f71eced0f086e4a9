import { namespaceName } from "../../controller/api/group.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { type ResourceType, resources } from "../../lib/kube/resources.ts";
import type { AuditRecord, AuditRecordInput } from "./chain.ts";

// A write is recorded (`request`) before it is made and answered (`response`) after. A crash in between
// leaves the request unanswered: the write may or may not have been made. Before a restarted API takes
// requests it looks each such write up in the cluster and records what it found (`audit.pending-resolved`,
// same request id), so the trail says of every write whether it was made.

/** made/not-made: a create; done/not-done: a delete; unknown: a change whose result cannot be told apart. */
export type PendingVerdict = "made" | "not-made" | "done" | "not-done" | "unknown";

type Params = Record<string, string>;

interface WriteLookup {
  /** What the write does to the object it names. */
  effect: "create" | "update" | "delete";
  resource: ResourceType;
  /** The object's name and namespace, from the route's parameters and the body's name (creates). */
  locate(params: Params, object: string | undefined): { name?: string | undefined; namespace?: string };
}

const environment = (p: Params) => ({ namespace: namespaceName(p.dept ?? "", p.env ?? "") });
const api = "/api/v1";
const eservices = `${api}/departments/:dept/environments/:env/eservices`;
const instances = `${api}/departments/:dept/environments/:env/shared-services`;

/** Every signed-in write of the API whose object can be looked up, by its audited action. */
export const resolvableWrites: Record<string, WriteLookup> = {
  [`POST ${api}/departments`]: {
    effect: "create",
    resource: resources.department,
    locate: (_, object) => ({ name: object }),
  },
  [`PATCH ${api}/departments/:dept`]: {
    effect: "update",
    resource: resources.department,
    locate: (p) => ({ name: p.dept }),
  },
  [`DELETE ${api}/departments/:dept`]: {
    effect: "delete",
    resource: resources.department,
    locate: (p) => ({ name: p.dept }),
  },
  [`POST ${eservices}`]: {
    effect: "create",
    resource: resources.eservice,
    locate: (p, object) => ({ name: object, ...environment(p) }),
  },
  [`PATCH ${eservices}/:name`]: {
    effect: "update",
    resource: resources.eservice,
    locate: (p) => ({ name: p.name, ...environment(p) }),
  },
  // {name}:expose and {name}:withdraw
  [`POST ${eservices}/:action`]: {
    effect: "update",
    resource: resources.eservice,
    locate: (p) => ({ name: p.action?.split(":")[0], ...environment(p) }),
  },
  [`DELETE ${eservices}/:name`]: {
    effect: "delete",
    resource: resources.eservice,
    locate: (p) => ({ name: p.name, ...environment(p) }),
  },
  [`POST ${instances}`]: {
    effect: "create",
    resource: resources.sharedServiceInstance,
    locate: (p, object) => ({ name: object, ...environment(p) }),
  },
  [`PATCH ${instances}/:name`]: {
    effect: "update",
    resource: resources.sharedServiceInstance,
    locate: (p) => ({ name: p.name, ...environment(p) }),
  },
  [`DELETE ${instances}/:name`]: {
    effect: "delete",
    resource: resources.sharedServiceInstance,
    locate: (p) => ({ name: p.name, ...environment(p) }),
  },
  [`POST ${api}/departments/:dept/environments/:env/api-grants`]: {
    effect: "create",
    resource: resources.apiGrant,
    locate: (p, object) => ({ name: object, ...environment(p) }),
  },
};

/**
 * Signed-in writes recorded as `unknown` by design, and why: their object has a generated name, lives in a
 * shared store, or the write is a web form whose API write is recorded (and resolved) under its own id.
 */
export const unresolvableWrites: Record<string, string> = {
  [`POST ${api}/departments/:dept/environments/:env/api-exports/:name/decisions`]:
    "a decision is stored under a generated name",
  [`PUT ${api}/departments/:dept/environments/:env/eservices/:name/other-channels/:period`]:
    "other channels' figures are a month in the department's store, rewritten whole",
};

/** The route's parameters, read from the request path by the pattern the action names. */
function paramsOf(pattern: string, path: string): Params | undefined {
  const want = pattern.split("/");
  const got = path.split("/");
  if (want.length !== got.length) return undefined;
  const params: Params = {};
  for (const [i, segment] of want.entries()) {
    const value = got[i] ?? "";
    if (segment.startsWith(":")) params[segment.slice(1)] = decodeURIComponent(value);
    else if (segment !== value) return undefined;
  }
  return params;
}

interface Resolution {
  verdict: PendingVerdict;
  detail: string;
  spec?: unknown;
}

const seconds = (time: string) => Math.floor(Date.parse(time) / 1000);

async function resolve(kube: KubeClient, pending: AuditRecord): Promise<Resolution> {
  const pattern = pending.action.slice(pending.action.indexOf(" ") + 1);
  const lookup = resolvableWrites[pending.action];
  const params = lookup ? paramsOf(pattern, pending.target.name) : undefined;
  const where = lookup && params ? lookup.locate(params, pending.target.object) : undefined;
  if (!lookup || !where?.name) {
    const why = unresolvableWrites[pending.action] ?? "the write is not one the API can look up";
    return { verdict: "unknown", detail: `cannot tell whether it was made: ${why}` };
  }
  const found = await kube.find<KubeObject & { spec?: unknown }>(
    lookup.resource,
    where.name,
    where.namespace,
  );
  const what = `${lookup.resource.kind} ${where.namespace ? `${where.namespace}/` : ""}${where.name}`;
  if (lookup.effect === "create") {
    // Made by this write only if created no earlier than it was recorded (the API server counts seconds);
    // one that existed before was refused as a conflict.
    const created = found?.metadata?.creationTimestamp;
    const made = typeof created === "string" && seconds(created) >= seconds(pending.time);
    return made
      ? { verdict: "made", detail: `${what} exists, created at ${created}` }
      : {
          verdict: "not-made",
          detail: found ? `${what} existed before the write (created ${created})` : `${what} does not exist`,
        };
  }
  if (lookup.effect === "delete") {
    const gone = !found || found.metadata?.deletionTimestamp !== undefined;
    return gone
      ? { verdict: "done", detail: found ? `${what} is being deleted` : `${what} no longer exists` }
      : { verdict: "not-done", detail: `${what} exists and is not being deleted` };
  }
  return found
    ? {
        verdict: "unknown",
        detail: `a change cannot be told from the object; ${what} as found is recorded`,
        spec: found.spec,
      }
    : { verdict: "unknown", detail: `${what} does not exist` };
}

export interface PendingResolutionLog {
  unanswered(): AuditRecord[];
  append(input: AuditRecordInput): Promise<AuditRecord>;
}

/**
 * Records a verdict for every write a crash left unanswered. A write whose lookup fails (the API server is
 * unreachable) stays pending and is tried again at the next start. Returns how many were resolved.
 */
export async function resolvePendingWrites(
  kube: KubeClient,
  log: PendingResolutionLog,
  now: () => Date = () => new Date(),
): Promise<{ resolved: number; failed: number }> {
  let resolved = 0;
  let failed = 0;
  for (const pending of log.unanswered()) {
    let resolution: Resolution;
    try {
      resolution = await resolve(kube, pending);
    } catch {
      failed++;
      continue;
    }
    await log.append({
      time: now().toISOString(),
      requestId: pending.requestId,
      ...(pending.clientRequestId !== undefined ? { clientRequestId: pending.clientRequestId } : {}),
      stage: "system",
      actor: { username: "govhost-portal-api", subject: "", roles: [] },
      action: "audit.pending-resolved",
      target: pending.target,
      after: {
        verdict: resolution.verdict,
        request: { seq: pending.seq, action: pending.action, actor: pending.actor.username },
        ...(resolution.spec !== undefined ? { spec: resolution.spec } : {}),
      },
      result: { outcome: "success", detail: `${resolution.verdict}: ${resolution.detail}` },
    });
    resolved++;
  }
  return { resolved, failed };
}

import type { KubeObject } from "../../lib/kube/client.ts";
import type { ApiGrant } from "../api/api-exchange.ts";
import { gatewayPath, parseGatewayPath } from "../api/api-gateway.ts";
import { namespaceName } from "../api/group.ts";

// The API gateway's decision about one call, as a pure function of who calls (from their token), what they
// call (the path) and the grants in the caller's namespace. Only a grant the controller has reported Active
// for its current generation, and not past its end, lets a call through: a consumer that edits its grant
// (e.g. stretches expiresAt) is refused until the grant is decided again.

type Grant = ApiGrant & KubeObject;

/** A caller the API server vouched for: the namespace and service account of a pod's token. */
export interface Caller {
  namespace: string;
  serviceAccount: string;
}

export type Verdict =
  | { outcome: "allowed"; grant: Grant; consumer: string }
  | {
      outcome: "refused";
      status: 400 | 401 | 403;
      title: string;
      detail: string;
      /** The grant the refusal is counted on, when the caller has one for this export. */
      grant?: Grant;
    };

/** Whether a grant lets calls through at `now`. */
export function grantOpen(grant: Grant, now: Date): boolean {
  return (
    grant.status?.phase === "Active" &&
    grant.status.observedGeneration === grant.metadata.generation &&
    Date.parse(grant.spec.expiresAt) > now.getTime()
  );
}

export function judgeCall(input: {
  uri: string;
  caller: Caller | undefined;
  /** Grants in the caller's namespace. */
  grants: Grant[];
  now: Date;
}): Verdict {
  const target = parseGatewayPath(input.uri);
  if (!target)
    return {
      outcome: "refused",
      status: 400,
      title: "Not an API path",
      detail: "Call /<provider namespace>/<export>/… as the API catalogue shows",
    };
  const { caller } = input;
  if (!caller)
    return {
      outcome: "refused",
      status: 401,
      title: "No valid service-account token",
      detail:
        "Send Authorization: Bearer <a projected service-account token with audience govhost-api-gateway>",
    };
  const forExport = input.grants
    .filter(
      (g) =>
        g.metadata.namespace === caller.namespace &&
        g.spec.export.name === target.export &&
        namespaceName(g.spec.export.department, g.spec.export.environment) === target.namespace,
    )
    .sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
  const open = forExport.find((g) => grantOpen(g, input.now));
  if (open) return { outcome: "allowed", grant: open, consumer: caller.namespace };
  const where = gatewayPath(target.namespace, target.export);
  // A refusal is counted on the caller's newest request for the export (the one it is most likely using).
  const closed = forExport
    .slice()
    .sort((a, b) =>
      (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? ""),
    )[0];
  return closed
    ? {
        outcome: "refused",
        status: 403,
        title: "Grant not active",
        detail: `ApiGrant ${closed.metadata.name} in ${caller.namespace} is ${closed.status?.phase ?? "not yet reconciled"}${closed.status?.phase === "Active" ? " for an earlier version of the request, or has ended" : ""}; ${where} needs an active grant`,
        grant: closed,
      }
    : {
        outcome: "refused",
        status: 403,
        title: "No grant",
        detail: `${caller.namespace} has no ApiGrant for ${where}; ask for access in the API catalogue`,
      };
}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "pino";
import { Counter, type Registry } from "prom-client";
import { KubeApiError, type KubeClient, type KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import type { ApiGrant } from "../api/api-exchange.ts";
import { apiGateway } from "../api/api-gateway.ts";
import { namespaceName } from "../api/group.ts";
import { CallCounter, type CallDelta } from "./call-counter.ts";
import { grantOpen, judgeCall } from "./gateway-check.ts";
import type { TokenReviewer } from "./token-review.ts";

// The controller's side of the API gateway: Traefik's forwardAuth asks here about every call (the caller's
// headers, the path in X-Forwarded-Uri). 2xx lets the call through, with the caller's identity in headers
// Traefik copies onto the request; anything else is returned to the caller as is (problem+json).

type Grant = ApiGrant & KubeObject;

const conflictRetries = 8;

/**
 * Adds a batch of calls to a grant's stored counts, judging the grant as the API server has it now (the
 * cache may lag an edit by a moment); the write is conditional on that version, so a change in between is
 * read again. Resolves to whether the grant was open: if not, the batch's allowed calls are counted refused.
 */
export async function addCalls(client: KubeClient, key: string, delta: CallDelta): Promise<boolean> {
  const [namespace, name] = key.split("/") as [string, string];
  for (let attempt = 1; ; attempt++) {
    const grant = await client.get<Grant>(resources.apiGrant, name, namespace);
    const open = grantOpen(grant, delta.lastCallAt);
    const before = grant.status?.calls ?? { allowed: 0, refused: 0 };
    const at = delta.lastCallAt.toISOString();
    const calls = {
      allowed: before.allowed + (open ? delta.allowed : 0),
      refused: before.refused + delta.refused + (open ? 0 : delta.allowed),
      lastCallAt: before.lastCallAt && before.lastCallAt > at ? before.lastCallAt : at,
    };
    try {
      await client.mergePatch(
        resources.apiGrant,
        name,
        { metadata: { resourceVersion: grant.metadata.resourceVersion }, status: { calls } },
        { namespace, subresource: "status" },
      );
      return open;
    } catch (error) {
      if (!(error instanceof KubeApiError && error.code === 409) || attempt >= conflictRetries) throw error;
    }
  }
}

export interface GatewayServerOptions {
  host: string;
  port: number;
  client: KubeClient;
  reviewer: TokenReviewer;
  /** Grants in one namespace, from the controller's cache. */
  grantsIn: (namespace: string) => Grant[];
  registry: Registry;
  log: Logger;
  now?: () => Date;
}

function problem(res: ServerResponse, status: number, title: string, detail: string): void {
  res
    .writeHead(status, { "content-type": "application/problem+json", "cache-control": "no-store" })
    .end(JSON.stringify({ type: "about:blank", title, status, detail }));
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function startGatewayServer(options: GatewayServerOptions): Promise<Server> {
  const { client, reviewer, log } = options;
  const now = options.now ?? (() => new Date());
  const counter = new CallCounter((key, delta) => addCalls(client, key, delta));
  const calls = new Counter({
    name: "govhost_api_gateway_calls_total",
    help: "Calls the API gateway checked, by provider namespace, export, consumer namespace and outcome",
    labelNames: ["provider_namespace", "export", "consumer_namespace", "outcome"],
    registers: [options.registry],
  });
  // Refusals with no grant to name (no valid token, no grant, no export in the path): the path is the
  // caller's to choose, so it never becomes a label.
  const unattributed = new Counter({
    name: "govhost_api_gateway_unattributed_refusals_total",
    help: "Calls the API gateway refused that name no grant of the caller, by status",
    labelNames: ["status"],
    registers: [options.registry],
  });

  const answer = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const bearer = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header(req, "authorization") ?? "");
    let caller: Awaited<ReturnType<TokenReviewer["review"]>>;
    try {
      caller = bearer ? await reviewer.review(bearer[1] as string) : undefined;
    } catch (error) {
      log.warn({ err: error }, "API gateway: token review failed");
      return problem(res, 503, "Cannot check the caller now", "The API server did not answer; try again");
    }
    const at = now();
    const verdict = judgeCall({
      uri: header(req, "x-forwarded-uri") ?? "",
      caller,
      grants: caller ? options.grantsIn(caller.namespace) : [],
      now: at,
    });
    const grant = verdict.grant;
    const key = grant ? `${grant.metadata.namespace}/${grant.metadata.name}` : undefined;
    const count = (outcome: "allowed" | "refused") => {
      if (grant)
        calls.inc({
          provider_namespace: namespaceName(grant.spec.export.department, grant.spec.export.environment),
          export: grant.spec.export.name,
          consumer_namespace: grant.metadata.namespace as string,
          outcome,
        });
    };
    if (verdict.outcome === "allowed") {
      let open: boolean;
      try {
        open = await counter.record(key as string, "allowed", at);
      } catch (error) {
        // Not counted, so not let through: the caller may try again.
        log.warn({ err: error, grant: key }, "API gateway: could not count a call");
        return problem(res, 503, "Cannot count the call now", "The call was not made; try again");
      }
      count(open ? "allowed" : "refused");
      if (!open)
        return problem(
          res,
          403,
          "Grant not active",
          `ApiGrant ${grant?.metadata.name} in ${verdict.consumer} changed and is not active for its current version; it needs a new decision`,
        );
      res
        .writeHead(200, {
          [apiGateway.consumerHeader]: verdict.consumer,
          [apiGateway.grantHeader]: grant?.metadata.name as string,
        })
        .end();
      return;
    }
    count("refused");
    if (key)
      await counter.record(key, "refused", at).catch((error: unknown) => {
        log.warn({ err: error, grant: key }, "API gateway: could not count a refused call");
      });
    else unattributed.inc({ status: String(verdict.status) });
    problem(res, verdict.status, verdict.title, verdict.detail);
  };

  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== apiGateway.verifyPath) return problem(res, 404, "Not found", `Use ${apiGateway.verifyPath}`);
    answer(req, res).catch((error: unknown) => {
      log.error({ err: error }, "API gateway: check failed");
      if (!res.headersSent) problem(res, 500, "Check failed", "The call was not made");
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve(server));
  });
}

import { createHash, randomUUID } from "node:crypto";
import helmet from "@fastify/helmet";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import { Histogram, type Registry } from "prom-client";
import type { KubeClient } from "../controller/runtime/kube-client.ts";
import type { AuditRecordInput } from "./audit/chain.ts";
import type { AuditLog } from "./audit/store.ts";
import { type DepartmentGroups, type Principal, principalFrom, type RoleSettings } from "./auth/principal.ts";
import { InvalidTokenError, type TokenVerifier } from "./auth/tokens.ts";
import { type Problem, ProblemError, problemBase, problems } from "./problem.ts";
import { auditRoutes } from "./routes/audit.ts";
import { catalogueRoutes } from "./routes/catalogue.ts";
import { departmentRoutes } from "./routes/departments.ts";
import { eserviceRoutes } from "./routes/eservices.ts";
import { sharedServiceRoutes } from "./routes/shared-services.ts";
import { statementRoutes } from "./routes/statements.ts";
import { usageRoutes } from "./routes/usage.ts";

export interface ApiDependencies {
  /** The API's own identity; writes go through `kube.impersonating(caller)`. */
  kube: KubeClient;
  verifier: TokenVerifier;
  roles: RoleSettings;
  audit: AuditLog;
  departments: () => DepartmentGroups[];
  registry: Registry;
  ready: () => boolean;
  /** Calendar of statements and usage windows. */
  timeZone: string;
  /** The RateCard that prices usage. */
  rateCard: string;
}

export interface ApiOptions {
  logger?: boolean | Record<string, unknown>;
  /** Requests per minute per client (token, else address). */
  rateLimitPerMinute?: number;
  bodyLimitBytes?: number;
}

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
    audit?: Omit<AuditRecordInput, "time" | "requestId" | "actor" | "result">;
  }
  interface FastifyContextConfig {
    /** Reachable without a token (health, metrics, OpenAPI, the public service catalogue). */
    public?: boolean;
  }
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply.code(problem.status).type("application/problem+json").send(problem);
}

function validationProblem(error: FastifyError): Problem {
  const where = error.validationContext ?? "body";
  const errors = (error.validation ?? []).map((v) => {
    const params = v.params as Record<string, unknown>;
    const path = `${where}${v.instancePath.replaceAll("/", ".")}`;
    if (typeof params.missingProperty === "string")
      return {
        field: `${path}.${params.missingProperty}`,
        detail: "is required",
        fix: `Add ${params.missingProperty}`,
      };
    if (typeof params.additionalProperty === "string")
      return {
        field: `${path}.${params.additionalProperty}`,
        detail: "is not a known field",
        fix: `Remove ${params.additionalProperty} (see /openapi.json for the fields)`,
      };
    if (Array.isArray(params.allowedValues))
      return {
        field: path,
        detail: v.message ?? "is invalid",
        fix: `Use one of: ${params.allowedValues.join(", ")}`,
      };
    return {
      field: path,
      detail: v.message ?? "is invalid",
      fix: "Correct the value to match the schema in /openapi.json",
    };
  });
  const first = errors[0];
  return {
    type: `${problemBase}invalid-request`,
    title: "Invalid request",
    status: 400,
    detail: errors.map((e) => `${e.field} ${e.detail}`).join("; ") || "the request is invalid",
    ...(first ? { field: first.field, fix: first.fix } : {}),
    errors,
  };
}

const clientErrorTypes: Record<number, [string, string]> = {
  404: ["not-found", "Not found"],
  405: ["method-not-allowed", "Method not allowed"],
  406: ["not-acceptable", "Not acceptable"],
  413: ["payload-too-large", "Request body too large"],
  415: ["unsupported-media-type", "Unsupported media type"],
  429: ["rate-limited", "Too many requests"],
};

/** The portal API: one fastify plugin per area, JSON schemas on every route, problem+json errors. */
export async function buildServer(deps: ApiDependencies, options: ApiOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? { redact: ["req.headers.authorization", "req.headers.cookie"] },
    bodyLimit: options.bodyLimitBytes ?? 256 * 1024,
    requestIdHeader: "x-request-id",
    genReqId: () => randomUUID(),
    ajv: { customOptions: { removeAdditional: false, strict: false, allErrors: true } },
  });

  await app.register(helmet, { global: true });
  await app.register(rateLimit, {
    max: options.rateLimitPerMinute ?? 600,
    timeWindow: 60_000,
    keyGenerator: (request) => {
      const auth = request.headers.authorization;
      return auth ? createHash("sha256").update(auth).digest("hex").slice(0, 24) : request.ip;
    },
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      message: `Rate limit of ${context.max} requests per minute exceeded; retry in ${Math.ceil(context.ttl / 1000)} s`,
    }),
  });
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "govhost portal API",
        version: "v1",
        description:
          "Self-service hosting for government departments: departments, e-services, statements, audit.",
      },
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs", uiConfig: { deepLinking: false } });

  const duration = new Histogram({
    name: "govhost_api_request_duration_seconds",
    help: "Portal API request duration by route and status",
    labelNames: ["method", "route", "status"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [deps.registry],
  });
  app.addHook("onResponse", async (request, reply) => {
    duration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? "unmatched",
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });

  app.addHook("preHandler", async (request) => {
    if (request.routeOptions.config?.public) return;
    request.principal = await authenticate(request, deps);
  });

  // Every mutating request is recorded before its response is sent, whatever the outcome.
  app.addHook("onSend", async (request, reply, payload) => {
    if (request.method === "GET" || request.method === "HEAD" || request.routeOptions.config?.public)
      return payload;
    const principal = request.principal;
    const status = reply.statusCode;
    const context = request.audit ?? {
      action: `${request.method} ${request.routeOptions.url ?? request.url}`,
      target: { kind: "unknown", name: request.url },
    };
    try {
      await deps.audit.append({
        ...context,
        time: new Date().toISOString(),
        requestId: request.id,
        actor: principal
          ? {
              username: principal.username,
              subject: principal.subject,
              roles: [
                ...principal.platformRoles,
                ...Object.entries(principal.departments).map(([d, r]) => `${d}:${r}`),
              ],
            }
          : { username: "anonymous", subject: "", roles: [] },
        result: {
          status,
          outcome: status < 400 ? "success" : status === 401 || status === 403 ? "denied" : "failed",
          ...(status >= 400 && typeof payload === "string" ? { detail: detailOf(payload) } : {}),
        },
      });
    } catch (error) {
      request.log.error({ err: error }, "could not write the audit record");
    }
    return payload;
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof ProblemError) {
      if (error.problem.status === 401)
        reply.header(
          "www-authenticate",
          `Bearer error="invalid_token", error_description="${error.problem.detail}"`,
        );
      return sendProblem(reply, { ...error.problem, instance: request.url });
    }
    if (error.validation) return sendProblem(reply, { ...validationProblem(error), instance: request.url });
    const status = error.statusCode ?? 500;
    if (status < 500) {
      const [type, title] = clientErrorTypes[status] ?? ["bad-request", "Bad request"];
      return sendProblem(reply, {
        type: `${problemBase}${type}`,
        title,
        status,
        detail: error.message,
        instance: request.url,
      });
    }
    request.log.error({ err: error }, "request failed");
    return sendProblem(reply, {
      type: `${problemBase}internal-error`,
      title: "Internal error",
      status: 500,
      detail: `The request failed; quote request id ${request.id} to the platform team`,
      instance: request.url,
    });
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, {
      type: `${problemBase}not-found`,
      title: "Not found",
      status: 404,
      detail: `No route ${request.method} ${request.url.split("?")[0]}; see /openapi.json`,
      instance: request.url,
    }),
  );

  app.get("/readyz", { config: { public: true }, schema: { hide: true } }, async (_request, reply) =>
    deps.ready()
      ? { status: "ready" }
      : sendProblem(reply, {
          type: `${problemBase}not-ready`,
          title: "Not ready",
          status: 503,
          detail: "caches are syncing",
        }),
  );
  app.get("/metrics", { config: { public: true }, schema: { hide: true } }, async (_request, reply) =>
    reply.type(deps.registry.contentType).send(await deps.registry.metrics()),
  );
  app.get("/openapi.json", { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  await app.register(
    async (api) => {
      await api.register(departmentRoutes(deps));
      await api.register(eserviceRoutes(deps));
      await api.register(statementRoutes(deps));
      await api.register(usageRoutes(deps));
      await api.register(sharedServiceRoutes(deps));
      await api.register(catalogueRoutes(deps));
      await api.register(auditRoutes(deps));
    },
    { prefix: "/api/v1" },
  );
  return app;
}

function detailOf(payload: string): string | undefined {
  try {
    return (JSON.parse(payload) as { detail?: string }).detail?.slice(0, 500);
  } catch {
    return undefined;
  }
}

async function authenticate(request: FastifyRequest, deps: ApiDependencies): Promise<Principal> {
  const header = request.headers.authorization;
  if (!header) throw problems.unauthorized("No bearer token was sent");
  const [scheme, token] = header.split(" ");
  if (scheme?.toLowerCase() !== "bearer" || !token)
    throw problems.unauthorized("The Authorization header is not a bearer token");
  let claims: Record<string, unknown>;
  try {
    claims = await deps.verifier.verify(token);
  } catch (error) {
    if (error instanceof InvalidTokenError)
      throw problems.unauthorized(`The token was refused: ${error.message}`);
    throw error;
  }
  const principal = principalFrom(claims, deps.departments(), deps.roles);
  if (!principal.username || principal.username.startsWith("system:"))
    throw problems.unauthorized("The token names no usable user (system: names are reserved)");
  return principal;
}

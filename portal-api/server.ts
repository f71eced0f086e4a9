import { randomUUID } from "node:crypto";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type HTTPMethods,
  LogController,
  type onRequestHookHandler,
} from "fastify";
import { Histogram } from "prom-client";
import { namespaceName } from "../controller/api/group.ts";
import { KubeApiError } from "../lib/kube/client.ts";
import { AnonymousTally } from "./audit/anonymous.ts";
import type { AuditActor, AuditRecordInput } from "./audit/chain.ts";
import { roleIn } from "./auth/authorize.ts";
import { type Principal, sharedPrincipalFrom } from "./auth/principal.ts";
import { InvalidTokenError } from "./auth/tokens.ts";
import type { ApiDependencies, ApiOptions } from "./dependencies.ts";
import { EServiceDirectory } from "./eservice-directory.ts";
import { requestDefaultsOptional } from "./openapi-defaults.ts";
import { assetsPrefix, pageRoutes, sendNotFoundPage } from "./pages/plugin.ts";
import { signedInRoutes } from "./pages/signed-in.ts";
import { Problem, ProblemError, problemBase, problems } from "./problem.ts";
import { apiCatalogueRoutes } from "./routes/api-catalogue.ts";
import { apiGrantRoutes } from "./routes/api-grants.ts";
import { auditRoutes } from "./routes/audit.ts";
import { budgetRoutes } from "./routes/budget.ts";
import { catalogueRoutes } from "./routes/catalogue.ts";
import { channelRoutes } from "./routes/channels.ts";
import { departmentRoutes } from "./routes/departments.ts";
import { eserviceRoutes } from "./routes/eservices.ts";
import { feedbackRoutes } from "./routes/feedback.ts";
import { performanceRoutes } from "./routes/performance.ts";
import { policyReportRoutes } from "./routes/policy-reports.ts";
import { rateCardRoutes } from "./routes/rate-card.ts";
import { serviceClusterRoutes } from "./routes/service-clusters.ts";
import { sharedServiceRoutes } from "./routes/shared-services.ts";
import { statementRoutes } from "./routes/statements.ts";
import { usageRoutes } from "./routes/usage.ts";
import { securityHeaders } from "./security-headers.ts";
import { validationProblem, validatorCompiler } from "./validation.ts";

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply.code(problem.status).type("application/problem+json").send(problem);
}

const clientErrorTypes: Record<number, [string, string]> = {
  404: ["not-found", "Not found"],
  405: ["method-not-allowed", "Method not allowed"],
  406: ["not-acceptable", "Not acceptable"],
  413: ["payload-too-large", "Request body too large"],
  415: ["unsupported-media-type", "Unsupported media type"],
  429: ["rate-limited", "Too many requests"],
};

/** Reads that are audited even when allowed: the audit trail itself, the finance data, citizens' comments. */
const sensitiveReads = new Set([
  "/api/v1/audit",
  "/api/v1/audit/verify",
  "/api/v1/usage",
  "/api/v1/departments/:dept/statements",
  "/api/v1/departments/:dept/statements/:period",
  "/api/v1/departments/:dept/budget",
  // Citizens' comments: who read them is on record.
  "/api/v1/departments/:dept/environments/:env/eservices/:name/feedback",
]);

/** A client's x-request-id is kept only when it is a short plain token (it is never our request id). */
const clientRequestIdPattern = /^[A-Za-z0-9._:-]{1,64}$/;
/** RFC 6750 b64token, bounded. */
const bearerPattern = /^Bearer +([A-Za-z0-9\-._~+/]{1,8192}=*) *$/i;

const isWrite = (method: string) => method !== "GET" && method !== "HEAD" && method !== "OPTIONS";
const isPublic = (request: FastifyRequest) => request.is404 || request.routeOptions.config?.public === true;
/** The route's pattern as clients read it: `:name`, without the router's constraint (`:name(^[^:]*$)`). */
const routeOf = (request: FastifyRequest) =>
  (request.routeOptions.url ?? "unmatched").replace(/\([^)]*\)/g, "");
/** The methods a 405 may offer in its Allow header (HEAD wherever GET is: fastify answers it). */
const allowable: HTTPMethods[] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

function actorOf(principal: Principal): AuditActor {
  return {
    username: principal.username,
    subject: principal.subject,
    displayName: principal.displayName,
    roles: [
      ...principal.platformRoles,
      ...Object.entries(principal.departments).map(([d, r]) => `${d}:${r}`),
    ],
  };
}

/** What a request is about when its handler did not say (it was refused before, or never names it). */
function targetOf(request: FastifyRequest): AuditRecordInput["target"] {
  const params = (request.params ?? {}) as Record<string, unknown>;
  const dept = typeof params.dept === "string" ? params.dept : undefined;
  const env = typeof params.env === "string" ? params.env : undefined;
  const body = request.method === "POST" ? (request.body as { name?: unknown } | undefined) : undefined;
  const object = typeof body?.name === "string" ? body.name : undefined;
  return {
    kind: "route",
    name: (request.url.split("?")[0] ?? "").slice(0, 256),
    ...(dept ? { department: dept } : {}),
    ...(dept && env ? { namespace: namespaceName(dept, env) } : {}),
    ...(object ? { object } : {}),
  };
}

/** The portal API: one fastify plugin per area, JSON schemas on every route, problem+json errors. */
export async function buildServer(deps: ApiDependencies, options: ApiOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? { redact: ["req.headers.authorization", "req.headers.cookie"] },
    // One access line per request, written when it is answered (see onResponse), not fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes ?? 256 * 1024,
    // Only the named proxies' X-Forwarded-For is believed; anyone else's address is the connection's.
    trustProxy: options.trustedProxies?.length ? options.trustedProxies : false,
    // Request ids are ours alone: a client-sent x-request-id is never used as one (see clientRequestId).
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    // Errors the router meets before any route (a path segment that is not valid percent-encoding, or longer
    // than any parameter may be) are bad input like any other: 400 problem+json, not fastify's own shape.
    frameworkErrors: (error, request, reply) => {
      const tooLong = error.code === "FST_ERR_MAX_PARAM_LENGTH";
      void sendProblem(reply, {
        type: `${problemBase}invalid-request`,
        title: "Invalid request",
        status: 400,
        detail: tooLong
          ? "A path segment is longer than any parameter of this API may be"
          : "The path is not valid percent-encoded UTF-8",
        field: "params",
        fix: "Correct the path; the parameters' forms are in /openapi.json",
        instance: request.url.slice(0, 256),
      });
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Response schemas describe the answers in /openapi.json (and schemathesis checks the answers against
  // them); the answers themselves are serialized as they are, so a field a schema lacks is never dropped
  // silently and a missing one never turns an answer into a 500.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.setValidatorCompiler(validatorCompiler);
  app.addSchema(Problem);

  // Set before any plugin is registered, so every plugin's routes (e.g. /docs) inherit them.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const instance = request.url.slice(0, 256);
    if (error instanceof ProblemError) {
      if (error.problem.status === 401)
        // Fixed strings only: nothing the caller sent is ever echoed into a header.
        reply.header(
          "www-authenticate",
          request.headers.authorization === undefined
            ? 'Bearer realm="govhost"'
            : 'Bearer realm="govhost", error="invalid_token"',
        );
      if (error.problem.status === 503) reply.header("retry-after", "30");
      return sendProblem(reply, { ...error.problem, instance });
    }
    if (error.validation) return sendProblem(reply, { ...validationProblem(error), instance });
    if (error instanceof KubeApiError && [429, 503, 504].includes(error.code)) {
      // The API server is busy or still starting (e.g. "storage is (re)initializing"): say so, not 500.
      reply.header("retry-after", "5");
      return sendProblem(reply, {
        type: `${problemBase}platform-unavailable`,
        title: "The platform is temporarily unavailable",
        status: 503,
        detail: `The Kubernetes API answered ${error.code} (${error.reason}); nothing was changed by this error`,
        fix: "Retry in a few seconds",
        instance,
      });
    }
    const status = error.statusCode ?? 500;
    if (status < 500) {
      const [type, title] = clientErrorTypes[status] ?? ["bad-request", "Bad request"];
      return sendProblem(reply, {
        type: `${problemBase}${type}`,
        title,
        status,
        detail: error.message,
        instance,
      });
    }
    request.log.error({ err: error }, "request failed");
    return sendProblem(reply, {
      type: `${problemBase}internal-error`,
      title: "Internal error",
      status: 500,
      detail: `The request failed; quote request id ${request.id} to the platform team`,
      instance,
    });
  });
  // A path the API does not serve is answered at once, before anything reads the request (a body method's
  // body or content type included): 405 with the methods it does serve there, else 404.
  app.setNotFoundHandler((request, reply) => unrouted(request, reply));

  // The API documentation is public (its routes come from @fastify/swagger-ui).
  app.addHook("onRoute", (route) => {
    if (route.url === "/docs" || route.url.startsWith("/docs/") || route.url.startsWith(assetsPrefix))
      route.config = { ...(route.config ?? {}), public: true };
  });

  // 0. Helmet's security headers on every answer, a refusal or a 404 included.
  const headers = securityHeaders();
  app.addHook("onRequest", async (_request, reply) => {
    reply.headers(headers);
  });

  // 1. Who is calling: a token that verifies gives the principal; one that does not is remembered and
  //    answered in 3., after rate limiting, so that bad tokens are limited by address like no token.
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
    if (request.is404) return unrouted(request, reply);
    const sent = request.headers["x-request-id"];
    if (typeof sent === "string" && clientRequestIdPattern.test(sent)) request.clientRequestId = sent;
    const header = request.headers.authorization;
    if (header === undefined) return;
    try {
      request.principal = await authenticate(header, deps);
    } catch (error) {
      if (!(error instanceof ProblemError)) throw error;
      request.authFailure = error;
    }
  });

  // 2. Rate limits (a route-level onRequest hook, so after the one above): per verified identity, else
  //    per address; whatever Authorization header is sent, an unverified caller is one address.
  await app.register(rateLimit, {
    max: options.rateLimitPerMinute ?? 600,
    timeWindow: 60_000,
    keyGenerator: (request) =>
      request.principal ? `user:${request.principal.username}` : `address:${request.ip}`,
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      message: `Rate limit of ${context.max} requests per minute exceeded; retry in ${Math.ceil(context.ttl / 1000)} s`,
    }),
  });

  // 3. Routes that need a caller refuse everyone else, still in onRequest (after the rate limit's hook, which
  //    the plugin adds to each route as it is declared): before the body is read, parsed or validated.
  const requireCaller: onRequestHookHandler = async (request) => {
    if (isPublic(request) || request.principal) return;
    throw request.authFailure ?? problems.unauthorized("No bearer token was sent");
  };
  app.addHook("onRoute", (route) => {
    route.onRequest = [...[route.onRequest ?? []].flat(), requireCaller];
  });

  // 4. A caller with no role in a department learns nothing about it: the same answer whether it exists
  //    or not (platform roles may see every department).
  app.addHook("preHandler", async (request) => {
    const principal = request.principal;
    const dept = (request.params as Record<string, unknown> | undefined)?.dept;
    if (!principal || isPublic(request) || typeof dept !== "string") return;
    if (principal.platformRoles.length > 0 || roleIn(principal, dept) !== undefined) return;
    throw problems.forbidden(
      `${principal.displayName} has no role in department ${dept}`,
      "Ask the department's admins to add one of your groups to the department (spec.groups)",
    );
  });

  // 5. Fail closed: a write is recorded before it is performed; if it cannot be, it is not performed.
  app.addHook("preHandler", async (request) => {
    const principal = request.principal;
    if (!principal || isPublic(request) || !isWrite(request.method)) return;
    try {
      await deps.audit.append({
        time: new Date().toISOString(),
        requestId: request.id,
        ...(request.clientRequestId ? { clientRequestId: request.clientRequestId } : {}),
        stage: "request",
        actor: actorOf(principal),
        action: `${request.method} ${routeOf(request)}`,
        target: targetOf(request),
        result: { outcome: "pending" },
      });
    } catch (error) {
      request.log.error({ err: error }, "could not write the audit record; refusing the write");
      throw problems.auditUnavailable();
    }
  });

  // 6. What was answered: writes, denials of signed-in callers and sensitive reads, one record each;
  //    anonymous traffic is counted, not recorded request by request.
  const anonymous = new AnonymousTally();
  app.addHook("onSend", async (request, reply, payload) => {
    if (isPublic(request)) return payload;
    const principal = request.principal;
    const status = reply.statusCode;
    if (!principal) {
      anonymous.count(request.method, routeOf(request), status, request.ip);
      return payload;
    }
    const denied = status === 401 || status === 403;
    if (!isWrite(request.method) && !denied && !sensitiveReads.has(routeOf(request))) return payload;
    const { before, after, ...context } = request.audit ?? {
      action: `${request.method} ${routeOf(request)}`,
      target: targetOf(request),
    };
    try {
      await deps.audit.append({
        ...context,
        // A refused request never stores what it asked for or what it would have changed.
        ...(denied ? {} : { before, after }),
        time: new Date().toISOString(),
        requestId: request.id,
        ...(request.clientRequestId ? { clientRequestId: request.clientRequestId } : {}),
        stage: "response",
        actor: actorOf(principal),
        result: {
          status,
          outcome: status < 400 ? "success" : denied ? "denied" : "failed",
          ...(status >= 400 && typeof payload === "string" ? { detail: detailOf(payload) } : {}),
        },
      });
    } catch (error) {
      request.log.error({ err: error }, "could not write the audit record of a response");
    }
    return payload;
  });
  const summarise = async () => {
    const summary = anonymous.take();
    if (!summary) return;
    try {
      await deps.audit.append({
        time: summary.to,
        requestId: randomUUID(),
        stage: "summary",
        actor: { username: "anonymous", subject: "", roles: [] },
        action: "anonymous.refused",
        target: { kind: "AnonymousTraffic", name: "anonymous" },
        result: { status: 401, outcome: "denied", detail: `${summary.total} anonymous request(s) refused` },
        summary,
      });
    } catch (error) {
      app.log.error({ err: error }, "could not write the anonymous traffic summary");
    }
  };
  const summaries = setInterval(() => void summarise(), options.anonymousSummaryIntervalMs ?? 60_000);
  summaries.unref();
  app.addHook("onClose", async () => {
    clearInterval(summaries);
    await summarise();
  });

  await app.register(swagger, {
    // Shared schemas (Problem) keep their own names in components.schemas.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === "string" ? json.$id : `def-${i}`,
    },
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
    transformObject: (document) =>
      "openapiObject" in document ? requestDefaultsOptional(document.openapiObject) : document.swaggerObject,
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
    const route = routeOf(request);
    duration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    request.log.info(
      {
        method: request.method,
        url: request.url,
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      "request",
    );
  });

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

  // One directory of published e-services, read by the JSON catalogue and the public pages alike.
  const directory = new EServiceDirectory(deps.kube, options.catalogueCacheMs ?? 5_000);
  await app.register(
    pageRoutes(directory, { timeZone: deps.timeZone, signInAvailable: deps.web !== undefined }),
  );
  if (deps.web) await app.register(signedInRoutes(deps, deps.web));
  await app.register(
    async (api) => {
      await api.register(departmentRoutes(deps));
      await api.register(eserviceRoutes(deps));
      await api.register(statementRoutes(deps));
      await api.register(performanceRoutes(deps));
      await api.register(channelRoutes(deps));
      await api.register(budgetRoutes(deps));
      await api.register(policyReportRoutes(deps));
      await api.register(usageRoutes(deps));
      await api.register(catalogueRoutes(deps));
      await api.register(apiCatalogueRoutes(deps));
      await api.register(apiGrantRoutes(deps));
      await api.register(rateCardRoutes(deps));
      await api.register(sharedServiceRoutes(deps));
      await api.register(serviceClusterRoutes(directory));
      await api.register(feedbackRoutes(deps, directory));
      await api.register(auditRoutes(deps));
    },
    { prefix: "/api/v1" },
  );
  return app;
}

/** The answer to a request no route matched: 405 (RFC 9110, with Allow) if the path has other methods. */
function unrouted(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = request.url.split("?")[0] ?? "";
  const allow = allowable.filter((method) => request.server.findRoute({ method, url: path }) !== null);
  // A route that serves this method but found nothing (a static file that is not there) is a 404.
  if (allow.length > 0 && !allow.includes(request.method))
    return sendProblem(reply.header("allow", allow.join(", ")), {
      type: `${problemBase}method-not-allowed`,
      title: "Method not allowed",
      status: 405,
      detail: `${path.slice(0, 256)} does not support ${request.method}; it supports ${allow.join(", ")}`,
      fix: "Use one of the methods in the Allow header; see /openapi.json",
      instance: request.url.slice(0, 256),
    });
  // People following a link get the 404 page; programs (and anything under /api) get problem+json.
  if (request.method === "GET" && !path.startsWith("/api/") && wantsHtml(request))
    return sendNotFoundPage(reply, path);
  return sendProblem(reply, {
    type: `${problemBase}not-found`,
    title: "Not found",
    status: 404,
    detail: `No route ${request.method} ${path.slice(0, 256)}; see /openapi.json`,
    instance: request.url.slice(0, 256),
  });
}

/** A browser's navigation: it prefers HTML to JSON. */
function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? "";
  return accept.includes("text/html");
}

function detailOf(payload: string): string | undefined {
  try {
    return (JSON.parse(payload) as { detail?: string }).detail?.slice(0, 500);
  } catch {
    return undefined;
  }
}

async function authenticate(header: string, deps: ApiDependencies): Promise<Principal> {
  const token = bearerPattern.exec(header)?.[1];
  if (!token)
    throw problems.unauthorized(
      "The Authorization header is not a bearer token (expected: Authorization: Bearer <token>)",
    );
  let claims: Record<string, unknown>;
  try {
    claims = await deps.verifier.verify(token);
  } catch (error) {
    if (error instanceof InvalidTokenError)
      throw problems.unauthorized(`The token was refused: ${error.message}`);
    throw error;
  }
  const principal = sharedPrincipalFrom(claims, deps.departments(), deps.roles);
  if (!principal.username || principal.username.startsWith("system:"))
    throw problems.unauthorized("The token names no usable user (system: names are reserved)");
  return principal;
}

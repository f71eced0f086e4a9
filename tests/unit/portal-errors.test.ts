import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { Registry } from "prom-client";
import Value from "typebox/value";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { KubeApiError, type KubeClient, type KubeObject } from "../../lib/kube/client.ts";
import { baselineRules } from "../../policies/baseline.ts";
import { AuditLog } from "../../portal-api/audit/store.ts";
import { defaultRoleSettings } from "../../portal-api/auth/principal.ts";
import { TokenVerifier } from "../../portal-api/auth/tokens.ts";
import { Problem } from "../../portal-api/problem.ts";
import { directReads } from "../../portal-api/reads.ts";
import { buildServer } from "../../portal-api/server.ts";
import { departmentManifest } from "../fixtures/departments.ts";
import { signingKeys } from "./support/signing-keys.ts";

// The portal API's error answers in process (fastify inject): how Kubernetes refusals, invalid input,
// unknown routes and undeclared methods become RFC 9457 problem+json, and that authentication comes before
// anything reads the body. The Kubernetes client is a stand-in that fails as a test tells it to.

const issuer = "https://idp.gov.example";
const audience = "https://api.govhost.test";
let sign: (claims: Record<string, unknown>) => Promise<string>;
let keys: Awaited<ReturnType<typeof signingKeys>>["keys"];

beforeAll(async () => {
  ({ keys, sign } = await signingKeys(issuer, audience));
});

const immd = departmentManifest("immd");
type Call = "list" | "find" | "get" | "create" | "mergePatch" | "delete";

/** A Kubernetes client that answers from `immd` alone, or throws what `failing` says for a call. */
function fakeKube(failing: Partial<Record<Call, Error>>, calls: Call[]): KubeClient {
  const answer = async <T>(call: Call, value: T): Promise<T> => {
    calls.push(call);
    const failure = failing[call];
    if (failure) throw failure;
    return value;
  };
  const kube = {
    impersonating: () => kube,
    list: () => answer("list", { items: [immd] }),
    find: (_r: unknown, name: string) => answer("find", name === "immd" ? immd : undefined),
    get: () => answer("get", immd),
    create: (object: KubeObject) => answer("create", object),
    mergePatch: () => answer("mergePatch", immd),
    delete: () => answer("delete", true),
  };
  return kube as unknown as KubeClient;
}

let dir: string;
let app: FastifyInstance;
let calls: Call[];

async function start(failing: Partial<Record<Call, Error>> = {}) {
  const kube = fakeKube(failing, calls);
  app = await buildServer(
    {
      kube,
      reads: directReads(kube),
      verifier: TokenVerifier.withKeys({ issuer, audience, clientId: "api" }, keys),
      roles: defaultRoleSettings,
      audit: await AuditLog.open(join(dir, "audit.log")),
      departments: () => [{ name: "immd", groups: immd.spec.groups ?? {} }],
      registry: new Registry(),
      ready: () => true,
      timeZone: "Asia/Hong_Kong",
      rateCard: "govhost-default",
    },
    { logger: false, rateLimitPerMinute: 10_000 },
  );
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "govhost-errors-unit-"));
  calls = [];
});
afterEach(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

const operator = () =>
  sign({ sub: "op-1", preferred_username: "olivia", groups: ["govhost:platform-operators"] });
const createBody = (name: string) => ({ name, spec: departmentManifest(name).spec });

/** A problem+json answer: its status, the headers that matter, and a body that is an RFC 9457 problem. */
function problemOf(response: Awaited<ReturnType<FastifyInstance["inject"]>>) {
  expect(response.headers["content-type"]).toContain("application/problem+json");
  const body: unknown = response.json();
  expect(Value.Check(Problem, body), response.body).toBe(true);
  if (!Value.Check(Problem, body)) throw new Error("not a problem");
  expect(body.status).toBe(response.statusCode);
  expect(response.body).not.toMatch(/\bat .*\.ts:\d+/); // never a stack trace
  return body;
}

describe("authentication comes first", () => {
  it("answers an anonymous write 401 before its body is parsed or validated", async () => {
    await start();
    for (const [payload, contentType] of [
      [JSON.stringify({ name: "x", spec: { bogus: true } }), "application/json"],
      ["{not json", "application/json"],
      ["<department/>", "application/xml"],
    ] as const) {
      const response = await app.inject({
        method: "POST",
        url: "/api/v1/departments",
        headers: { "content-type": contentType },
        payload,
      });
      expect(response.statusCode, payload).toBe(401);
      expect(problemOf(response).type).toBe("https://govhost.io/problems/unauthorized");
      expect(response.headers["www-authenticate"]).toBe('Bearer realm="govhost"');
    }
    expect(calls).toEqual([]);
  });

  it("answers a bad token 401 before validating the body too", async () => {
    await start();
    const response = await app.inject({
      method: "PATCH",
      url: "/api/v1/departments/immd",
      headers: { authorization: "Bearer not.a.token" },
      payload: { spec: { suspended: "maybe" } },
    });
    expect(response.statusCode).toBe(401);
    expect(response.headers["www-authenticate"]).toBe('Bearer realm="govhost", error="invalid_token"');
  });
});

describe("invalid input", () => {
  it("is 400 naming every field at fault", async () => {
    await start();
    const { costCentre: _, ...spec } = departmentManifest("abc").spec;
    const response = await app.inject({
      method: "POST",
      url: "/api/v1/departments",
      headers: { authorization: `Bearer ${await operator()}` },
      payload: { name: "abc", spec: { ...spec, colour: "blue" } },
    });
    expect(response.statusCode).toBe(400);
    const problem = problemOf(response);
    expect(problem.type).toBe("https://govhost.io/problems/invalid-request");
    expect(problem.errors).toEqual(
      expect.arrayContaining([
        { field: "body.spec.costCentre", detail: "is required", fix: "Add costCentre" },
        expect.objectContaining({ field: "body.spec.colour", detail: "is not a known field" }),
      ]),
    );
    expect(calls).toEqual([]);
  });

  it("takes JSON bodies as they are: no number from a string, no boolean from null", async () => {
    await start();
    for (const spec of [{ suspended: null }, { suspended: "false" }, { quota: { pods: "7" } }]) {
      const response = await app.inject({
        method: "PATCH",
        url: "/api/v1/departments/immd",
        headers: { authorization: `Bearer ${await operator()}` },
        payload: { spec },
      });
      expect(response.statusCode, JSON.stringify(spec)).toBe(400);
      expect(problemOf(response).field).toMatch(/^body\.spec\.(suspended|quota\.pods)$/);
    }
    expect(calls.filter((c) => c === "mergePatch")).toEqual([]);
  });

  it("reads numbers from the query string, and names a query field that is wrong", async () => {
    await start();
    const token = await operator();
    const ok = await app.inject({
      url: "/api/v1/audit?limit=20",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(ok.statusCode).toBe(200);
    const bad = await app.inject({
      url: "/api/v1/audit?limit=many",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(bad.statusCode).toBe(400);
    expect(problemOf(bad).field).toBe("query.limit");
    const window = await app.inject({
      url: "/api/v1/usage?window=",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(window.statusCode).toBe(400);
    expect(problemOf(window).field).toBe("query.window");
  });

  it("answers a well-formed window that is not one 422, naming the field", async () => {
    await start();
    const response = await app.inject({
      url: "/api/v1/usage?window=2026-11-02T00:00:00Z,2026-11-01T00:00:00Z",
      headers: { authorization: `Bearer ${await operator()}` },
    });
    expect(response.statusCode).toBe(422);
    expect(problemOf(response)).toMatchObject({ field: "query.window" });
  });

  it("answers a path the router cannot read 400 problem+json", async () => {
    await start();
    const token = await operator();
    for (const url of ["/api/v1/departments/%E0%A4%A", `/api/v1/departments/${"a".repeat(150)}`]) {
      const response = await app.inject({ url, headers: { authorization: `Bearer ${token}` } });
      expect(response.statusCode, url).toBe(400);
      expect(problemOf(response)).toMatchObject({ field: "params" });
    }
  });
});

describe("routes and methods", () => {
  it("answers an unknown path 404 problem+json", async () => {
    await start();
    const response = await app.inject({ url: "/api/v1/nothing-here" });
    expect(response.statusCode).toBe(404);
    expect(problemOf(response).type).toBe("https://govhost.io/problems/not-found");
    expect(response.headers.allow).toBeUndefined();
  });

  it("answers a method a path does not have 405 with Allow, before reading any body", async () => {
    await start();
    const token = await operator();
    const es = "/api/v1/departments/immd/environments/dev/eservices";
    for (const [method, url, allow] of [
      ["PUT", "/api/v1/departments/immd", "GET, HEAD, PATCH, DELETE"],
      ["DELETE", "/api/v1/departments", "GET, HEAD, POST"],
      ["TRACE", "/api/v1/service-clusters", "GET, HEAD"],
      ["QUERY", "/api/v1/audit/verify", "GET, HEAD"],
      ["OPTIONS", "/api/v1/usage", "GET, HEAD"],
      // `{name}` and the custom methods `{name}:expose` / `:withdraw` share a path.
      ["GET", `${es}/web:expose`, "POST"],
      ["POST", `${es}/web`, "GET, HEAD, PATCH, DELETE"],
    ] as const) {
      for (const authorization of [undefined, `Bearer ${token}`]) {
        const response = await app.inject({
          method,
          url,
          headers: authorization ? { authorization } : {},
        });
        expect(response.statusCode, `${method} ${url}`).toBe(405);
        expect(response.headers.allow, `${method} ${url}`).toBe(allow);
        expect(problemOf(response).type).toBe("https://govhost.io/problems/method-not-allowed");
      }
    }
    expect(calls).toEqual([]);
  });
});

describe("Kubernetes refusals", () => {
  const create = async () =>
    app.inject({
      method: "POST",
      url: "/api/v1/departments",
      headers: { authorization: `Bearer ${await operator()}` },
      payload: createBody("abc"),
    });

  it("become 422 naming the baseline rule and its fix when admission refuses", async () => {
    await start({
      create: new KubeApiError(
        403,
        "Forbidden",
        'admission webhook "validate" denied request: GH-IMG-001: images must come from an allowed registry',
      ),
    });
    const response = await create();
    expect(response.statusCode).toBe(422);
    const rule = baselineRules.find((r) => r.id === "GH-IMG-001");
    expect(problemOf(response)).toMatchObject({
      type: "https://govhost.io/problems/policy-violation",
      rule: "GH-IMG-001",
      fix: rule?.remediation,
    });
  });

  it("become 422 naming the field when the resource's own rules refuse", async () => {
    await start({
      create: new KubeApiError(
        422,
        "Invalid",
        'Department.govhost.io "abc" is invalid: spec.quota.environmentWeights: Invalid value: may only name listed environments',
      ),
    });
    const response = await create();
    expect(response.statusCode).toBe(422);
    expect(problemOf(response)).toMatchObject({
      type: "https://govhost.io/problems/invalid-request",
      field: "spec.quota.environmentWeights",
    });
  });

  it("become 409 when the object exists, and 403 quota-exceeded when the quota is spent", async () => {
    await start({ create: new KubeApiError(409, "AlreadyExists", 'departments "abc" already exists') });
    expect(problemOf(await create())).toMatchObject({
      status: 409,
      type: "https://govhost.io/problems/conflict",
    });
    await app.close();
    await start({ create: new KubeApiError(403, "Forbidden", "exceeded quota: department-quota") });
    expect(problemOf(await create())).toMatchObject({
      status: 403,
      type: "https://govhost.io/problems/quota-exceeded",
    });
  });

  it("become 503 with Retry-After when the API server is busy or starting", async () => {
    await start({ list: new KubeApiError(503, "ServiceUnavailable", "storage is (re)initializing") });
    const response = await app.inject({
      url: "/api/v1/departments",
      headers: { authorization: `Bearer ${await operator()}` },
    });
    expect(response.statusCode).toBe(503);
    expect(response.headers["retry-after"]).toBe("5");
    expect(problemOf(response).type).toBe("https://govhost.io/problems/platform-unavailable");
  });

  it("become 502 when the API server answers something unexpected to a write", async () => {
    await start({ create: new KubeApiError(500, "InternalError", "etcd leader changed") });
    const response = await create();
    expect(response.statusCode).toBe(502);
    expect(problemOf(response).type).toBe("https://govhost.io/problems/upstream-error");
  });

  it("an unexpected error is 500 with the request id, never its message or stack", async () => {
    await start({ list: new Error("secret internals at /srv/app/x.ts:12") });
    const response = await app.inject({
      url: "/api/v1/departments",
      headers: { authorization: `Bearer ${await operator()}` },
    });
    expect(response.statusCode).toBe(500);
    const problem = problemOf(response);
    expect(problem.type).toBe("https://govhost.io/problems/internal-error");
    expect(problem.detail).toContain(String(response.headers["x-request-id"]));
    expect(response.body).not.toContain("secret internals");
  });
});

describe("the OpenAPI document", () => {
  it("declares every status each operation answers, and problem+json for every error", async () => {
    await start();
    const document = (await app.inject({ url: "/openapi.json" })).json() as {
      paths: Record<
        string,
        Record<
          string,
          { responses: Record<string, { content?: Record<string, unknown> }>; security?: unknown[] }
        >
      >;
      components: { schemas: Record<string, unknown> };
    };
    expect(document.components.schemas.Problem).toBeDefined();
    const operations = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]) => ({ label: `${method} ${path}`, operation })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(28);
    // Exactly these are public: the catalogue and the feedback endpoint of public e-services.
    const publicOperations = operations
      .filter(({ operation }) => Array.isArray(operation.security) && operation.security.length === 0)
      .map(({ label }) => label);
    expect(publicOperations).toEqual([
      "get /api/v1/service-clusters",
      "post /api/v1/departments/{dept}/environments/{env}/eservices/{name}/feedback",
    ]);
    for (const { label, operation } of operations) {
      const statuses = Object.keys(operation.responses);
      expect(
        statuses.some((s) => s.startsWith("2")),
        label,
      ).toBe(true);
      expect(statuses, label).toEqual(expect.arrayContaining(["429", "500"]));
      // A public operation (security: []) answers no 401; every other one does.
      if (!publicOperations.includes(label)) expect(statuses, label).toContain("401");
      for (const status of statuses.filter((s) => Number(s) >= 400))
        expect(Object.keys(operation.responses[status]?.content ?? {}), `${label} ${status}`).toEqual([
          "application/problem+json",
        ]);
    }
  });

  it("requires of a client no field the API fills with its default (found by schemathesis: contacts)", async () => {
    await start();
    type Schema = { required?: string[]; properties?: Record<string, Schema & { default?: unknown }> };
    const document = (await app.inject({ url: "/openapi.json" })).json() as {
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: Schema }> } }>
      >;
    };
    const spec =
      document.paths["/api/v1/departments"]?.post?.requestBody?.content["application/json"]?.schema.properties
        ?.spec;
    for (const field of ["contacts", "groups", "environments", "maxDataClassification", "suspended"]) {
      expect(spec?.properties?.[field]?.default, field).toBeDefined();
      expect(spec?.required ?? [], field).not.toContain(field);
    }
    // What has no default stays required.
    expect(spec?.required).toEqual(expect.arrayContaining(["displayName", "costCentre"]));
  });
});

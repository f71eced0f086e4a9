import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { Registry } from "prom-client";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { defaultRateCard } from "../../controller/api/default-ratecard.ts";
import { ledgerName } from "../../lib/chargeback/ledger.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import type { AuditRecord } from "../../portal-api/audit/chain.ts";
import { resolvableWrites, unresolvableWrites } from "../../portal-api/audit/pending.ts";
import { AuditLog } from "../../portal-api/audit/store.ts";
import { defaultRoleSettings } from "../../portal-api/auth/principal.ts";
import { TokenVerifier } from "../../portal-api/auth/tokens.ts";
import { directReads } from "../../portal-api/reads.ts";
import { buildServer } from "../../portal-api/server.ts";
import { departmentManifest } from "../fixtures/departments.ts";
import { signingKeys } from "./support/signing-keys.ts";

// The portal API's request pipeline in process (fastify inject), with real signed tokens and a stand-in
// for the Kubernetes client that records what it was asked to do. The same attacks run against the real
// API and API server in tests/security/api-*.test.ts.

const issuer = "https://idp.gov.example";
const audience = "https://api.govhost.test";
let sign: (claims: Record<string, unknown>) => Promise<string>;
let keys: Awaited<ReturnType<typeof signingKeys>>["keys"];

beforeAll(async () => {
  ({ keys, sign } = await signingKeys(issuer, audience));
});

const immd = departmentManifest("immd");
const departments = [{ name: "immd", groups: immd.spec.groups ?? {} }];

/** Other objects `find` answers with, by name (a test puts them). */
const stored = new Map<string, KubeObject>();

function fakeKube(calls: string[]): KubeClient {
  const kube = {
    impersonating: (as: { user: string; groups?: string[] }) => {
      calls.push(`as ${as.user} [${(as.groups ?? []).join(",")}]`);
      return kube;
    },
    list: async () => {
      calls.push("list");
      return { items: [immd] };
    },
    find: async (_r: unknown, name: string) => (name === "immd" ? immd : stored.get(name)),
    get: async () => immd,
    create: async (object: KubeObject, options?: { dryRun?: boolean }) => {
      calls.push(`create${options?.dryRun ? " dry-run" : ""} ${object.metadata?.name}`);
      return object;
    },
    mergePatch: async () => immd,
    delete: async () => true,
  };
  return kube as unknown as KubeClient;
}

let dir: string;
let app: FastifyInstance;
let calls: string[];
const auditPath = () => join(dir, "audit.log");
const records = () =>
  readFileSync(auditPath(), "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditRecord);

async function start(
  options: { rateLimitPerMinute?: number; trustedProxies?: string[]; logLines?: string[] } = {},
) {
  const lines = options.logLines;
  const kube = fakeKube(calls);
  app = await buildServer(
    {
      kube,
      reads: directReads(kube),
      verifier: TokenVerifier.withKeys({ issuer, audience, clientId: "api" }, keys),
      roles: defaultRoleSettings,
      audit: await AuditLog.open(auditPath()),
      departments: () => departments,
      registry: new Registry(),
      ready: () => true,
      timeZone: "Asia/Hong_Kong",
      rateCard: "govhost-default",
    },
    {
      logger: lines ? { stream: { write: (line: string) => lines.push(line) } } : false,
      rateLimitPerMinute: options.rateLimitPerMinute ?? 10_000,
      ...(options.trustedProxies ? { trustedProxies: options.trustedProxies } : {}),
    },
  );
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "govhost-server-unit-"));
  calls = [];
  stored.clear();
});
afterEach(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

const operator = () =>
  sign({ sub: "op-1", preferred_username: "olivia", groups: ["govhost:platform-operators"] });
const createBody = (name: string) => ({ name, spec: departmentManifest(name).spec });

describe("authentication answers", () => {
  it("answers malformed bearer tokens with 401 problem+json and a fixed WWW-Authenticate", async () => {
    await start();
    for (const token of ["x", "a.b.c", "e30.e30.e30"]) {
      for (const url of ["/api/v1/departments", "/api/v1/catalogue/shared-services", "/api/v1/usage"]) {
        const response = await app.inject({ url, headers: { authorization: `Bearer ${token}` } });
        expect(response.statusCode, `${url} with ${token}`).toBe(401);
        expect(response.headers["content-type"]).toContain("application/problem+json");
        expect(response.headers["www-authenticate"]).toBe('Bearer realm="govhost", error="invalid_token"');
      }
    }
  });

  it("never echoes the token's header into WWW-Authenticate", async () => {
    await start();
    const header = Buffer.from(JSON.stringify({ alg: 'x", error_uri="https://evil.example' })).toString(
      "base64url",
    );
    const response = await app.inject({
      url: "/api/v1/departments",
      headers: { authorization: `Bearer ${header}.e30.sig` },
    });
    expect(response.statusCode).toBe(401);
    expect(response.headers["www-authenticate"]).toBe('Bearer realm="govhost", error="invalid_token"');
    expect(response.body).not.toContain("evil");
  });

  it("serves the API docs without a token", async () => {
    await start();
    const first = await app.inject({ url: "/docs" });
    const page =
      first.statusCode === 302
        ? await app.inject({ url: `/docs/${first.headers.location ?? ""}`.replace("/docs//docs", "/docs") })
        : first;
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toContain("text/html");
  });
});

describe("every answer", () => {
  it("carries helmet's security headers: a read, a refusal, an unknown path and the docs", async () => {
    await start();
    const answers = [
      await app.inject({
        url: "/api/v1/departments",
        headers: { authorization: `Bearer ${await operator()}` },
      }),
      await app.inject({ url: "/api/v1/departments" }),
      await app.inject({ url: "/api/v1/nowhere" }),
      await app.inject({ url: "/docs" }),
    ];
    expect(answers.map((a) => a.statusCode)).toEqual([200, 401, 404, expect.any(Number)]);
    for (const answer of answers.slice(0, 2)) {
      expect(answer.headers["content-security-policy"]).toContain("default-src 'self'");
      expect(answer.headers["strict-transport-security"]).toBe("max-age=31536000; includeSubDomains");
      expect(answer.headers["x-content-type-options"]).toBe("nosniff");
      expect(answer.headers["x-frame-options"]).toBe("SAMEORIGIN");
      expect(answer.headers["cross-origin-opener-policy"]).toBe("same-origin");
    }
    for (const answer of answers.slice(2)) expect(answer.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("is logged once, when answered, with its route and status and never the caller's token", async () => {
    const lines: string[] = [];
    await start({ logLines: lines });
    const token = await operator();
    await app.inject({ url: "/api/v1/departments", headers: { authorization: `Bearer ${token}` } });
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged.filter((l) => l.msg === "request")).toEqual([
      expect.objectContaining({
        method: "GET",
        url: "/api/v1/departments",
        route: "/api/v1/departments",
        status: 200,
        ms: expect.any(Number),
        reqId: expect.any(String),
      }),
    ]);
    expect(logged.map((l) => l.msg)).not.toContain("incoming request");
    expect(lines.join("")).not.toContain(token.split(".")[2]);
  });
});

describe("request ids", () => {
  it("are generated by the API; a client's is kept apart, and only when well-formed", async () => {
    await start();
    const token = await operator();
    const sent = await app.inject({
      method: "POST",
      url: "/api/v1/departments",
      headers: { authorization: `Bearer ${token}`, "x-request-id": "client-7" },
      payload: createBody("abc"),
    });
    expect(sent.statusCode).toBe(201);
    expect(sent.headers["x-request-id"]).not.toBe("client-7");
    const bad = await app.inject({
      method: "POST",
      url: "/api/v1/departments",
      headers: { authorization: `Bearer ${token}`, "x-request-id": `forged ${"x".repeat(100)}` },
      payload: createBody("abd"),
    });
    expect(bad.statusCode).toBe(201);
    const written = records();
    const first = written.filter((r) => r.requestId === sent.headers["x-request-id"]);
    expect(first.map((r) => r.stage)).toEqual(["request", "response"]);
    expect(first.every((r) => r.clientRequestId === "client-7")).toBe(true);
    expect(written.some((r) => r.requestId === "client-7")).toBe(false);
    expect(
      written.filter((r) => r.requestId === bad.headers["x-request-id"]).every((r) => !r.clientRequestId),
    ).toBe(true);
  });
});

describe("audit", () => {
  it("counts anonymous traffic instead of recording each request (and never its URL)", async () => {
    await start();
    const long = "x".repeat(4_000);
    for (let i = 0; i < 300; i++)
      await app.inject({
        method: "POST",
        url: `/api/v1/departments?q=${long}${i}`,
        headers: { authorization: `Bearer junk-${i}` },
        payload: {},
      });
    expect(statSync(auditPath(), { throwIfNoEntry: false })?.size ?? 0).toBe(0);
    await app.close();
    const written = records();
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ action: "anonymous.refused", summary: { total: 300 } });
    expect(JSON.stringify(written[0])).not.toContain(long);
  });

  it("refuses a write it cannot record, without performing it", async () => {
    await start();
    rmSync(dir, { recursive: true });
    mkdirSync(auditPath(), { recursive: true }); // the log's place is a directory: nothing can be appended
    const response = await app.inject({
      method: "POST",
      url: "/api/v1/departments",
      headers: { authorization: `Bearer ${await operator()}` },
      payload: createBody("abe"),
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ type: "https://govhost.io/problems/audit-unavailable" });
    expect(calls.filter((c) => c.startsWith("create"))).toEqual([]);
  });

  it("records a refused change without its body, and answers alike whether the department exists", async () => {
    await start();
    const outsider = await sign({ sub: "o-1", groups: ["lcsd-admins"] });
    const answers = [];
    for (const dept of ["immd", "nosuch"]) {
      const response = await app.inject({
        method: "PATCH",
        url: `/api/v1/departments/${dept}`,
        headers: { authorization: `Bearer ${outsider}` },
        payload: { spec: { costCentre: "STOLEN-1" } },
      });
      answers.push({ status: response.statusCode, body: response.json().detail.replace(dept, "D") });
    }
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0]?.status).toBe(403);
    const text = readFileSync(auditPath(), "utf8");
    expect(text).not.toContain("STOLEN-1");
    expect(text).not.toContain(String(immd.spec.costCentre));
  });

  it("keeps the name a create's body gives in its request record, so a crash's unanswered write can be looked up", async () => {
    await start();
    await app.inject({
      method: "POST",
      url: "/api/v1/departments",
      headers: { authorization: `Bearer ${await operator()}`, "x-request-id": "mk-abe" },
      payload: createBody("abe"),
    });
    const request = records().find((r) => r.stage === "request" && r.clientRequestId === "mk-abe");
    expect(request?.target).toMatchObject({ kind: "route", name: "/api/v1/departments", object: "abe" });
    expect(resolvableWrites[request?.action ?? ""]?.effect).toBe("create");
  });

  it("has a way to resolve, or a reason not to, for every signed-in write the OpenAPI document offers", async () => {
    await start();
    const document = (await app.inject({ url: "/openapi.json" })).json() as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    const writes = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(
          ([method, op]) => ["post", "put", "patch", "delete"].includes(method) && op.security?.length !== 0,
        )
        .map(([method]) => `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ":$1")}`),
    );
    expect(writes.length).toBeGreaterThan(10);
    const covered = new Set([...Object.keys(resolvableWrites), ...Object.keys(unresolvableWrites)]);
    expect(writes.filter((w) => !covered.has(w))).toEqual([]);
    expect([...covered].filter((w) => !writes.includes(w))).toEqual([]);
  });
});

describe("rate limits", () => {
  it("limit by address whatever bogus Authorization header is sent", async () => {
    await start({ rateLimitPerMinute: 20 });
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++)
      statuses.push(
        (await app.inject({ url: "/api/v1/departments", headers: { authorization: `Bearer bogus${i}` } }))
          .statusCode,
      );
    expect(statuses.filter((s) => s === 429).length).toBe(10);
  });

  it("limit each client behind a trusted proxy by its forwarded address, and believe no one else's", async () => {
    const burst = async (forwarded: (i: number) => string) => {
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++)
        statuses.push(
          (await app.inject({ url: "/api/v1/departments", headers: { "x-forwarded-for": forwarded(i) } }))
            .statusCode,
        );
      return statuses.filter((s) => s === 429).length;
    };
    // inject connects from 127.0.0.1: trusted, so two citizens behind it have 20 each.
    await start({ rateLimitPerMinute: 20, trustedProxies: ["127.0.0.1/32"] });
    expect(await burst((i) => `203.0.113.${i % 2}`)).toBe(0);
    await app.close();
    // Not trusted: whatever it forwards, it is one address.
    await start({ rateLimitPerMinute: 20, trustedProxies: ["10.244.0.0/24"] });
    expect(await burst((i) => `203.0.113.${i % 2}`)).toBe(10);
  });

  it("limit one user across all of their tokens", async () => {
    await start({ rateLimitPerMinute: 20 });
    const tokens = [
      await operator(),
      await sign({ sub: "op-1", groups: ["govhost:platform-operators"], n: 2 }),
    ];
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++)
      statuses.push(
        (
          await app.inject({
            url: "/api/v1/departments",
            headers: { authorization: `Bearer ${tokens[i % 2]}` },
          })
        ).statusCode,
      );
    expect(statuses.filter((s) => s === 429).length).toBe(10);
  });
});

describe("usage over a metering ledger", () => {
  it("answers 503 ledger-unavailable, never a figure, when a department's ledger head is hand-edited", async () => {
    await start();
    stored.set("govhost-default", defaultRateCard as KubeObject);
    stored.set(ledgerName("immd"), {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: ledgerName("immd"), namespace: "govhost-system" },
      data: { head: '{"generation":1,"shards":"many"}' },
    } as KubeObject);
    const response = await app.inject({
      url: "/api/v1/usage?department=immd",
      headers: { authorization: `Bearer ${await operator()}` },
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ type: "https://govhost.io/problems/ledger-unavailable" });
  });
});

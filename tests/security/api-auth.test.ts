import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { KubeClient } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import type { RunningPortalApi } from "../../portal-api/app.ts";
import type { AuditRecord } from "../../portal-api/audit/chain.ts";
import { kubeConfigFrom } from "../../tools/cluster/credentials.ts";
import { loginAs } from "../../tools/oidc/login.ts";
import { type LocalProvider, startLocalProvider } from "../../tools/oidc/provider.ts";
import { departmentManifest } from "../fixtures/departments.ts";
import { uniqueName } from "../integration/support/kube.ts";
import { startTestPortalApi, testAudience } from "../integration/support/portal-api.ts";

// Issue #17, findings 14, 16 (portal API parts) and 17, and the token checks that already held (forged,
// unsigned, foreign tokens): each attack performed against the real portal API with real tokens.

const audience = testAudience;
const chineseName = "陳大文";
const users = {
  operator: { name: "Op", groups: ["govhost:platform-operators"] },
  auditor: { name: "Aud", groups: ["govhost:auditors"] },
  outsider: { name: "Out", groups: ["someone-else"] },
  [chineseName]: { name: "Chan Tai-man", groups: ["govhost:platform-operators"] },
};
let provider: LocalProvider;
let api: RunningPortalApi;
let admin: KubeClient;
let dir: string;
const tokens: Record<string, string> = {};

async function call(
  role: string | undefined,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  const bearer = options.token ?? (role ? tokens[role] : undefined);
  if (bearer !== undefined) headers.authorization = `Bearer ${bearer}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  return {
    status: response.status,
    type,
    headers: response.headers,
    text,
    body: (type.includes("json") && text ? JSON.parse(text) : {}) as Record<string, unknown>,
  };
}

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const payloadOf = (token: string) =>
  JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());

beforeAll(async () => {
  provider = await startLocalProvider({ audience, users });
  for (const role of Object.keys(users)) tokens[role] = await loginAs(provider.issuer, role, audience);
  dir = mkdtempSync(join(tmpdir(), "govhost-sec-auth-"));
  admin = await KubeClient.fromKubeConfig(kubeConfigFrom(inject("kubeconfig")));
  api = await startTestPortalApi(provider.issuer, join(dir, "audit.log"));
}, 120_000);

afterAll(async () => {
  await api?.close();
  await provider?.close();
  admin?.close();
  rmSync(dir, { recursive: true, force: true });
});

const auditRecords = () =>
  readFileSync(join(dir, "audit.log"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as AuditRecord);

describe("tokens that must be refused (401 problem+json, never 500)", () => {
  const routes = ["/api/v1/departments", "/api/v1/catalogue/shared-services", "/api/v1/usage?window=7d"];

  it("refuses malformed bearer tokens", async () => {
    for (const token of ["x", "a.b.c", "e30.e30.e30", "...."])
      for (const route of routes) {
        const response = await call(undefined, "GET", route, { token });
        expect(response.status, `${route} with Bearer ${token}: ${response.text.slice(0, 200)}`).toBe(401);
        expect(response.type).toContain("application/problem+json");
        expect(response.body).toMatchObject({
          type: "https://govhost.io/problems/unauthorized",
          status: 401,
        });
      }
  });

  it("refuses an unsigned (alg: none) token carrying an operator's claims", async () => {
    const unsigned = `${encode({ alg: "none", typ: "at+jwt" })}.${encode(payloadOf(tokens.operator as string))}.`;
    const response = await call(undefined, "GET", "/api/v1/departments", { token: unsigned });
    expect(response.status).toBe(401);
    expect(response.body.detail).toMatch(/accepted algorithm/);
  });

  it("refuses a forged token (an outsider's token with the operators' group)", async () => {
    const [header, , signature] = (tokens.outsider as string).split(".");
    const forged = `${header}.${encode({ ...payloadOf(tokens.outsider as string), groups: ["govhost:platform-operators"] })}.${signature}`;
    const response = await call(undefined, "POST", "/api/v1/departments", {
      token: forged,
      body: { name: uniqueName("sf"), spec: departmentManifest("x").spec },
    });
    expect(response.status).toBe(401);
    expect(response.body.detail).toMatch(/signature does not verify/);
  });

  it("refuses a token from another issuer", async () => {
    const stranger = await startLocalProvider({ audience, users });
    try {
      const token = await loginAs(stranger.issuer, "operator", audience);
      const response = await call(undefined, "GET", "/api/v1/departments", { token });
      expect(response.status).toBe(401);
    } finally {
      await stranger.close();
    }
  });
});

describe("nothing a caller sends is reflected or trusted", () => {
  it("never echoes the token's alg (or anything of it) into WWW-Authenticate", async () => {
    const hostile = `${encode({ alg: 'HS256", error_uri="https://evil.example/', typ: "at+jwt" })}.e30.c2ln`;
    const response = await call(undefined, "GET", "/api/v1/departments", { token: hostile });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="govhost", error="invalid_token"');
    expect(response.text).not.toContain("evil.example");
    const none = await call(undefined, "GET", "/api/v1/departments");
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="govhost"');
  });

  it("never uses a client's x-request-id as the audit record's request id", async () => {
    const name = uniqueName("sg");
    const forgedId = "00000000-0000-4000-8000-000000000017";
    const response = await call("operator", "POST", "/api/v1/departments", {
      body: { name, spec: departmentManifest(name).spec },
      headers: { "x-request-id": forgedId },
    });
    await admin.delete(resources.department, name);
    expect(response.status).toBe(201);
    const records = auditRecords().filter((r) => r.target.name === name);
    expect(records.length).toBeGreaterThan(0);
    for (const record of records) {
      expect(record.requestId).not.toBe(forgedId);
      expect(record.clientRequestId).toBe(forgedId);
    }
    // The API's own id, returned to the client, is the one in the records.
    const ours = response.headers.get("x-request-id");
    expect(ours).toMatch(/^[0-9a-f-]{36}$/);
    for (const record of records) expect(record.requestId).toBe(ours);
    // An ill-formed client id is not kept at all.
    const other = uniqueName("sh");
    await call("operator", "POST", "/api/v1/departments", {
      body: { name: other, spec: departmentManifest(other).spec },
      headers: { "x-request-id": `<script>${"x".repeat(200)}` },
    });
    await admin.delete(resources.department, other);
    expect(auditRecords().filter((r) => r.target.name === other && r.clientRequestId !== undefined)).toEqual(
      [],
    );
  });
});

describe("who the API acts as", () => {
  it("acts for a user with a non-Latin-1 name (no 500) as the issuer-scoped subject, encoded", async () => {
    const name = uniqueName("si");
    const response = await call(chineseName, "POST", "/api/v1/departments", {
      body: { name, spec: departmentManifest(name).spec },
    });
    expect(response.status, response.text.slice(0, 300)).toBe(201);
    await admin.delete(resources.department, name);
    const record = auditRecords().find((r) => r.target.name === name && r.stage === "response");
    expect(record?.actor).toMatchObject({
      username: `${provider.issuer}#${encodeURIComponent(chineseName)}`,
      subject: chineseName,
      displayName: chineseName,
    });
  });
});

describe("the API documentation", () => {
  it("serves GET /docs without a token", async () => {
    const response = await fetch(`${api.url}/docs`);
    const page = await response.text();
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(page).toContain("swagger");
  });
});

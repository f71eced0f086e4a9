import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resources } from "../../lib/kube/resources.ts";
import type { RunningPortalApi } from "../../portal-api/app.ts";
import type { AuditRecord } from "../../portal-api/audit/chain.ts";
import { loginAs } from "../../tools/oidc/login.ts";
import { type LocalProvider, startLocalProvider } from "../../tools/oidc/provider.ts";
import { departmentManifest } from "../fixtures/departments.ts";
import {
  isReady,
  useAdminAndController,
  waitForDepartment,
  waitForQuotaToCount,
} from "../integration/support/govhost.ts";
import { uniqueName } from "../integration/support/kube.ts";
import { startTestPortalApi, testAudience } from "../integration/support/portal-api.ts";

// Issue #17, findings 11 and 16 (the refused PATCH), and the cross-department reads that already held:
// performed as real department users against the real portal API, API server and controller.

const env = useAdminAndController();
const own = uniqueName("ta");
const other = uniqueName("tb");
const audience = testAudience;
// Real identity providers put many groups in a token that mean nothing to the platform.
const noise = ["all-staff", "vpn-users", "Domain Users", "sharepoint:readers"];
const users = {
  admin: { name: "Adm", groups: [`${own}-admins`, ...noise] },
  operator: { name: "Op", groups: ["govhost:platform-operators", ...noise] },
  auditor: { name: "Aud", groups: ["govhost:auditors"] },
};
let provider: LocalProvider;
let api: RunningPortalApi;
let dir: string;
const tokens: Record<string, string> = {};

async function call(role: keyof typeof users, method: string, path: string, body?: unknown) {
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${tokens[role]}`,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get("content-type") ?? "",
    body: (text ? JSON.parse(text) : {}) as Record<string, unknown>,
    text,
  };
}

beforeAll(async () => {
  provider = await startLocalProvider({ audience, users });
  for (const dept of [own, other])
    await env.admin.create(
      departmentManifest(dept, { environments: ["dev"], costCentre: `CC-SECRET-${dept.toUpperCase()}` }),
    );
  for (const dept of [own, other]) await waitForDepartment(env.admin, dept, isReady, "ready");
  await waitForQuotaToCount(env.admin, `${own}-dev`, "count/eservices.govhost.io");
  dir = mkdtempSync(join(tmpdir(), "govhost-sec-tenancy-"));
  api = await startTestPortalApi(provider.issuer, join(dir, "audit.log"));
  for (const role of Object.keys(users)) tokens[role] = await loginAs(provider.issuer, role, audience);
}, 240_000);

afterAll(async () => {
  await api?.close();
  await provider?.close();
  for (const dept of [own, other]) await env.admin?.delete(resources.department, dept);
  rmSync(dir, { recursive: true, force: true });
});

describe("groups the platform does not know", () => {
  it("do not break a department admin's write (only known groups are impersonated)", async () => {
    const response = await call("admin", "POST", `/api/v1/departments/${own}/environments/dev/eservices`, {
      name: "web",
      spec: { image: "registry.gov.example/ta/web:1.0.0", exposure: "internal", replicas: 1 },
    });
    expect(response.status, response.text.slice(0, 300)).toBe(201);
    expect(await env.admin.find(resources.eservice, "web", `${own}-dev`)).toBeDefined();
  });

  it("do not break an operator's write either", async () => {
    const name = uniqueName("tc");
    const response = await call("operator", "POST", "/api/v1/departments", {
      name,
      spec: departmentManifest(name).spec,
    });
    expect(response.status, response.text.slice(0, 300)).toBe(201);
    await env.admin.delete(resources.department, name);
  });
});

describe("another department", () => {
  it("a refused PATCH stores nothing of the other department and is recorded without its body", async () => {
    const refused = await call("admin", "PATCH", `/api/v1/departments/${other}`, {
      spec: { contacts: [{ name: "Mallory", email: "mallory@evil.example" }] },
    });
    expect(refused.status).toBe(403);
    expect(refused.type).toContain("application/problem+json");
    const log = readFileSync(join(dir, "audit.log"), "utf8");
    expect(log).not.toContain(`CC-SECRET-${other.toUpperCase()}`);
    expect(log).not.toContain("mallory@evil.example");
    const records = log
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as AuditRecord)
      .filter((r) => r.target.department === other);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ result: { status: 403, outcome: "denied" } });
    expect(records[0]?.before).toBeUndefined();
    expect(records[0]?.after).toBeUndefined();
  });

  it("answers alike whether a department the caller has no role in exists or not", async () => {
    const missing = uniqueName("tz");
    const requests: [string, string, unknown?][] = [
      ["PATCH", "/api/v1/departments/D", { spec: { contacts: [] } }],
      ["GET", "/api/v1/departments/D"],
      ["GET", "/api/v1/departments/D/environments"],
      ["GET", "/api/v1/departments/D/environments/dev/eservices"],
      ["GET", "/api/v1/departments/D/statements"],
      ["GET", "/api/v1/departments/D/scorecard"],
      ["GET", "/api/v1/departments/D/environments/dev/eservices/portal/performance"],
      ["DELETE", "/api/v1/departments/D"],
    ];
    for (const [method, path, body] of requests) {
      const existing = await call("admin", method, path.replace("D", other), body);
      const absent = await call("admin", method, path.replace("D", missing), body);
      expect(existing.status, `${method} ${path}`).toBe(403);
      expect(absent.status, `${method} ${path}`).toBe(existing.status);
      expect(String(absent.body.detail).replace(missing, "D")).toBe(
        String(existing.body.detail).replace(other, "D"),
      );
    }
    expect(await env.admin.find(resources.department, other)).toBeDefined();
  });

  it("cannot be read: departments list, e-services, statements, service performance", async () => {
    const listed = (await call("admin", "GET", "/api/v1/departments")).body as { items: { name: string }[] };
    expect(listed.items.map((d) => d.name)).toEqual([own]);
    for (const path of [
      `/api/v1/departments/${other}`,
      `/api/v1/departments/${other}/environments/dev/eservices`,
      `/api/v1/departments/${other}/statements`,
      `/api/v1/departments/${other}/budget`,
      `/api/v1/departments/${other}/scorecard`,
      `/api/v1/departments/${other}/environments/dev/eservices/portal/performance`,
    ])
      expect((await call("admin", "GET", path)).status, path).toBe(403);
    const usage = await call("admin", "GET", `/api/v1/usage?department=${other}&window=7d`);
    expect(usage.status).toBe(403);
  });
});

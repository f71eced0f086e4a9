import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { managedByValue } from "../../controller/api/group.ts";
import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { platformOwned } from "../../policies/keys.ts";
import type { RunningPortalApi } from "../../portal-api/app.ts";
import { loginAs } from "../../tools/oidc/login.ts";
import { type LocalProvider, startLocalProvider } from "../../tools/oidc/provider.ts";
import { departmentManifest } from "../fixtures/departments.ts";
import {
  isReady,
  useAdminAndController,
  waitForDepartment,
  waitForQuotaToCount,
} from "../integration/support/govhost.ts";
import { eventually, uniqueName } from "../integration/support/kube.ts";
import { startTestPortalApi, testAudience } from "../integration/support/portal-api.ts";

// Issue #17 through the portal API: finding 6 (a developer changed the image of, or deleted, a public
// e-service) and finding 10 (a namespace name alone made one department's route reach another's
// namespace). Real users, real API, real API server and controller.

const env = useAdminAndController();
const dept = uniqueName("pub");
const squatted = uniqueName("sq");
const late = uniqueName("late");
const audience = testAudience;
const users = {
  admin: { name: "Boss", groups: [`${dept}-admins`, `${squatted}-admins`, `${late}-admins`] },
  developer: { name: "Dev", groups: [`${dept}-developers`] },
};
let provider: LocalProvider;
let api: RunningPortalApi;
let dir: string;
const tokens: Record<string, string> = {};
const base = `/api/v1/departments/${dept}/environments/prod/eservices`;

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
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown>, text };
}

beforeAll(async () => {
  provider = await startLocalProvider({ audience, users });
  await env.admin.create(
    departmentManifest(dept, { environments: ["prod"], domains: [`${dept}.gov.example`] }),
  );
  await waitForDepartment(env.admin, dept, isReady, "ready");
  await waitForQuotaToCount(env.admin, `${dept}-prod`, "count/eservices.govhost.io");
  // A namespace with the squatted department's name that the platform made for another department.
  await env.admin.create({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: `${squatted}-dev`,
      labels: {
        [platformOwned.department]: dept,
        [platformOwned.environment]: "squat",
        [platformOwned.managedBy]: managedByValue,
      },
    },
  });
  await env.admin.create({
    apiVersion: "govhost.io/v1alpha1",
    kind: "EService",
    metadata: { name: "secret-service", namespace: `${squatted}-dev` },
    spec: {
      image: `registry.gov.example/${dept}/secret:1.0.0`,
      serviceCluster: "x",
      accessibility: { paths: ["/"] },
    },
  });
  await env.admin.create(departmentManifest(squatted, { environments: ["dev"] }));
  dir = mkdtempSync(join(tmpdir(), "govhost-sec-publish-"));
  api = await startTestPortalApi(provider.issuer, join(dir, "audit.log"));
  for (const role of Object.keys(users)) tokens[role] = await loginAs(provider.issuer, role, audience);
}, 240_000);

afterAll(async () => {
  await api?.close();
  await provider?.close();
  for (const name of [dept, squatted, late]) await env.admin?.delete(resources.department, name);
  await env.admin?.delete(resources.namespace, `${squatted}-dev`);
  rmSync(dir, { recursive: true, force: true });
});

describe("finding 6: the API refuses a developer what admission refuses", () => {
  it("a developer can neither change nor delete a public e-service; an admin can", async () => {
    const created = await call("admin", "POST", base, {
      name: "portal",
      spec: { image: `registry.gov.example/${dept}/portal:1.0.0`, exposure: "public", replicas: 1 },
    });
    expect(created.status, created.text.slice(0, 300)).toBe(201);

    const changed = await call("developer", "PATCH", `${base}/portal`, {
      spec: { image: `registry.gov.example/${dept}/portal:6.6.6` },
    });
    expect(changed.status).toBe(403);
    expect(String(changed.body.detail)).toContain("eservice publish");
    const deleted = await call("developer", "DELETE", `${base}/portal`);
    expect(deleted.status).toBe(403);
    const stored = await env.admin.get<KubeObject & { spec: { image: string } }>(
      resources.eservice,
      "portal",
      `${dept}-prod`,
    );
    expect(stored.spec.image).toBe(`registry.gov.example/${dept}/portal:1.0.0`);

    const byAdmin = await call("admin", "PATCH", `${base}/portal`, {
      spec: { image: `registry.gov.example/${dept}/portal:1.0.1` },
    });
    expect(byAdmin.status, byAdmin.text.slice(0, 300)).toBe(200);
  });

  it("a developer still changes and deletes internal e-services", async () => {
    const created = await call("developer", "POST", base, {
      name: "internal",
      spec: { image: `registry.gov.example/${dept}/internal:1.0.0`, exposure: "internal", replicas: 1 },
    });
    expect(created.status, created.text.slice(0, 300)).toBe(201);
    expect((await call("developer", "PATCH", `${base}/internal`, { spec: { replicas: 2 } })).status).toBe(
      200,
    );
    expect((await call("developer", "DELETE", `${base}/internal`)).status).toBe(202);
  });

  it("an e-service created through the API is not Deployed while no replica is available", async () => {
    type Conditions = { status?: { conditions?: { type: string; status: string; reason: string }[] } };
    const deployed = await eventually("portal: Deployed reported", async () => {
      const es = await env.admin.get<KubeObject & Conditions>(resources.eservice, "portal", `${dept}-prod`);
      return es.status?.conditions?.find((c) => c.type === "Deployed");
    });
    expect(deployed).toMatchObject({ status: "False", reason: "NoAvailableReplicas" });
  });
});

describe("a department whose groups the API has not been granted yet", () => {
  type Role = KubeObject & { rules: { resourceNames: string[] }[] };
  const impersonationRole = "govhost-portal-api-impersonation";
  // The window between a Department appearing and the controller granting the API its groups, held open:
  // the new department's admin group is taken out of the grant (and put back at the end).
  async function grant(group: string, granted: boolean) {
    await eventually(`${group} ${granted ? "granted" : "withdrawn"}`, async () => {
      const role = await env.admin.get<Role>(resources.clusterRole, impersonationRole);
      const [rule] = role.rules;
      if (!rule) throw new Error(`${impersonationRole} has no rule`);
      const names = rule.resourceNames.filter((name) => name !== group);
      rule.resourceNames = granted ? [...names, group].sort() : names;
      await env.admin.replace(role);
      return true;
    });
  }
  const lateEServices = `/api/v1/departments/${late}/environments/dev/eservices`;

  it("does not stop its members from acting where they already may, and lets them in once granted", async () => {
    await env.admin.create(departmentManifest(late, { environments: ["dev"] }));
    await waitForDepartment(env.admin, late, isReady, "ready");
    await grant(`${late}-admins`, false);
    // The API no longer counts the group: the admin has no role in the new department yet.
    const refused = await eventually("the API stops counting the withdrawn group", async () => {
      const response = await call("admin", "GET", lateEServices);
      return response.status === 403 ? response : undefined;
    });
    expect(String(refused.body.detail)).toContain(`no role in department ${late}`);
    // Acting as a group not granted would make the API server refuse the whole request: a write where the
    // admin already may would fail for a reason they cannot see.
    const created = await call("admin", "POST", base, {
      name: "early",
      spec: { image: `registry.gov.example/${dept}/early:1.0.0`, exposure: "internal", replicas: 1 },
    });
    expect(created.status, created.text.slice(0, 300)).toBe(201);

    await grant(`${late}-admins`, true);
    const listed = await eventually("the new department's e-services listed for its admin", async () => {
      const response = await call("admin", "GET", lateEServices);
      return response.status === 200 ? response : undefined;
    });
    expect(listed.body).toMatchObject({ items: [] });
  });
});

describe("finding 10: a route reaches only the namespace provisioned for it", () => {
  it("an environment whose namespace belongs to someone else answers 404, never the other's objects", async () => {
    const listed = await call("admin", "GET", `/api/v1/departments/${squatted}/environments/dev/eservices`);
    expect(listed.status).toBe(404);
    expect(listed.text).not.toContain("secret-service");
    const read = await call(
      "admin",
      "GET",
      `/api/v1/departments/${squatted}/environments/dev/eservices/secret-service`,
    );
    expect(read.status).toBe(404);
  });
});

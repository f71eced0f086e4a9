import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { platformDefaults } from "../../controller/api/defaults.ts";
import { periodOf } from "../../lib/chargeback/calendar.ts";
import { KubeClient, type KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { type RunningPortalApi, startPortalApi } from "../../portal-api/app.ts";
import { kubeConfigFrom } from "../../tools/cluster/credentials.ts";
import { clientToken, loginAs } from "../../tools/oidc/login.ts";
import { type LocalProvider, startLocalProvider } from "../../tools/oidc/provider.ts";
import { apiClient } from "../../tools/oidc/users.ts";
import {
  departmentManifest,
  isReady,
  rejection,
  useAdminAndController,
  waitForDepartment,
  waitForQuotaToCount,
} from "./support/govhost.ts";
import { eventually, uniqueName } from "./support/kube.ts";
import { startTestPortalApi, testAudience } from "./support/portal-api.ts";

// The portal API with real tokens from a real OpenID provider (oidc-provider, started here), against the
// real API server: the authorization matrix, token validation, admission errors as problem+json, audit.

const env = useAdminAndController();
const own = uniqueName("pa");
const other = uniqueName("pb");
const audience = testAudience;
const roles = ["operator", "finance", "auditor", "admin", "developer", "viewer", "outsider"] as const;
type Role = (typeof roles)[number];

let provider: LocalProvider;
let api: RunningPortalApi;
let auditDir: string;
const tokens = {} as Record<Role, string>;

const users = {
  operator: { name: "Op", groups: ["govhost:platform-operators"] },
  finance: { name: "Fin", groups: ["govhost:finance"] },
  auditor: { name: "Aud", groups: ["govhost:auditors"] },
  admin: { name: "Adm", groups: [`${own}-admins`] },
  developer: { name: "Dev", groups: [`${own}-developers`] },
  viewer: { name: "View", groups: [`${own}-viewers`] },
  outsider: { name: "Out", groups: ["someone-else"] },
};

async function call(role: Role | undefined, method: string, path: string, body?: unknown, token?: string) {
  const headers: Record<string, string> = {};
  const bearer = token ?? (role ? tokens[role] : undefined);
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const type = response.headers.get("content-type") ?? "";
  return {
    status: response.status,
    type,
    body: type.includes("json") && text ? (JSON.parse(text) as Record<string, unknown>) : text,
    headers: response.headers,
  };
}

const eserviceBody = (name: string, exposure = "internal", image = "registry.gov.example/pa/web:1.0.0") => ({
  name,
  spec: { image, exposure, replicas: 1 },
});

beforeAll(async () => {
  provider = await startLocalProvider({ audience, otherAudiences: ["https://elsewhere.test"], users });
  for (const dept of [own, other])
    await env.admin.create(departmentManifest(dept, { environments: ["dev"] }));
  for (const dept of [own, other]) await waitForDepartment(env.admin, dept, isReady, "ready");
  await waitForQuotaToCount(env.admin, `${own}-dev`, "count/eservices.govhost.io");
  await waitForQuotaToCount(env.admin, `${other}-dev`, "count/eservices.govhost.io");
  auditDir = mkdtempSync(join(tmpdir(), "govhost-audit-"));
  api = await startTestPortalApi(provider.issuer, join(auditDir, "audit.log"));
  for (const role of roles) tokens[role] = await loginAs(provider.issuer, role, audience);
}, 180_000);

afterAll(async () => {
  await api?.close();
  await provider?.close();
  for (const dept of [own, other]) await env.admin?.delete(resources.department, dept);
  rmSync(auditDir, { recursive: true, force: true });
});

/** Which roles may do what, on their own department; nobody but platform roles may act on another. */
interface Case {
  name: string;
  allowed: Role[];
  request: (dept: string, role: Role, i: number) => { method: string; path: string; body?: unknown };
  success: number;
}

const cases: Case[] = [
  {
    name: "read the department",
    allowed: ["operator", "finance", "auditor", "admin", "developer", "viewer"],
    request: (dept) => ({ method: "GET", path: `/api/v1/departments/${dept}` }),
    success: 200,
  },
  {
    name: "list environments",
    allowed: ["operator", "finance", "auditor", "admin", "developer", "viewer"],
    request: (dept) => ({ method: "GET", path: `/api/v1/departments/${dept}/environments` }),
    success: 200,
  },
  {
    name: "list e-services",
    allowed: ["operator", "auditor", "admin", "developer", "viewer"],
    request: (dept) => ({ method: "GET", path: `/api/v1/departments/${dept}/environments/dev/eservices` }),
    success: 200,
  },
  {
    name: "create an internal e-service",
    allowed: ["operator", "admin", "developer"],
    request: (dept, role, i) => ({
      method: "POST",
      path: `/api/v1/departments/${dept}/environments/dev/eservices`,
      body: eserviceBody(`int-${role}-${i}`),
    }),
    success: 201,
  },
  {
    name: "create a public e-service",
    allowed: ["operator", "admin"],
    request: (dept, role, i) => ({
      method: "POST",
      path: `/api/v1/departments/${dept}/environments/dev/eservices`,
      body: eserviceBody(`pub-${role}-${i}`, "public"),
    }),
    success: 201,
  },
  {
    name: "list shared-service subscriptions",
    allowed: ["operator", "auditor", "admin", "developer", "viewer"],
    request: (dept) => ({
      method: "GET",
      path: `/api/v1/departments/${dept}/environments/dev/shared-services`,
    }),
    success: 200,
  },
  {
    name: "subscribe to a shared service",
    allowed: ["operator", "admin"],
    request: (dept, role, i) => ({
      method: "POST",
      path: `/api/v1/departments/${dept}/environments/dev/shared-services`,
      body: { name: `ws-${role}-${i}`, spec: { service: "collaboration-workspace", plan: "team" } },
    }),
    success: 201,
  },
  {
    name: "read statements",
    allowed: ["operator", "finance", "auditor", "admin"],
    request: (dept) => ({ method: "GET", path: `/api/v1/departments/${dept}/statements` }),
    success: 200,
  },
  {
    name: "read the department's service-performance scorecard",
    allowed: ["operator", "auditor", "admin", "developer", "viewer"],
    request: (dept) => ({ method: "GET", path: `/api/v1/departments/${dept}/scorecard` }),
    success: 200,
  },
  {
    name: "read the budget",
    allowed: ["operator", "finance", "auditor", "admin"],
    request: (dept) => ({ method: "GET", path: `/api/v1/departments/${dept}/budget` }),
    success: 200,
  },
  {
    name: "query usage",
    allowed: ["operator", "finance", "auditor", "admin"],
    request: (dept) => ({
      method: "GET",
      path: `/api/v1/usage?department=${dept}&window=7d&aggregate=resource`,
    }),
    success: 200,
  },
  {
    name: "read policy reports",
    allowed: ["operator", "auditor", "admin", "developer", "viewer"],
    request: (dept) => ({ method: "GET", path: `/api/v1/departments/${dept}/policy-reports` }),
    success: 200,
  },
  {
    name: "change the department's contacts",
    allowed: ["operator", "admin"],
    request: (dept, role) => ({
      method: "PATCH",
      path: `/api/v1/departments/${dept}`,
      body: { spec: { contacts: [{ name: `Contact via ${role}`, email: `it@${dept}.gov.example` }] } },
    }),
    success: 200,
  },
  {
    name: "change the department's quota",
    allowed: ["operator"],
    request: (dept) => ({
      method: "PATCH",
      path: `/api/v1/departments/${dept}`,
      body: { spec: { suspended: false } },
    }),
    success: 200,
  },
];

describe("authorization matrix: every role x every route x own and other department", () => {
  let i = 0;
  for (const c of cases) {
    for (const role of roles) {
      for (const which of ["own", "other"] as const) {
        const platform = role === "operator" || role === "finance" || role === "auditor";
        const expectAllowed = c.allowed.includes(role) && (which === "own" || platform);
        it(`${role} ${expectAllowed ? "may" : "may not"} ${c.name} (${which} department)`, async () => {
          const dept = which === "own" ? own : other;
          const request = c.request(dept, role, i++);
          const response = await call(role, request.method, request.path, request.body);
          if (expectAllowed) {
            expect(response.status, JSON.stringify(response.body)).toBe(c.success);
          } else {
            expect(response.status).toBe(403);
            expect(response.type).toContain("application/problem+json");
            expect(response.body).toMatchObject({
              type: "https://govhost.io/problems/forbidden",
              status: 403,
            });
          }
        });
      }
    }
  }

  it("lists only the departments a department role may see; platform roles see all", async () => {
    const names = async (role: Role) =>
      ((await call(role, "GET", "/api/v1/departments")).body as { items: { name: string }[] }).items.map(
        (d) => d.name,
      );
    expect(await names("admin")).toEqual([own]);
    expect(await names("outsider")).toEqual([]);
    expect(await names("finance")).toEqual(expect.arrayContaining([own, other]));
  });

  it("gives one month's statement totals for exactly the departments a role may read statements of", async () => {
    // Statements as the metering controller writes them (its label), for a month long past.
    const period = "2001-02";
    const names = [own, other].map((dept) => `${dept}-${period}`);
    for (const [index, dept] of [own, other].entries())
      await env.admin.create({
        apiVersion: "govhost.io/v1alpha1",
        kind: "ChargebackStatement",
        metadata: {
          name: names[index],
          labels: { "govhost.io/department": dept, "govhost.io/period": period },
        },
        spec: {
          department: dept,
          period,
          currency: "HKD",
          lines: [],
          totalMinor: 100 + index,
          finalized: false, // a draft: a finalized statement can never be deleted (GH-FIN-001)
        },
      });
    try {
      const totals = async (role: Role) => {
        const response = await call(role, "GET", `/api/v1/statements?period=${period}`);
        expect(response.status, JSON.stringify(response.body)).toBe(200);
        return (response.body as { items: { department: string; totalMinor: number }[] }).items.filter(
          (item) => item.department === own || item.department === other,
        );
      };
      expect(await totals("finance")).toEqual([
        expect.objectContaining({ department: own, totalMinor: 100 }),
        expect.objectContaining({ department: other, totalMinor: 101 }),
      ]);
      expect(await totals("admin")).toEqual([expect.objectContaining({ department: own, totalMinor: 100 })]);
      for (const role of ["developer", "viewer", "outsider"] as const)
        expect((await call(role, "GET", `/api/v1/statements?period=${period}`)).status).toBe(403);
      const bad = await call("finance", "GET", "/api/v1/statements?period=2001-13");
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ field: "query.period" });
    } finally {
      for (const name of names) await env.admin.delete(resources.chargebackStatement, name);
    }
  });

  it("serves a statement that still changes from its cache as it changes, and a finalized one too", async () => {
    // The API keeps statements not labelled finalized in a watch cache; a finalized one is read from the
    // API server. Both must answer what is stored, to the same callers.
    const statementOf = (period: string, totalMinor: number, finalizedLabel?: string) => ({
      apiVersion: "govhost.io/v1alpha1",
      kind: "ChargebackStatement",
      metadata: {
        name: `${own}-${period}`,
        labels: {
          "govhost.io/department": own,
          "govhost.io/period": period,
          ...(finalizedLabel ? { "govhost.io/finalized": finalizedLabel } : {}),
        },
      },
      spec: {
        department: own,
        period,
        timeZone: "Asia/Hong_Kong",
        currency: "HKD",
        lines: [],
        totalMinor,
        finalized: false, // deletable after the test (GH-FIN-001 keeps finalized ones)
      },
    });
    const [open, closed] = ["2001-05", "2001-06"];
    await env.admin.create(statementOf(open, 500, "false"));
    await env.admin.create(statementOf(closed, 600, "true"));
    try {
      const total = async (role: Role, period: string) => {
        const response = await call(role, "GET", `/api/v1/departments/${own}/statements/${period}`);
        return response.status === 200
          ? (response.body as { totalMinor: number }).totalMinor
          : response.status;
      };
      await eventually("the open statement served", async () =>
        (await total("admin", open)) === 500 ? true : undefined,
      );
      expect(await total("admin", closed)).toBe(600);
      expect(await total("developer", open)).toBe(403);
      expect(await total("outsider", closed)).toBe(403);
      // A change reaches readers through the cache; so does leaving it (finalized) and a deletion.
      await env.admin.mergePatch(resources.chargebackStatement, `${own}-${open}`, {
        spec: { totalMinor: 501 },
      });
      await eventually("the change served", async () =>
        (await total("admin", open)) === 501 ? true : undefined,
      );
      await env.admin.mergePatch(resources.chargebackStatement, `${own}-${open}`, {
        metadata: { labels: { "govhost.io/finalized": "true" } },
        spec: { totalMinor: 502 },
      });
      await eventually("the finalized statement served", async () =>
        (await total("admin", open)) === 502 ? true : undefined,
      );
      await env.admin.delete(resources.chargebackStatement, `${own}-${closed}`);
      expect(await total("admin", closed)).toBe(404);
    } finally {
      for (const period of [open, closed])
        await env.admin.delete(resources.chargebackStatement, `${own}-${period}`).catch(() => {});
    }
  });

  it("serves an environment's e-service listing from its cache, showing a create at once to its writer", async () => {
    // The API keeps each environment's rendered listing until one of its e-services changes: a create
    // through the API is in the next listing, any other change once the watch brings it.
    const path = `/api/v1/departments/${own}/environments/dev/eservices`;
    const listed = async () => {
      const response = await call("developer", "GET", path);
      expect(response.status).toBe(200);
      expect(response.type).toBe("application/json; charset=utf-8");
      return (response.body as { items: { name: string; spec: { replicas: number } }[] }).items;
    };
    const [first, second] = [uniqueName("ls"), uniqueName("ls")];
    const before = (await listed()).map((item) => item.name);
    expect((await call("developer", "POST", path, eserviceBody(first))).status).toBe(201);
    expect((await listed()).map((item) => item.name)).toEqual([...before, first].sort());
    expect((await call("developer", "POST", path, eserviceBody(second))).status).toBe(201);
    expect((await listed()).map((item) => item.name)).toEqual([...before, first, second].sort());

    await env.admin.mergePatch(
      resources.eservice,
      first,
      { spec: { replicas: 3 } },
      { namespace: `${own}-dev` },
    );
    await eventually("a change made outside the API listed", async () =>
      (await listed()).find((item) => item.name === first)?.spec.replicas === 3 ? true : undefined,
    );
    expect((await call("developer", "DELETE", `${path}/${second}`)).status).toBe(202);
    await eventually("the deleted e-service gone from the listing once its finalizer ran", async () =>
      (await listed()).some((item) => item.name === second) ? undefined : true,
    );
    // Another department's developer is refused the listing, cached or not.
    expect(
      (await call("developer", "GET", `/api/v1/departments/${other}/environments/dev/eservices`)).status,
    ).toBe(403);
    await call("developer", "DELETE", `${path}/${first}`);
  });

  it("shows an e-service's cost in the scorecard only to those who may read statements", async () => {
    const period = "2001-03";
    const eservice = uniqueName("card");
    const created = await call("admin", "POST", `/api/v1/departments/${own}/environments/dev/eservices`, {
      ...eserviceBody(eservice),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const line = (amountMinor: number, environment: string) => ({
      environment,
      eservice,
      resource: "eservice",
      unit: "eservice-month",
      quantity: "1",
      unitPriceMinor: String(amountMinor),
      amountMinor,
      priceVersion: "v1",
    });
    await env.admin.create({
      apiVersion: "govhost.io/v1alpha1",
      kind: "ChargebackStatement",
      metadata: {
        name: `${own}-${period}`,
        labels: { "govhost.io/department": own, "govhost.io/period": period },
      },
      spec: {
        department: own,
        period,
        timeZone: "Asia/Hong_Kong",
        currency: "HKD",
        // Another environment's line of the same name is not this e-service's.
        lines: [line(1234, "dev"), line(99, "prod")],
        totalMinor: 1333,
        finalized: false,
      },
    });
    try {
      const row = async (role: Role) => {
        const response = await call(role, "GET", `/api/v1/departments/${own}/scorecard?period=${period}`);
        expect(response.status, JSON.stringify(response.body)).toBe(200);
        return (response.body as { rows: { eservice: string; cost: unknown; verdict: string }[] }).rows.find(
          (r) => r.eservice === eservice,
        );
      };
      expect(await row("admin")).toMatchObject({
        verdict: "no-targets",
        cost: {
          currency: "HKD",
          amountMinor: 1234,
          perCompletedTransactionMinor: null,
          statementFinalized: false,
        },
      });
      expect(await row("auditor")).toMatchObject({ cost: { amountMinor: 1234 } });
      for (const role of ["developer", "viewer"] as const)
        expect(await row(role)).toMatchObject({ cost: null });
      const csv = await fetch(`${api.url}/api/v1/departments/${own}/scorecard?period=${period}`, {
        headers: { authorization: `Bearer ${tokens.admin}`, accept: "text/csv" },
      });
      expect(csv.status).toBe(200);
      expect(csv.headers.get("content-type")).toContain("text/csv");
      const text = await csv.text();
      expect(text.split("\r\n")[0]).toMatch(/^department,period,environment,eservice,verdict,/);
      // requests, serverErrors, started, completed, completion rate, p95, probes, probes down, availability,
      // ratings, satisfaction.
      expect(text).toContain(`${own},${period},dev,${eservice},no-targets,0,0,0,0,,,0,0,,0,,,,HKD,1234,,`);
      const one = await call(
        "viewer",
        "GET",
        `/api/v1/departments/${own}/environments/dev/eservices/${eservice}/performance?period=${period}`,
      );
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({
        eservice,
        cost: null,
        figures: { requests: 0, completed: 0 },
        targets: [],
      });
      const bad = await call("admin", "GET", `/api/v1/departments/${own}/scorecard?period=2001-3`);
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ field: "query.period" });
    } finally {
      await env.admin.delete(resources.chargebackStatement, `${own}-${period}`);
      await call("admin", "DELETE", `/api/v1/departments/${own}/environments/dev/eservices/${eservice}`);
    }
  });

  it("scores a month of three e-services, naming exactly the one missing its targets and by how much", async () => {
    const period = "2001-06";
    const names = [uniqueName("sa"), uniqueName("sb"), uniqueName("sc")] as const;
    const goals = [
      { monthlyCompletedTransactions: 5, completionRatePercent: 50 },
      { monthlyCompletedTransactions: 5, completionRatePercent: 50 },
      { monthlyCompletedTransactions: 10, completionRatePercent: 80 },
    ];
    const counted = [
      [10, 8],
      [6, 6],
      [10, 7],
    ] as const;
    for (const [index, name] of names.entries()) {
      const created = await call("admin", "POST", `/api/v1/departments/${own}/environments/dev/eservices`, {
        name,
        spec: {
          image: "registry.gov.example/pa/web:1.0.0",
          exposure: "internal",
          replicas: 1,
          targets: goals[index],
        },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
    }
    // The month's counts as the controller stores them.
    await env.admin.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: `govhost-traffic-${own}`, namespace: "govhost-system" },
      data: {
        baselines: "{}",
        months: JSON.stringify({
          [period]: Object.fromEntries(
            names.map((name, index) => [
              `${own}-dev/${name}`,
              {
                requests: 50,
                serverErrors: 0,
                started: counted[index]?.[0],
                completed: counted[index]?.[1],
                latency: {},
              },
            ]),
          ),
        }),
      },
    });
    try {
      const card = await call("admin", "GET", `/api/v1/departments/${own}/scorecard?period=${period}`);
      expect(card.status, JSON.stringify(card.body)).toBe(200);
      const rows = (
        card.body as { rows: { eservice: string; verdict: string; missed: unknown[] }[] }
      ).rows.filter((r) => (names as readonly string[]).includes(r.eservice));
      // The one missing its targets first, with exactly which and by how much; the others meet theirs.
      expect(rows.map((r) => [r.eservice, r.verdict])).toEqual([
        [names[2], "misses-targets"],
        [names[0], "meets-every-measured-target"],
        [names[1], "meets-every-measured-target"],
      ]);
      expect(rows[0]?.missed).toEqual([
        { target: "monthlyCompletedTransactions", goal: 10, actual: 7, difference: -3 },
        { target: "completionRatePercent", goal: 80, actual: 70, difference: -10 },
      ]);
      expect(rows[1]?.missed).toEqual([]);
      // The same in the CSV: the row's goal, actual and status per target.
      const csv = await fetch(`${api.url}/api/v1/departments/${own}/scorecard?period=${period}`, {
        headers: { authorization: `Bearer ${tokens.admin}`, accept: "text/csv" },
      });
      const text = await csv.text();
      const [header, ...lines] = text.trim().split("\r\n");
      const columns = (header as string).split(",");
      const missing = lines
        .map((l) => l.split(","))
        .find((cells) => cells[columns.indexOf("eservice")] === names[2]);
      const cell = (column: string) => missing?.[columns.indexOf(column)];
      expect([
        cell("verdict"),
        cell("monthlyCompletedTransactions.actual"),
        cell("monthlyCompletedTransactions.status"),
      ]).toEqual(["misses-targets", "7", "missed"]);
      expect([cell("completionRatePercent.goal"), cell("completionRatePercent.actual")]).toEqual([
        "80",
        "70",
      ]);
    } finally {
      await env.admin.delete(resources.configMap, `govhost-traffic-${own}`, "govhost-system");
      for (const name of names)
        await call("admin", "DELETE", `/api/v1/departments/${own}/environments/dev/eservices/${name}`);
    }
  });

  it("ranks the departments a role may read for the central office, with each service cluster's figures", async () => {
    const period = "2001-05";
    const cluster = uniqueName("cl");
    const names: Record<string, string> = { [own]: uniqueName("rk"), [other]: uniqueName("rk") };
    const completed: Record<string, number> = { [own]: 6, [other]: 3 };
    const spec = (image: string) => ({
      image,
      exposure: "internal",
      replicas: 1,
      serviceCluster: cluster,
      targets: { monthlyCompletedTransactions: 5 },
    });
    const created = await call("admin", "POST", `/api/v1/departments/${own}/environments/dev/eservices`, {
      name: names[own],
      spec: spec("registry.gov.example/pa/web:1.0.0"),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // The other department's e-service, made by the platform (the caller has no role there).
    await env.admin.create({
      apiVersion: "govhost.io/v1alpha1",
      kind: "EService",
      metadata: { name: names[other], namespace: `${other}-dev` },
      spec: spec("registry.gov.example/pb/web:1.0.0"),
    });
    // Each department's counts for a month long past, as the controller stores them.
    const store = (dept: string, months: string) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: `govhost-traffic-${dept}`, namespace: "govhost-system" },
      data: { months, baselines: "{}" },
    });
    const counts = (dept: string) =>
      JSON.stringify({
        [period]: {
          [`${dept}-dev/${names[dept]}`]: {
            requests: 20,
            serverErrors: 0,
            started: 8,
            completed: completed[dept],
            latency: {},
          },
        },
      });
    for (const dept of [own, other]) await env.admin.create(store(dept, counts(dept)));
    try {
      const ranking = async (role: Role) => {
        const response = await call(role, "GET", `/api/v1/scorecards?period=${period}`);
        expect(response.status, JSON.stringify(response.body)).toBe(200);
        return response.body as {
          departments: { department: string; rank: number | null; unavailable?: string }[];
          serviceClusters: { cluster: string }[];
        };
      };
      const central = await ranking("operator");
      const standings = central.departments.filter((d) => d.department === own || d.department === other);
      // own met its one measured target, other missed it: own ranks above other.
      expect(standings).toEqual([
        expect.objectContaining({
          department: own,
          targetsMeasured: 1,
          targetsMet: 1,
          scorePercent: 100,
          missingTargets: 0,
        }),
        expect.objectContaining({
          department: other,
          targetsMeasured: 1,
          targetsMet: 0,
          scorePercent: 0,
          missingTargets: 1,
        }),
      ]);
      expect(standings[0]?.rank).toBeLessThan(standings[1]?.rank as number);
      expect(central.serviceClusters.find((c) => c.cluster === cluster)).toEqual({
        cluster,
        eservices: 2,
        departments: 2,
        requests: 40,
        started: 16,
        completed: 9,
        completionRatePercent: (100 * 9) / 16,
        probes: 0,
        probesDown: 0,
        availabilityPercent: null,
        otherChannelTransactions: 0,
        digitalTakeUpPercent: null,
        missingTargets: 1,
      });
      expect((await ranking("auditor")).departments.map((d) => d.department)).toEqual(
        expect.arrayContaining([own, other]),
      );
      // A department's own people see a ranking of their department only; finance reads no e-services.
      const mine = await ranking("admin");
      expect(mine.departments.map((d) => d.department)).toEqual([own]);
      expect(mine.serviceClusters.find((c) => c.cluster === cluster)).toMatchObject({
        eservices: 1,
        completed: 6,
      });
      for (const role of ["finance", "outsider"] as const) {
        const refused = await call(role, "GET", `/api/v1/scorecards?period=${period}`);
        expect(refused.status).toBe(403);
        expect(refused.type).toContain("application/problem+json");
      }
      // A store that cannot be read is that department's note, not the whole ranking's failure.
      const stored = await env.admin.get<KubeObject>(
        resources.configMap,
        `govhost-traffic-${other}`,
        "govhost-system",
      );
      await env.admin.replace({ ...stored, data: { months: "{" } } as KubeObject);
      const broken = (await ranking("operator")).departments.find((d) => d.department === other);
      expect(broken?.rank).toBeNull();
      expect(broken?.unavailable).toContain("not JSON");
    } finally {
      for (const dept of [own, other])
        await env.admin.delete(resources.configMap, `govhost-traffic-${dept}`, "govhost-system");
      await env.admin.delete(resources.eservice, names[own] as string, `${own}-dev`);
      await env.admin.delete(resources.eservice, names[other] as string, `${other}-dev`);
    }
  });

  it("takes a department's other-channel transactions and measures digital take-up against them, audited", async () => {
    const period = periodOf(Date.now(), platformDefaults.timeZone);
    const eservice = uniqueName("tu");
    const created = await call("admin", "POST", `/api/v1/departments/${own}/environments/dev/eservices`, {
      name: eservice,
      spec: { ...eserviceBody(eservice).spec, targets: { digitalTakeUpPercent: 80 } },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const path = (dept: string, month = period, name = eservice) =>
      `/api/v1/departments/${dept}/environments/dev/eservices/${name}/other-channels/${month}`;
    const takeUp = async () => {
      const card = await call("viewer", "GET", `/api/v1/departments/${own}/scorecard?period=${period}`);
      expect(card.status, JSON.stringify(card.body)).toBe(200);
      return (
        card.body as {
          rows: { eservice: string; figures: Record<string, unknown>; targets: Record<string, unknown>[] }[];
        }
      ).rows.find((row) => row.eservice === eservice);
    };
    // 300 completed online this month, as the controller stores the ingress's counts.
    await env.admin.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: `govhost-traffic-${own}`, namespace: "govhost-system" },
      data: {
        baselines: "{}",
        months: JSON.stringify({
          [period]: {
            [`${own}-dev/${eservice}`]: {
              requests: 400,
              serverErrors: 0,
              started: 320,
              completed: 300,
              latency: {},
            },
          },
        }),
      },
    });
    try {
      // Nothing reported yet: zero channels, and the target is not measured, saying what is missing.
      const empty = await call("viewer", "GET", path(own));
      expect(empty.body).toEqual({
        department: own,
        environment: "dev",
        eservice,
        period,
        channels: {},
        totalTransactions: 0,
        reportedAt: null,
      });
      expect((await takeUp())?.targets).toEqual([
        expect.objectContaining({
          target: "digitalTakeUpPercent",
          status: "not-measured",
          reason: expect.stringContaining("other-channels"),
        }),
      ]);
      // Only the department's developers and admins (and operators) report; nobody for another department.
      for (const role of ["viewer", "finance", "auditor", "outsider"] as const) {
        const refused = await call(role, "PUT", path(own), { channels: { counter: 1 } });
        expect(refused.status, role).toBe(403);
        expect(refused.type).toContain("application/problem+json");
      }
      expect((await call("admin", "PUT", path(other), { channels: { counter: 1 } })).status).toBe(403);
      // Bad input names the field and changes nothing.
      const invalid: [unknown, string][] = [
        [{ channels: { counter: -1 } }, "body.channels.counter"],
        [{ channels: { counter: 1.5 } }, "body.channels.counter"],
        [{ channels: { fax: 3 } }, "body.channels.fax"],
        [{ channels: {} }, "body.channels"],
        [{ channels: { counter: 1 }, note: "x" }, "body.note"],
      ];
      for (const [body, field] of invalid) {
        const bad = await call("developer", "PUT", path(own), body);
        expect(bad.status, JSON.stringify(body)).toBe(400);
        const fields = [
          (bad.body as { field?: string }).field,
          ...((bad.body as { errors?: { field: string }[] }).errors ?? []).map((e) => e.field),
        ];
        expect(fields, JSON.stringify(bad.body)).toContain(field);
      }
      for (const month of ["2999-01", "2001-01"]) {
        const bad = await call("developer", "PUT", path(own, month), { channels: { counter: 1 } });
        expect(bad.status, month).toBe(422);
        expect(bad.body).toMatchObject({ field: "period", fix: expect.stringContaining(period) });
      }
      expect(
        (await call("developer", "PUT", path(own, period, uniqueName("nx")), { channels: { counter: 1 } }))
          .status,
      ).toBe(404);
      expect(
        await env.admin.find(resources.configMap, `govhost-channels-${own}`, "govhost-feedback"),
      ).toBeUndefined();

      // 100 by counter, phone and post: 300 ÷ 400 = 75 %, five points short of the goal.
      const reported = await call("developer", "PUT", path(own), {
        channels: { counter: 60, phone: 30, post: 10 },
      });
      expect(reported.status, JSON.stringify(reported.body)).toBe(200);
      expect(reported.body).toMatchObject({
        channels: { counter: 60, phone: 30, post: 10 },
        totalTransactions: 100,
      });
      expect((await call("viewer", "GET", path(own))).body).toEqual(reported.body);
      const row = await takeUp();
      expect(row?.figures).toMatchObject({
        completed: 300,
        otherChannelTransactions: 100,
        digitalTakeUpPercent: 75,
      });
      expect(row?.targets).toEqual([
        { target: "digitalTakeUpPercent", goal: 80, actual: 75, status: "missed", difference: -5 },
      ]);
      const csv = await fetch(`${api.url}/api/v1/departments/${own}/scorecard?period=${period}`, {
        headers: { authorization: `Bearer ${tokens.admin}`, accept: "text/csv" },
      });
      const [header, ...lines] = (await csv.text()).trim().split("\r\n");
      const columns = (header as string).split(",");
      const cells = lines.map((l) => l.split(",")).find((c) => c[columns.indexOf("eservice")] === eservice);
      expect(
        ["otherChannelTransactions", "digitalTakeUpPercent", "digitalTakeUpPercent.status"].map(
          (column) => cells?.[columns.indexOf(column)],
        ),
      ).toEqual(["100", "75", "missed"]);

      // A correction replaces the month's report: all online now, the goal met.
      const corrected = await call("admin", "PUT", path(own), { channels: { counter: 0 } });
      expect(corrected.body).toMatchObject({ channels: { counter: 0 }, totalTransactions: 0 });
      expect((await takeUp())?.targets).toEqual([
        { target: "digitalTakeUpPercent", goal: 80, actual: 100, status: "met", difference: 20 },
      ]);
      // Each report is on record: who, and what it replaced.
      const records = readFileSync(join(auditDir, "audit.log"), "utf8")
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as Record<string, unknown> & { action: string; stage: string })
        .filter((r) => r.action === "eservice.report-other-channels" && r.stage === "response");
      expect(
        records
          .filter((r) => (r.target as { name: string }).name === eservice)
          .map((r) => [(r.actor as { displayName: string }).displayName, r.before, r.after]),
      ).toEqual([
        ["developer", null, { counter: 60, phone: 30, post: 10 }],
        ["admin", { counter: 60, phone: 30, post: 10 }, { counter: 0 }],
      ]);
    } finally {
      await env.admin.delete(resources.configMap, `govhost-traffic-${own}`, "govhost-system");
      await env.admin.delete(resources.configMap, `govhost-channels-${own}`, "govhost-feedback");
      await call("admin", "DELETE", `/api/v1/departments/${own}/environments/dev/eservices/${eservice}`);
    }
  });

  it("shows an e-service's feedback to the department's own people only, and takes none for an unpublished one", async () => {
    const eservice = uniqueName("fb");
    const created = await call("admin", "POST", `/api/v1/departments/${own}/environments/dev/eservices`, {
      ...eserviceBody(eservice),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const path = (dept: string) =>
      `/api/v1/departments/${dept}/environments/dev/eservices/${eservice}/feedback`;
    try {
      for (const role of ["admin", "developer", "viewer"] as const) {
        const read = await call(role, "GET", path(own));
        expect(read.status, JSON.stringify(read.body)).toBe(200);
        expect(read.body).toMatchObject({
          eservice,
          ratings: 0,
          satisfiedPercent: null,
          distribution: [0, 0, 0, 0, 0],
          retentionDays: 90,
          comments: [],
        });
      }
      // Who read the comments is on record (a sensitive read), with nothing of what they read.
      const records = readFileSync(join(auditDir, "audit.log"), "utf8")
        .trim()
        .split("\n")
        .map(
          (line) =>
            JSON.parse(line) as { action: string; target: { name: string }; actor: { displayName: string } },
        )
        .filter(
          (r) => r.action === "GET /api/v1/departments/:dept/environments/:env/eservices/:name/feedback",
        );
      expect(records.map((r) => r.actor.displayName)).toEqual(
        expect.arrayContaining(["admin", "developer", "viewer"]),
      );
      expect(records.every((r) => r.target.name === path(own))).toBe(true);
      // Platform-wide roles read satisfaction in the reports, not citizens' comments.
      for (const role of ["operator", "auditor", "finance", "outsider"] as const) {
        const refused = await call(role, "GET", path(own));
        expect(refused.status, role).toBe(403);
        expect(refused.type).toContain("application/problem+json");
      }
      expect((await call("admin", "GET", path(other))).status).toBe(403);
      // Anyone may rate a public e-service; this one is internal, so there is nothing to rate.
      for (const dept of [own, uniqueName("nx")]) {
        const posted = await fetch(`${api.url}${path(dept)}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ rating: 5 }),
        });
        expect(posted.status).toBe(404);
        expect(posted.headers.get("content-type")).toContain("application/problem+json");
      }
      for (const store of [`govhost-ratings-${own}`, `govhost-comments-${own}`])
        expect(await env.admin.find(resources.configMap, store, "govhost-feedback")).toBeUndefined();
    } finally {
      await call("admin", "DELETE", `/api/v1/departments/${own}/environments/dev/eservices/${eservice}`);
    }
  });

  it("shows the rate card in force to everyone signed in, and to no one else", async () => {
    for (const role of roles) {
      const response = await call(role, "GET", "/api/v1/rate-card");
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ currency: "HKD", inForce: { cpuCoreHour: expect.any(String) } });
    }
    expect((await call(undefined, "GET", "/api/v1/rate-card")).status).toBe(401);
  });

  it("names a new subscription in Location, like every other create", async () => {
    const name = uniqueName("loc");
    const path = `/api/v1/departments/${own}/environments/dev/shared-services`;
    const created = await call("admin", "POST", path, {
      name,
      spec: { service: "collaboration-workspace", plan: "team" },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const location = created.headers.get("location");
    expect(location).toBe(`${path}/${name}`);
    const read = await call("admin", "GET", location as string);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ name });
  });

  it("creates departments and reads the audit log for operators only (and auditors read it)", async () => {
    const created = uniqueName("pc");
    for (const role of roles.filter((r) => r !== "operator")) {
      const denied = await call(role, "POST", "/api/v1/departments", {
        name: created,
        spec: departmentManifest(created).spec,
      });
      expect(denied.status).toBe(403);
    }
    const ok = await call("operator", "POST", "/api/v1/departments", {
      name: created,
      spec: departmentManifest(created).spec,
    });
    expect(ok.status).toBe(201);
    expect(ok.headers.get("location")).toBe(`/api/v1/departments/${created}`);
    await env.admin.delete(resources.department, created);
    for (const role of roles) {
      const audit = await call(role, "GET", "/api/v1/audit?limit=5");
      expect(audit.status).toBe(role === "operator" || role === "auditor" ? 200 : 403);
    }
  });

  it("reports the department's metered usage: the e-services created above, priced by the rate card", async () => {
    const eservice = await eventually(
      "the e-service usage to be metered",
      async () => {
        const response = await call(
          "finance",
          "GET",
          `/api/v1/usage?department=${own}&window=today&aggregate=resource`,
        );
        const items = (
          response.body as { items: { key: string; quantities: Record<string, { quantity: string }> }[] }
        ).items;
        const line = items.find((i) => i.key === "eservice");
        return line && Number(line.quantities.eservice?.quantity) > 0 ? line : undefined;
      },
      60_000,
    );
    expect(eservice.quantities.eservice).toMatchObject({ unit: "eservice-month" });
    const bad = await call("finance", "GET", `/api/v1/usage?department=${own}&window=fortnight`);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ field: "query.window" });
  });

  it("lets every signed-in user browse the shared services catalogue", async () => {
    for (const role of roles) {
      const response = await call(role, "GET", "/api/v1/catalogue/shared-services");
      expect(response.status).toBe(200);
      const names = (response.body as { items: { name: string }[] }).items.map((s) => s.name);
      expect(names).toEqual(expect.arrayContaining(["collaboration-workspace", "records-management"]));
    }
    expect((await call(undefined, "GET", "/api/v1/catalogue/shared-services")).status).toBe(401);
  });

  it("lists the APIs departments publish to each other for anyone with a role, with who may ask", async () => {
    await env.admin.create({
      apiVersion: "govhost.io/v1alpha1",
      kind: "ApiExport",
      metadata: { name: "permits", namespace: `${other}-dev` },
      spec: {
        eservice: "permits",
        description: { en: "Permit lookup", zhHant: "許可證查詢" },
        openApi: `https://permits.${other}.gov.example/openapi.json`,
        dataClassification: "RESTRICTED",
        consumers: { departments: [own] },
      },
    });
    const listed = async (role: Role) => {
      const response = await call(role, "GET", "/api/v1/api-catalogue");
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return (response.body as { items: Record<string, unknown>[] }).items.find(
        (a) => a.department === other && a.name === "permits",
      );
    };
    expect(await listed("viewer")).toEqual({
      department: other,
      environment: "dev",
      name: "permits",
      eservice: "permits",
      basePath: "/",
      description: { en: "Permit lookup", zhHant: "許可證查詢" },
      openApi: `https://permits.${other}.gov.example/openapi.json`,
      gatewayPath: `/${other}-dev/permits/`,
      dataClassification: "RESTRICTED",
      offeredToAll: false,
      mayAsk: [own],
    });
    expect((await listed("operator"))?.mayAsk).toEqual([]);
    const outsider = await call("outsider", "GET", "/api/v1/api-catalogue");
    expect(outsider.status).toBe(403);
    expect(outsider.type).toContain("application/problem+json");
    expect((await call(undefined, "GET", "/api/v1/api-catalogue")).status).toBe(401);
  });

  it("lets a department ask for another's API and the provider decide, as themselves, audited", async () => {
    // The export "permits" of the test above: offered to own, provided by other.
    const ask = (role: Role, name: string, classification = "RESTRICTED") =>
      call(role, "POST", `/api/v1/departments/${own}/environments/dev/api-grants`, {
        name,
        spec: {
          export: { department: other, environment: "dev", name: "permits" },
          purpose: "Check permits while processing applications",
          dataClassification: classification,
          expiresAt: new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d+Z$/, "Z"),
        },
      });
    expect((await ask("viewer", "by-viewer")).status).toBe(403);
    const above = await ask("developer", "above-ceiling", "CONFIDENTIAL");
    expect(above.status).toBe(422);
    expect(JSON.stringify(above.body)).toContain("GH-API-002");
    const asked = await ask("developer", "permits");
    expect(asked.status, JSON.stringify(asked.body)).toBe(201);
    const listed = await call("viewer", "GET", `/api/v1/departments/${own}/environments/dev/api-grants`);
    expect((listed.body as { items: { name: string }[] }).items.map((g) => g.name)).toEqual(["permits"]);

    // The provider sees the request; the consumer's admin may not read the provider's requests.
    const incoming = await call("operator", "GET", `/api/v1/departments/${other}/api-requests`);
    expect((incoming.body as { items: { namespace: string; name: string }[] }).items).toEqual([
      expect.objectContaining({ namespace: `${own}-dev`, name: "permits" }),
    ]);
    expect((await call("admin", "GET", `/api/v1/departments/${other}/api-requests`)).status).toBe(403);

    const decide = (role: Role, dept: string) =>
      call(role, "POST", `/api/v1/departments/${dept}/environments/dev/api-exports/permits/decisions`, {
        grant: { namespace: `${own}-dev`, name: "permits" },
        decision: "approved",
        reason: "Legal basis: Permits Ordinance s.12",
      });
    // The consumer's admin is no admin of the provider; a request for another export is not found.
    expect((await decide("admin", other)).status).toBe(403);
    expect((await decide("operator", own)).status).toBe(404);
    const decided = await decide("operator", other);
    expect(decided.status, JSON.stringify(decided.body)).toBe(201);
    const decisions = await env.admin.list<KubeObject & { spec: Record<string, unknown> }>(
      resources.apiGrantDecision,
      { namespace: `${other}-dev` },
    );
    const grant = await env.admin.get<KubeObject>(resources.apiGrant, "permits", `${own}-dev`);
    expect(decisions.items.map((d) => d.spec)).toEqual([
      {
        grant: {
          namespace: `${own}-dev`,
          name: "permits",
          uid: grant.metadata?.uid,
          generation: grant.metadata?.generation,
        },
        export: "permits",
        decision: "approved",
        decidedBy: (decided.body as { decidedBy: string }).decidedBy,
        reason: "Legal basis: Permits Ordinance s.12",
      },
    ]);
    expect((decided.body as { decidedBy: string }).decidedBy).toMatch(/#operator$/);
    const audit = await call("auditor", "GET", "/api/v1/audit?limit=1000");
    const actions = (audit.body as { items: { action: string; target: { name: string } }[] }).items
      .filter((r) => r.target.name === "permits")
      .map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(["api-grant.request", "api-grant.approve"]));
  });

  it("serves the public service catalogue and OpenAPI without a token", async () => {
    expect((await call(undefined, "GET", "/api/v1/service-clusters")).status).toBe(200);
    const openapi = await call(undefined, "GET", "/openapi.json");
    expect(openapi.body).toMatchObject({ openapi: "3.1.0" });
    expect(Object.keys((openapi.body as { paths: object }).paths)).toEqual(
      expect.arrayContaining([
        "/api/v1/departments/{dept}/environments/{env}/eservices",
        "/api/v1/departments/{dept}/statements/{period}",
      ]),
    );
  });
});

describe("the API's own identity", () => {
  it("may impersonate the departments' groups but never a Kubernetes system group", async () => {
    const apiIdentity = await KubeClient.fromKubeConfig(kubeConfigFrom(inject("portalApiKubeconfig")));
    try {
      const asMaster = apiIdentity.impersonating({ user: "mallory", groups: ["system:masters"] });
      expect((await rejection(asMaster.list(resources.namespace))).code).toBe(403);
      const asAdmin = apiIdentity.impersonating({ user: "admin", groups: [`${own}-admins`] });
      const eservices = await eventually("the department's groups to be impersonable", async () =>
        asAdmin.list(resources.eservice, { namespace: `${own}-dev` }).catch(() => undefined),
      );
      expect(eservices.items).toBeDefined();
    } finally {
      apiIdentity.close();
    }
  });
});

describe("tokens", () => {
  const payloadOf = (token: string) =>
    JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

  async function refused(token: string | undefined, why: RegExp) {
    const response = await call(undefined, "GET", `/api/v1/departments/${own}`, undefined, token);
    expect(response.status).toBe(401);
    expect(response.type).toContain("application/problem+json");
    expect(response.headers.get("www-authenticate")).toContain("Bearer");
    expect(String((response.body as { detail: string }).detail)).toMatch(why);
  }

  it("refuses a missing token", async () => {
    await refused(undefined, /No bearer token/);
  });

  it("refuses a token for another audience", async () => {
    await refused(await loginAs(provider.issuer, "operator", "https://elsewhere.test"), /another audience/);
  });

  it("refuses a token from another issuer", async () => {
    const stranger = await startLocalProvider({ audience, users });
    try {
      await refused(await loginAs(stranger.issuer, "operator", audience), /unknown key|another issuer/);
    } finally {
      await stranger.close();
    }
  });

  it("refuses an unsigned token (alg: none)", async () => {
    const unsigned = `${encode({ alg: "none", typ: "at+jwt" })}.${encode(payloadOf(tokens.operator))}.`;
    await refused(unsigned, /accepted algorithm|malformed/);
  });

  it("refuses a tampered token (groups changed to operator)", async () => {
    const [header, , signature] = tokens.outsider.split(".");
    const payload = { ...payloadOf(tokens.outsider), groups: ["govhost:platform-operators"] };
    await refused(`${header}.${encode(payload)}.${signature}`, /signature does not verify/);
  });

  it("refuses an expired token", async () => {
    const shortLived = await startLocalProvider({ audience, users, accessTokenTtlSeconds: 1 });
    const verifierOfShort = await startPortalApi({
      kubeconfig: kubeConfigFrom(inject("portalApiKubeconfig")),
      tokens: {
        issuer: shortLived.issuer,
        audience,
        clientId: apiClient.id,
        clientSecret: apiClient.secret,
        allowHttpIssuer: true,
      },
      auditPath: join(auditDir, "short.log"),
      host: "127.0.0.1",
      port: 0,
      logger: false,
    });
    try {
      const token = await loginAs(shortLived.issuer, "operator", audience);
      await new Promise((resolve) => setTimeout(resolve, 7_000)); // past expiry and the 5 s clock tolerance
      const response = await fetch(`${verifierOfShort.url}/api/v1/departments`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { detail: string }).detail).toMatch(/expired/);
    } finally {
      await verifierOfShort.close();
      await shortLived.close();
    }
  });

  it("accepts a machine client's client-credentials token with the client's groups", async () => {
    const token = await clientToken(
      provider.issuer,
      "immd-pipeline",
      "local-demo-only-immd-pipeline",
      audience,
    );
    const response = await call(undefined, "GET", "/api/v1/departments", undefined, token);
    expect(response.status).toBe(200);
  });
});

describe("writes", () => {
  it("turns an admission refusal into 422 problem+json naming the rule, field and fix", async () => {
    const response = await call(
      "developer",
      "POST",
      `/api/v1/departments/${own}/environments/dev/eservices`,
      eserviceBody("foreign", "internal", "docker.io/library/nginx:1.27"),
    );
    expect(response.status).toBe(422);
    expect(response.type).toContain("application/problem+json");
    expect(response.body).toMatchObject({
      type: "https://govhost.io/problems/policy-violation",
      rule: "GH-IMG-001",
      fix: expect.stringContaining("allowed registry"),
    });
    // Nothing was stored.
    expect(await env.admin.find(resources.eservice, "foreign", `${own}-dev`)).toBeUndefined();
  });

  it("reports bad input field by field and loses nothing", async () => {
    const response = await call(
      "developer",
      "POST",
      `/api/v1/departments/${own}/environments/dev/eservices`,
      {
        name: "Bad_Name",
        spec: { image: "registry.gov.example/x:1.0.0", exposure: "everywhere", colour: "blue" },
      },
    );
    expect(response.status).toBe(400);
    const fields = ((response.body as { errors: { field: string }[] }).errors ?? []).map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(["body.name", "body.spec.exposure", "body.spec.colour"]));
    const latest = await call(
      "developer",
      "POST",
      `/api/v1/departments/${own}/environments/dev/eservices`,
      eserviceBody("latest", "internal", "registry.gov.example/x:latest"),
    );
    expect(latest.status).toBe(422);
    expect(String((latest.body as { detail: string }).detail)).toContain("never latest");
  });

  it("records every mutating request in a hash chain that detects a modified or deleted record", async () => {
    const records = (await call("auditor", "GET", "/api/v1/audit?limit=1000")).body as {
      items: {
        action: string;
        actor: { username: string; displayName?: string };
        result: { outcome: string };
      }[];
    };
    // The API acts as the issuer-scoped subject; preferred_username is the display name.
    expect(
      records.items.some((r) => r.action === "eservice.create" && r.actor.displayName === "developer"),
    ).toBe(true);
    expect(records.items.some((r) => r.result.outcome === "denied")).toBe(true);
    expect((await call("auditor", "GET", "/api/v1/audit/verify")).body).toMatchObject({ valid: true });

    const path = join(auditDir, "audit.log");
    const original = readFileSync(path, "utf8");
    const lines = original.trim().split("\n");
    const edited = JSON.parse(lines[2] as string);
    edited.actor.username = "someone-else";
    writeFileSync(path, `${[...lines.slice(0, 2), JSON.stringify(edited), ...lines.slice(3)].join("\n")}\n`);
    expect((await call("auditor", "GET", "/api/v1/audit/verify")).body).toMatchObject({
      valid: false,
      brokenAt: 3,
    });

    writeFileSync(path, `${[...lines.slice(0, 4), ...lines.slice(5)].join("\n")}\n`);
    expect((await call("auditor", "GET", "/api/v1/audit/verify")).body).toMatchObject({
      valid: false,
      brokenAt: 5,
    });

    writeFileSync(path, `${lines.slice(0, -1).join("\n")}\n`);
    const truncated = (await call("auditor", "GET", "/api/v1/audit/verify")).body as {
      valid: boolean;
      reason: string;
    };
    expect(truncated.valid).toBe(false);
    expect(truncated.reason).toContain("records were removed");
    writeFileSync(path, original);
  });
});

describe("fuzzing every route's input (fast-check)", () => {
  const fuzzed = uniqueName("pf");
  beforeAll(async () => {
    await env.admin.create(departmentManifest(fuzzed, { environments: ["dev"] }));
    await waitForDepartment(env.admin, fuzzed, isReady, "ready");
  });

  const segment = fc.oneof(
    fc.constantFrom(
      fuzzed,
      "dev",
      "web",
      "2026-11",
      "2026-11.csv",
      "web:expose",
      "web:withdraw",
      "",
      "..",
      "%00",
    ),
    fc.string({ maxLength: 40 }).map((s) => encodeURIComponent(s)),
    fc.stringMatching(/^[a-z0-9-]{1,70}$/),
  );
  const routes: { method: string; path: (p: string[]) => string }[] = [
    { method: "GET", path: () => "/api/v1/departments" },
    { method: "POST", path: () => "/api/v1/departments" },
    { method: "GET", path: ([d]) => `/api/v1/departments/${d}` },
    { method: "PATCH", path: ([d]) => `/api/v1/departments/${d}` },
    { method: "GET", path: ([d, e]) => `/api/v1/departments/${d}/environments/${e}/eservices` },
    { method: "POST", path: ([d, e]) => `/api/v1/departments/${d}/environments/${e}/eservices` },
    { method: "GET", path: ([d, e, n]) => `/api/v1/departments/${d}/environments/${e}/eservices/${n}` },
    { method: "PATCH", path: ([d, e, n]) => `/api/v1/departments/${d}/environments/${e}/eservices/${n}` },
    { method: "POST", path: ([d, e, n]) => `/api/v1/departments/${d}/environments/${e}/eservices/${n}` },
    {
      method: "GET",
      path: ([d, e, n]) => `/api/v1/departments/${d}/environments/${e}/eservices/${n}/accessibility`,
    },
    { method: "GET", path: ([d]) => `/api/v1/departments/${d}/statements` },
    { method: "GET", path: ([d, p]) => `/api/v1/departments/${d}/statements/${p}` },
    { method: "GET", path: ([d]) => `/api/v1/departments/${d}/budget` },
    { method: "GET", path: ([p]) => `/api/v1/statements?period=${p}` },
    { method: "GET", path: () => "/api/v1/rate-card" },
    { method: "GET", path: ([d]) => `/api/v1/departments/${d}/environments` },
    {
      method: "GET",
      path: ([d, w, a]) => `/api/v1/usage?department=${d}&window=${w}&aggregate=${a}&step=${w}`,
    },
    { method: "GET", path: ([d]) => `/api/v1/departments/${d}/policy-reports` },
    { method: "GET", path: ([, q]) => `/api/v1/audit?limit=${q}&since=${q}` },
    { method: "GET", path: () => "/api/v1/service-clusters" },
    { method: "GET", path: () => "/api/v1/api-catalogue" },
    { method: "GET", path: ([d, e]) => `/api/v1/departments/${d}/environments/${e}/api-grants` },
    { method: "GET", path: ([d]) => `/api/v1/departments/${d}/api-requests` },
    { method: "POST", path: ([d, e]) => `/api/v1/departments/${d}/environments/${e}/api-grants` },
    {
      method: "POST",
      path: ([d, e, n]) => `/api/v1/departments/${d}/environments/${e}/api-exports/${n}/decisions`,
    },
  ];
  const body = fc.oneof(
    fc.jsonValue({ maxDepth: 4 }),
    fc.record({
      name: segment,
      spec: fc.oneof(
        fc.jsonValue({ maxDepth: 3 }),
        fc.record(
          {
            image: fc.oneof(fc.constant("registry.gov.example/f/web:1.0.0"), fc.string({ maxLength: 80 })),
            exposure: fc.oneof(fc.constantFrom("internal", "public"), fc.string()),
            replicas: fc.oneof(fc.integer({ min: -5, max: 100 }), fc.string()),
            accessibility: fc.jsonValue({ maxDepth: 2 }),
            contacts: fc.jsonValue({ maxDepth: 2 }),
          },
          { requiredKeys: [] },
        ),
      ),
    }),
  );

  it("answers every input with a non-5xx status and problem+json on every error", async () => {
    const seen = new Set<number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.array(segment, { minLength: 3, maxLength: 3 }),
        body,
        fc.constantFrom<Role>("operator", "developer", "outsider"),
        async (route, params, payload, role) => {
          const withBody = route.method !== "GET";
          const response = await fetch(`${api.url}${route.path(params)}`, {
            method: route.method,
            headers: {
              authorization: `Bearer ${tokens[role]}`,
              ...(withBody ? { "content-type": "application/json" } : {}),
            },
            body: withBody ? JSON.stringify(payload) : undefined,
          });
          const text = await response.text();
          seen.add(response.status);
          expect(
            response.status,
            `${route.method} ${route.path(params)} -> ${text.slice(0, 300)}`,
          ).toBeLessThan(500);
          if (response.status >= 400) {
            expect(response.headers.get("content-type")).toContain("application/problem+json");
            const problem = JSON.parse(text) as Record<string, unknown>;
            expect(problem).toMatchObject({
              type: expect.stringMatching(/^https:\/\/govhost\.io\/problems\//),
              status: response.status,
            });
            expect(typeof problem.title).toBe("string");
            expect(typeof problem.detail).toBe("string");
          }
        },
      ),
      { numRuns: 400 },
    );
    // The inputs reached the handlers, not only the validators.
    expect([...seen]).toEqual(expect.arrayContaining([200, 400, 403, 404]));
  }, 300_000);
});

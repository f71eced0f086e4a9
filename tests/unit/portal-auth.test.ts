import { describe, expect, it } from "vitest";
import { DepartmentSpec } from "../../controller/api/department.ts";
import { portalApiImpersonationRole } from "../../controller/api/rbac.ts";
import { impersonableGroups } from "../../controller/tenancy/impersonation.ts";
import { type AuditRecord, chain, verify } from "../../portal-api/audit/chain.ts";
import { actions, allowed, visibleDepartments } from "../../portal-api/auth/authorize.ts";
import { defaultRoleSettings, principalFrom } from "../../portal-api/auth/principal.ts";
import { mergePatchSchema } from "../../portal-api/routes/patch-schema.ts";
import { touchesOnlyRecords } from "../../portal-api/routes/shared-services.ts";
import { departmentManifest } from "../fixtures/departments.ts";

const departments = [
  {
    name: "immd",
    groups: { admins: ["immd-admins"], developers: ["immd-developers"], viewers: ["immd-viewers"] },
  },
  { name: "lcsd", groups: { admins: ["lcsd-admins"], developers: [], viewers: ["immd-admins"] } },
];
const principal = (claims: Record<string, unknown>) =>
  principalFrom(claims, departments, defaultRoleSettings);

describe("principal", () => {
  it("maps groups to platform roles and to the strongest role in each department", () => {
    const p = principal({
      iss: "https://idp.example",
      sub: "u1",
      preferred_username: "ivy",
      groups: ["immd-admins", "govhost:finance"],
    });
    // The user is the issuer-scoped subject (unique, not user-editable); preferred_username is for display.
    expect(p).toMatchObject({
      username: "https://idp.example#u1",
      displayName: "ivy",
      platformRoles: ["finance"],
      departments: { immd: "admin", lcsd: "viewer" },
    });
  });

  it("never accepts Kubernetes system groups or user names from a token", () => {
    const p = principal({
      sub: "u1",
      preferred_username: "x",
      groups: ["system:masters", "immd-developers"],
    });
    expect(p.groups).toEqual(["immd-developers"]);
  });

  it("names machine clients after their client id", () => {
    const p = principal({
      iss: "https://idp.example",
      sub: "pipeline",
      client_id: "pipeline",
      groups: "immd-developers",
    });
    expect(p).toMatchObject({
      machine: true,
      username: "https://idp.example#pipeline",
      departments: { immd: "developer" },
    });
  });
});

describe("authorization", () => {
  const as = (groups: string[]) => principal({ sub: "s", preferred_username: "u", groups });

  it("gives operators everything, auditors every read, finance the costs", () => {
    for (const action of actions)
      expect(allowed(as(["govhost:platform-operators"]), action, "immd")).toBe(true);
    const auditor = as(["govhost:auditors"]);
    for (const action of actions) expect(allowed(auditor, action, "immd")).toBe(action.endsWith(":read"));
    const finance = as(["govhost:finance"]);
    expect(actions.filter((a) => allowed(finance, a, "immd"))).toEqual([
      "department:read",
      "statement:read",
      "budget:read",
    ]);
  });

  it("limits department roles to their department, with publish and costs for admins only", () => {
    const developer = as(["immd-developers"]);
    expect(allowed(developer, "eservice:write", "immd")).toBe(true);
    expect(allowed(developer, "eservice:publish", "immd")).toBe(false);
    expect(allowed(developer, "api:request", "immd")).toBe(true);
    expect(allowed(developer, "api:decide", "immd")).toBe(false);
    expect(allowed(as(["immd-admins"]), "api:decide", "immd")).toBe(true);
    expect(allowed(as(["immd-admins"]), "api:decide", "lcsd")).toBe(false);
    expect(allowed(as(["immd-viewers"]), "api:request", "immd")).toBe(false);
    expect(allowed(developer, "statement:read", "immd")).toBe(false);
    expect(allowed(developer, "eservice:read", "lcsd")).toBe(false);
    expect(allowed(as(["immd-admins"]), "eservice:publish", "immd")).toBe(true);
    expect(allowed(as(["immd-admins"]), "eservice:write", "lcsd")).toBe(false);
    expect(allowed(as(["immd-admins"]), "department:create")).toBe(false);
    expect(visibleDepartments(as(["immd-admins"]), "department:read")).toEqual(["immd", "lcsd"]);
    expect(visibleDepartments(as(["govhost:auditors"]), "department:read")).toBeUndefined();
  });

  it("lets records managers read subscriptions and change their records fields, in every department, and nothing else", () => {
    const records = as(["govhost:records-managers"]);
    expect(actions.filter((a) => allowed(records, a, "lcsd"))).toEqual([
      "department:read",
      "shared-service:read",
      "shared-service:records",
    ]);
    expect(allowed(as(["immd-admins"]), "shared-service:records", "immd")).toBe(false);
  });

  it("knows a records-only subscription patch: legal holds and disposal approvals, nothing else", () => {
    expect(touchesOnlyRecords({ parameters: { legalHolds: [] } })).toBe(true);
    expect(touchesOnlyRecords({ disposalApprovals: [] })).toBe(true);
    expect(touchesOnlyRecords({ parameters: { legalHolds: [] }, disposalApprovals: [] })).toBe(true);
    expect(touchesOnlyRecords({ plan: "large" })).toBe(false);
    expect(touchesOnlyRecords({ parameters: { legalHolds: [], seats: 5 } })).toBe(false);
    expect(touchesOnlyRecords({ parameters: { retentionSchedules: [] } })).toBe(false);
    expect(touchesOnlyRecords({ parameters: null })).toBe(false);
    expect(touchesOnlyRecords({})).toBe(false);
    expect(touchesOnlyRecords({ parameters: {} })).toBe(false);
    expect(touchesOnlyRecords({ parameters: {}, disposalApprovals: [] })).toBe(false);
  });

  it("treats department names that are object properties as any other name (found by fuzzing)", () => {
    for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      expect(allowed(as(["immd-admins"]), "department:read", name)).toBe(false);
      expect(allowed(as(["govhost:auditors"]), "department:read", name)).toBe(true);
    }
  });
});

describe("audit hash chain", () => {
  const input = (i: number) => ({
    time: `2026-11-23T00:00:0${i}Z`,
    requestId: `r${i}`,
    actor: { username: "ivy", subject: "s", roles: ["immd:admin"] },
    action: "eservice.create",
    target: { kind: "EService", name: `e${i}`, department: "immd" },
    result: { status: 201, outcome: "success" as const },
  });
  const build = (n: number) => {
    const records: AuditRecord[] = [];
    for (let i = 0; i < n; i++) records.push(chain(records.at(-1), input(i)));
    return records;
  };

  it("verifies an intact log and its anchored head", () => {
    const records = build(5);
    const head = { seq: 5, hash: records[4]?.hash as string };
    expect(verify(records, head)).toEqual({ valid: true, records: 5, head });
  });

  it("detects a modified, a removed and a truncated record", () => {
    const records = build(5);
    const head = { seq: 5, hash: records[4]?.hash as string };
    const modified = records.map((r) =>
      r.seq === 2 ? { ...r, actor: { ...r.actor, username: "mallory" } } : r,
    );
    expect(verify(modified, head)).toMatchObject({
      valid: false,
      brokenAt: 2,
      reason: "record 2 was modified",
    });
    expect(
      verify(
        records.filter((r) => r.seq !== 3),
        head,
      ),
    ).toMatchObject({ valid: false, brokenAt: 3 });
    expect(verify(records.slice(0, 4), head)).toMatchObject({ valid: false, brokenAt: 5 });
    // Re-chaining after an edit still breaks the link to the anchored head.
    const rechained: AuditRecord[] = [];
    for (const r of modified) rechained.push(chain(rechained.at(-1), { ...r }));
    expect(verify(rechained, head).valid).toBe(false);
  });
});

describe("merge patch schemas", () => {
  it("make every field optional at every depth and drop defaults", () => {
    const schema = mergePatchSchema(DepartmentSpec) as unknown as Record<string, unknown>;
    const properties = schema.properties as Record<string, Record<string, unknown>>;
    expect(JSON.stringify(schema)).not.toContain('"default"');
    expect(schema.required).toBeUndefined();
    expect(properties.quota?.required).toBeUndefined();
    expect(properties.groups?.required).toBeUndefined();
    // Array items keep their own required fields (a merge patch replaces arrays whole).
    const contactItems = properties.contacts?.items as Record<string, unknown> | undefined;
    expect(contactItems?.required).toEqual(["name", "email"]);
  });
});

describe("the portal API's impersonation list", () => {
  it("holds the platform's groups and every department's, never a system group, never empty", () => {
    const groups = impersonableGroups([
      { spec: departmentManifest("immd").spec },
      {
        spec: {
          ...departmentManifest("lcsd").spec,
          groups: { admins: ["lcsd-admins"], developers: [], viewers: [] },
        },
      },
    ]);
    expect(groups).toEqual(
      expect.arrayContaining([
        "govhost:platform-operators",
        "govhost:finance",
        "immd-admins",
        "immd-viewers",
        "lcsd-admins",
      ]),
    );
    const role = portalApiImpersonationRole([...groups, "system:masters"]);
    expect(role.rules[0]?.resourceNames).toEqual(groups);
    expect(impersonableGroups([]).length).toBeGreaterThan(0);
  });
});

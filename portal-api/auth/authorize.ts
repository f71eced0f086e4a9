import type { DepartmentRole, PlatformRole, Principal } from "./principal.ts";

// What each role may do, as data: platform roles act on every department, department roles only on their
// own. Routes ask `allowed(principal, action, department)`; the API server's RBAC and admission then judge
// the same request again (writes are made as the caller, through impersonation).

export const actions = [
  "department:create",
  "department:delete",
  "department:update",
  "department:update-contacts",
  "department:read",
  "eservice:read",
  "eservice:write",
  "eservice:publish",
  "shared-service:read",
  "shared-service:subscribe",
  "shared-service:records",
  "api:request",
  "api:decide",
  "statement:read",
  "budget:read",
  "policy-report:read",
  "audit:read",
] as const;
export type Action = (typeof actions)[number];

const everything = new Set<Action>(actions);
const platformGrants: Record<PlatformRole, Set<Action>> = {
  operator: everything,
  finance: new Set(["department:read", "statement:read", "budget:read"]),
  auditor: new Set(actions.filter((a) => a.endsWith(":read"))),
  // Legal holds and disposal approvals only (the records fields of a subscription; GH-REC-002 judges them
  // again at admission), never a plan change or a cancellation.
  "records-manager": new Set(["department:read", "shared-service:read", "shared-service:records"]),
};
const viewer: Action[] = ["department:read", "eservice:read", "shared-service:read", "policy-report:read"];
const developer: Action[] = [...viewer, "eservice:write", "api:request"];
const departmentGrants: Record<DepartmentRole, Set<Action>> = {
  viewer: new Set(viewer),
  developer: new Set(developer),
  // Subscribing to a shared service commits the department to a monthly fee: admins only.
  admin: new Set([
    ...developer,
    "eservice:publish",
    "api:decide",
    "shared-service:subscribe",
    "department:update-contacts",
    "statement:read",
    "budget:read",
  ]),
};

/** The principal's role in `department` (own properties only: a department may be called "constructor"). */
export function roleIn(principal: Principal, department: string): DepartmentRole | undefined {
  return Object.hasOwn(principal.departments, department) ? principal.departments[department] : undefined;
}

/** Whether the principal may perform `action` (on `department`, for department-scoped actions). */
export function allowed(principal: Principal, action: Action, department?: string): boolean {
  if (principal.platformRoles.some((role) => platformGrants[role].has(action))) return true;
  if (department === undefined) return false;
  const role = roleIn(principal, department);
  return role !== undefined && departmentGrants[role].has(action);
}

/** Departments whose objects the principal may see at all (undefined: every department). */
export function visibleDepartments(principal: Principal, action: Action): string[] | undefined {
  if (principal.platformRoles.some((role) => platformGrants[role].has(action))) return undefined;
  return Object.entries(principal.departments)
    .filter(([, role]) => departmentGrants[role].has(action))
    .map(([name]) => name);
}

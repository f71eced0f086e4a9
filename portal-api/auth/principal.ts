import { platformGroups } from "../../controller/api/rbac.ts";

// Who is calling, derived purely from verified token claims and the Departments' group mappings.

export const platformRoles = ["operator", "finance", "auditor"] as const;
export type PlatformRole = (typeof platformRoles)[number];
export const departmentRoles = ["admin", "developer", "viewer"] as const;
export type DepartmentRole = (typeof departmentRoles)[number];

export interface RoleSettings {
  /** Claim holding the user's groups (default `groups`). */
  groupsClaim: string;
  /** Claim holding the user name shown in audit records (default `preferred_username`, else `sub`). */
  usernameClaim: string;
  /** The OIDC group of each platform role. */
  platformGroups: Record<PlatformRole, string>;
}

export const defaultRoleSettings: RoleSettings = {
  groupsClaim: "groups",
  usernameClaim: "preferred_username",
  platformGroups: platformGroups,
};

export interface DepartmentGroups {
  name: string;
  groups: { admins?: string[]; developers?: string[]; viewers?: string[] };
}

export interface Principal {
  subject: string;
  username: string;
  /** Groups from the token, minus any Kubernetes system group (those are never accepted from tokens). */
  groups: string[];
  platformRoles: PlatformRole[];
  /** The strongest role held in each department. */
  departments: Record<string, DepartmentRole>;
  /** A machine client (client credentials) rather than a person. */
  machine: boolean;
}

function stringList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  if (typeof value === "string") return value.split(/[ ,]+/).filter(Boolean);
  return [];
}

export function principalFrom(
  claims: Record<string, unknown>,
  departments: DepartmentGroups[],
  settings: RoleSettings,
): Principal {
  const subject = typeof claims.sub === "string" ? claims.sub : "";
  const named = claims[settings.usernameClaim];
  const clientId = typeof claims.client_id === "string" ? claims.client_id : undefined;
  const machine = clientId !== undefined && (subject === "" || subject === clientId);
  const username = typeof named === "string" && named ? named : machine ? `client:${clientId}` : subject;
  const groups = stringList(claims[settings.groupsClaim]).filter((g) => !g.startsWith("system:"));
  const roles = platformRoles.filter((role) => groups.includes(settings.platformGroups[role]));
  const held: Record<string, DepartmentRole> = {};
  for (const dept of departments) {
    const role = departmentRoles.find((r) => (dept.groups[`${r}s`] ?? []).some((g) => groups.includes(g)));
    if (role) held[dept.name] = role;
  }
  return { subject, username, groups, platformRoles: roles, departments: held, machine };
}

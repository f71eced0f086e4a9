import { type RoleGroups, roleGroupsOf } from "../../controller/api/department.ts";
import { staticImpersonableGroups } from "../../controller/api/platform.ts";
import { platformGroups, recordsManagersGroup } from "../../controller/api/rbac.ts";

// Who is calling, derived purely from verified token claims and the Departments' group mappings.

export const platformRoles = ["operator", "finance", "auditor", "records-manager"] as const;
export type PlatformRole = (typeof platformRoles)[number];
export const departmentRoles = ["admin", "developer", "viewer"] as const;
export type DepartmentRole = (typeof departmentRoles)[number];

export interface RoleSettings {
  /** Claim holding the user's groups (default `groups`). */
  groupsClaim: string;
  /**
   * Claim that identifies the user: stable and unique at the issuer, never editable by the user (default
   * `sub`). The API acts in Kubernetes as `usernamePrefix` + this claim.
   */
  usernameClaim: string;
  /**
   * Prefix of the Kubernetes user name, so it cannot collide with other identities of the cluster. Default
   * (undefined): the issuer and `#`, as the API server's own OIDC authenticator names users; "" for none.
   */
  usernamePrefix?: string;
  /** Claim shown to people (default `preferred_username`, else `name`): never used to identify anyone. */
  displayNameClaim: string;
  /** The OIDC group of each platform role. */
  platformGroups: Record<PlatformRole, string>;
}

export const defaultRoleSettings: RoleSettings = {
  groupsClaim: "groups",
  usernameClaim: "sub",
  displayNameClaim: "preferred_username",
  // Records managers (a central records office) act on records instances in every department.
  platformGroups: { ...platformGroups, "records-manager": recordsManagersGroup },
};

export interface DepartmentGroups {
  name: string;
  groups: RoleGroups;
}

export interface Principal {
  /** The token's `sub` (may be empty for machine clients without one). */
  subject: string;
  /** The issuer that vouched for the caller. */
  issuer: string;
  /**
   * The user name the API acts as in Kubernetes (Impersonate-User): prefix + identifying claim, with every
   * character outside a small safe ASCII set percent-encoded (so any name is a valid HTTP header value and
   * distinct names stay distinct). Empty when the token names no one.
   */
  username: string;
  /** For people to read (audit, messages); not unique, may be edited by the user. */
  displayName: string;
  /**
   * The token's groups that mean something on the platform (platform groups and the groups Departments
   * map), the only ones the API impersonates; any other group, and every Kubernetes system group, is
   * dropped.
   */
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

/**
 * Percent-encodes every byte outside `[A-Za-z0-9._~:/#@+=-]` (including `%` itself): injective, ASCII only,
 * readable for the usual names, and safe in an HTTP header whatever the identity provider sends.
 */
export function encodeUserName(name: string): string {
  let out = "";
  for (const byte of Buffer.from(name, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9._~:/#@+=-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * Each department's groups that the portal API has already been granted to impersonate. The controller adds
 * a new department's groups to that grant a moment after the Department appears; until it has, acting as
 * them would be refused by the API server, so the API does not count them yet.
 */
export function grantedDepartmentGroups(
  departments: DepartmentGroups[],
  impersonable: ReadonlySet<string>,
): DepartmentGroups[] {
  const granted = (list: string[] | undefined) => list?.filter((group) => impersonable.has(group));
  return departments.map(({ name, groups }) => ({
    name,
    groups: {
      ...(groups.admins ? { admins: granted(groups.admins) } : {}),
      ...(groups.developers ? { developers: granted(groups.developers) } : {}),
      ...(groups.viewers ? { viewers: granted(groups.viewers) } : {}),
    },
  }));
}

/** Every group the platform knows: the platform's own and each department's (what the API may impersonate). */
const knownGroupsOf = new WeakMap<RoleSettings, WeakMap<DepartmentGroups[], Set<string>>>();

export function knownGroups(departments: DepartmentGroups[], settings: RoleSettings): Set<string> {
  // The same department list (kept until a Department changes) gives the same set: built once.
  const bySettings = knownGroupsOf.get(settings) ?? new WeakMap<DepartmentGroups[], Set<string>>();
  knownGroupsOf.set(settings, bySettings);
  const cached = bySettings.get(departments);
  if (cached) return cached;
  const known = new Set<string>([...staticImpersonableGroups, ...Object.values(settings.platformGroups)]);
  for (const dept of departments) for (const group of roleGroupsOf(dept.groups)) known.add(group);
  bySettings.set(departments, known);
  return known;
}

/** Which department roles each group is given, built once per department list (a request looks up its groups). */
const groupIndexes = new WeakMap<
  DepartmentGroups[],
  Map<string, { department: string; role: DepartmentRole }[]>
>();

function groupIndex(
  departments: DepartmentGroups[],
): Map<string, { department: string; role: DepartmentRole }[]> {
  const cached = groupIndexes.get(departments);
  if (cached) return cached;
  const index = new Map<string, { department: string; role: DepartmentRole }[]>();
  for (const dept of departments)
    for (const role of departmentRoles)
      for (const group of dept.groups[`${role}s`] ?? []) {
        const entries = index.get(group) ?? [];
        entries.push({ department: dept.name, role });
        index.set(group, entries);
      }
  groupIndexes.set(departments, index);
  return index;
}

export function principalFrom(
  claims: Record<string, unknown>,
  departments: DepartmentGroups[],
  settings: RoleSettings,
): Principal {
  const text = (value: unknown) => (typeof value === "string" ? value : "");
  const subject = text(claims.sub);
  const issuer = text(claims.iss);
  const clientId = text(claims.client_id);
  const machine = clientId !== "" && (subject === "" || subject === clientId);
  const identifying = text(claims[settings.usernameClaim]);
  const id = identifying || (machine ? `client:${clientId}` : "");
  const prefix = settings.usernamePrefix ?? (issuer ? `${issuer}#` : "");
  // Without an issuer the default prefix cannot be formed: such a token names no usable user.
  // A name with lone surrogates has no UTF-8 form (two of them could encode alike): it names no one.
  const usable = id !== "" && id.isWellFormed() && (settings.usernamePrefix !== undefined || issuer !== "");
  const username = usable ? encodeUserName(`${prefix}${id}`) : "";
  const displayName = text(claims[settings.displayNameClaim]) || text(claims.name) || id;
  const known = knownGroups(departments, settings);
  const groups = [
    ...new Set(
      stringList(claims[settings.groupsClaim]).filter((g) => !g.startsWith("system:") && known.has(g)),
    ),
  ];
  const roles = platformRoles.filter((role) => groups.includes(settings.platformGroups[role]));
  // A department's role is the highest any of the caller's groups is given there.
  const held: Record<string, DepartmentRole> = {};
  const index = groupIndex(departments);
  for (const group of groups)
    for (const { department, role } of index.get(group) ?? []) {
      const current = held[department];
      if (current === undefined || departmentRoles.indexOf(role) < departmentRoles.indexOf(current))
        held[department] = role;
    }
  return {
    subject,
    issuer,
    username,
    displayName,
    groups,
    platformRoles: roles,
    departments: held,
    machine,
  };
}

/** The principal last worked out for a claims object, with what it was worked out from. */
const sharedPrincipals = new WeakMap<
  object,
  { departments: DepartmentGroups[]; settings: RoleSettings; principal: Readonly<Principal> }
>();

/**
 * `principalFrom`, worked out once for the same claims object (a verified token's claims are one object for
 * as long as the verifier keeps them) until the department list or the settings change. Requests share the
 * result, so it is frozen.
 */
export function sharedPrincipalFrom(
  claims: Record<string, unknown>,
  departments: DepartmentGroups[],
  settings: RoleSettings,
): Readonly<Principal> {
  const kept = sharedPrincipals.get(claims);
  if (kept && kept.departments === departments && kept.settings === settings) return kept.principal;
  const principal = principalFrom(claims, departments, settings);
  Object.freeze(principal.groups);
  Object.freeze(principal.platformRoles);
  Object.freeze(principal.departments);
  Object.freeze(principal);
  sharedPrincipals.set(claims, { departments, settings, principal });
  return principal;
}

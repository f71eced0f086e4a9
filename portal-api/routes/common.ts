import { childLabels, namespaceName } from "../../controller/api/group.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { type Action, allowed, roleIn } from "../auth/authorize.ts";
import type { Principal } from "../auth/principal.ts";
import type { ApiDependencies } from "../dependencies.ts";
import { problemFromKube } from "../kube-errors.ts";
import { ProblemError, problems } from "../problem.ts";
import type { DepartmentObject } from "../reads.ts";

export function principalOf(request: { principal?: Principal }): Principal {
  if (!request.principal) throw problems.unauthorized("No bearer token was sent");
  return request.principal;
}

export function requireAllowed(principal: Principal, action: Action, department?: string): void {
  if (allowed(principal, action, department)) return;
  const where = department ? ` in department ${department}` : "";
  throw problems.forbidden(
    `${principal.username} may not ${action.replace(":", " ")}${where}`,
    department && !roleIn(principal, department) && principal.platformRoles.length === 0
      ? `Ask the department's admins to add one of your groups to the department (spec.groups)`
      : "Ask a platform operator or the department's admins for the role that allows it",
  );
}

/** The Kubernetes client acting as the caller: RBAC and admission judge the caller, not the API. */
export function asCaller(deps: ApiDependencies, principal: Principal): KubeClient {
  return deps.kube.impersonating({ user: principal.username, groups: principal.groups });
}

export type { DepartmentObject };

export async function findDepartment(deps: ApiDependencies, name: string): Promise<DepartmentObject> {
  const dept = await deps.reads.department(name);
  if (!dept) throw problems.notFound(`Department ${name} does not exist`);
  return dept;
}

/**
 * The namespace of a department environment, after checking the caller may `action` in the department
 * and that both exist.
 */
export async function environmentNamespace(
  deps: ApiDependencies,
  request: { principal?: Principal; params: { dept: string; env: string } },
  action: Action,
) {
  const { dept, env } = request.params;
  requireAllowed(principalOf(request), action, dept);
  const department = await findDepartment(deps, dept);
  if (!department.spec.environments.includes(env))
    throw problems.notFound(
      `Department ${dept} has no environment ${env} (it has ${department.spec.environments.join(", ")})`,
    );
  const namespace = namespaceName(dept, env);
  await requireNamespaceOf(deps, namespace, dept, env);
  return { dept, env, namespace };
}

/**
 * Refuses a namespace that the platform did not provision for exactly this department and environment: a
 * name alone never proves ownership (an older Department could have made `ab-cd-prod` for `ab`/`cd-prod`).
 */
async function requireNamespaceOf(deps: ApiDependencies, namespace: string, dept: string, env: string) {
  if (!(await isNamespaceOf(deps, namespace, dept, env)))
    throw problems.notFound(
      `Environment ${env} of department ${dept} has no namespace yet; wait until the department is Ready`,
    );
}

/** Whether the platform provisioned `namespace` for exactly this department and environment. */
export async function isNamespaceOf(
  deps: ApiDependencies,
  namespace: string,
  dept: string,
  env: string,
): Promise<boolean> {
  const ns = await deps.reads.departmentNamespace(namespace);
  const nsLabels = ns?.metadata?.labels ?? {};
  return (
    ns !== undefined &&
    Object.entries(childLabels(dept, env)).every(([key, value]) => nsLabels[key] === value)
  );
}

/** Runs a Kubernetes call and turns its refusal into problem+json (problems already made pass through). */
export async function asProblem<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ProblemError) throw error;
    throw problemFromKube(error, what);
  }
}

/** The name of an object read from Kubernetes (always set on stored objects). */
export const nameOf = (object: KubeObject): string => object.metadata?.name ?? "";

/** The API server's own list order (names by their bytes), for lists read from a cache. */
export function byName(a: KubeObject, b: KubeObject): number {
  const [x, y] = [nameOf(a), nameOf(b)];
  return x < y ? -1 : x > y ? 1 : 0;
}

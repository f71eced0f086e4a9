import Type from "typebox";
import type { Department } from "../../controller/api/department.ts";
import { dnsLabelPattern } from "../../controller/api/schema-helpers.ts";
import type { KubeClient, KubeObject } from "../../controller/runtime/kube-client.ts";
import { resources } from "../../controller/runtime/resources.ts";
import { type Action, allowed, roleIn } from "../auth/authorize.ts";
import type { Principal } from "../auth/principal.ts";
import { problems } from "../problem.ts";
import type { ApiDependencies } from "../server.ts";

export const Name = Type.String({ pattern: dnsLabelPattern, minLength: 1, maxLength: 63 });
export const DeptParams = Type.Object({ dept: Name }, { additionalProperties: false });

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

export type DepartmentObject = Department & KubeObject;

export async function findDepartment(deps: ApiDependencies, name: string): Promise<DepartmentObject> {
  const dept = await deps.kube.find<DepartmentObject>(resources.department, name);
  if (!dept) throw problems.notFound(`Department ${name} does not exist`);
  return dept;
}

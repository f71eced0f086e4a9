import { Compile } from "typebox/compile";
import { parseMilli } from "../../lib/kube/quantity.ts";
import { type Department, DepartmentSpec } from "../api/department.ts";

const specValidator = Compile(DepartmentSpec);

/**
 * Problems with a Department that the CRD schema may not have caught (an older CRD, or rules that need
 * more than one field). Each message names the field and what to do instead. Empty when valid.
 */
export function departmentProblems(dept: Department): string[] {
  const problems: string[] = [];
  const name = dept.metadata.name ?? "";
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length < 2 || name.length > 20) {
    problems.push(
      "metadata.name: must be the department code, a DNS label of 2 to 20 characters (e.g. immd)",
    );
  }
  for (const error of specValidator.Errors(dept.spec)) {
    problems.push(`spec${error.instancePath.replaceAll("/", ".")}: ${error.message}`);
  }
  if (problems.length > 0) return problems;
  for (const field of ["cpu", "memory", "storage"] as const) {
    try {
      parseMilli(dept.spec.quota[field]);
    } catch (error) {
      problems.push(`spec.quota.${field}: ${(error as Error).message}`);
    }
  }
  for (const env of Object.keys(dept.spec.quota.environmentWeights ?? {})) {
    if (!dept.spec.environments.includes(env)) {
      problems.push(
        `spec.quota.environmentWeights.${env}: not an environment of this department; list it in spec.environments or remove the weight`,
      );
    }
  }
  for (const group of [
    ...dept.spec.groups.admins,
    ...dept.spec.groups.developers,
    ...dept.spec.groups.viewers,
  ]) {
    if (group.startsWith("system:")) {
      problems.push(
        `spec.groups: "${group}" is a Kubernetes system group and cannot be granted department roles`,
      );
    }
  }
  return problems;
}

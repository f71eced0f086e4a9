import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { DepartmentSpec, DepartmentStatus } from "../../controller/api/department.ts";
import { namespaceName } from "../../controller/api/group.ts";
import { resources } from "../../lib/kube/resources.ts";
import { allowed, visibleDepartments } from "../auth/authorize.ts";
import type { ApiDependencies } from "../dependencies.ts";
import { problemFromKube } from "../kube-errors.ts";
import { ProblemError, problems } from "../problem.ts";
import {
  asCaller,
  byName,
  type DepartmentObject,
  findDepartment,
  nameOf,
  principalOf,
  requireAllowed,
} from "./common.ts";
import { mergePatchSchema } from "./patch-schema.ts";
import { Deleting, DepartmentName, DeptParams, json, Nullable, responses } from "./schemas.ts";

// /departments, /departments/{dept} and /departments/{dept}/environments.

/** Fields a department admin may change on their own department; everything else is the operators'. */
const adminEditable = new Set(["contacts", "displayName"]);

const DepartmentView = Type.Object({
  name: Type.String(),
  spec: DepartmentSpec,
  status: DepartmentStatus,
});

const EnvironmentView = Type.Object({
  name: Type.String(),
  namespace: Type.String(),
  provisioned: Type.Boolean({ description: "Whether the controller has made its namespace" }),
  quota: Nullable(
    Type.Record(Type.String(), Type.String(), { description: "Hard limits set on its ResourceQuota" }),
  ),
});

function view(dept: DepartmentObject) {
  return { name: nameOf(dept), spec: dept.spec, status: dept.status ?? {} };
}

export function departmentRoutes(deps: ApiDependencies): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/departments",
      {
        schema: {
          tags: ["departments"],
          summary: "Departments the caller may see",
          response: responses(
            { 200: json("The departments", Type.Object({ items: Type.Array(DepartmentView) })) },
            [401, 429, 500, 503],
          ),
        },
      },
      async (request) => {
        const principal = principalOf(request);
        const visible = visibleDepartments(principal, "department:read");
        const list = await deps.reads.departments();
        return {
          items: list
            .sort(byName)
            .filter((d) => visible === undefined || visible.includes(nameOf(d)))
            .map(view),
        };
      },
    );

    app.post(
      "/departments",
      {
        schema: {
          tags: ["departments"],
          summary: "Create a department (platform operators)",
          body: Type.Object({ name: DepartmentName, spec: DepartmentSpec }, { additionalProperties: false }),
          response: responses(
            {
              201: {
                ...json("Created", DepartmentView),
                headers: { location: { type: "string", description: "The department's URL" } },
              },
            },
            [400, 401, 403, 409, 413, 415, 422, 429, 500, 502, 503],
          ),
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const { name, spec } = request.body;
        request.audit = {
          action: "department.create",
          target: { kind: "Department", name, department: name },
          after: spec,
        };
        requireAllowed(principal, "department:create");
        const object: DepartmentObject = {
          apiVersion: "govhost.io/v1alpha1",
          kind: "Department",
          metadata: { name },
          spec,
        };
        const caller = asCaller(deps, principal);
        try {
          await caller.create(object, { dryRun: true });
          const created = await caller.create<DepartmentObject>(object);
          await deps.reads.written(created);
          return reply.code(201).header("location", `/api/v1/departments/${name}`).send(view(created));
        } catch (error) {
          throw problemFromKube(error, `Department ${name}`);
        }
      },
    );

    app.get(
      "/departments/:dept",
      {
        schema: {
          tags: ["departments"],
          summary: "One department: its spec and status",
          params: DeptParams,
          response: responses(
            { 200: json("The department", DepartmentView) },
            [400, 401, 403, 404, 429, 500, 503],
          ),
        },
      },
      async (request) => {
        const { dept } = request.params;
        requireAllowed(principalOf(request), "department:read", dept);
        return view(await findDepartment(deps, dept));
      },
    );

    app.get(
      "/departments/:dept/environments",
      {
        schema: {
          tags: ["departments"],
          summary: "The department's environments, namespaces and quota",
          params: DeptParams,
          response: responses(
            { 200: json("The environments", Type.Object({ items: Type.Array(EnvironmentView) })) },
            [400, 401, 403, 404, 429, 500, 503],
          ),
        },
      },
      async (request) => {
        const { dept } = request.params;
        requireAllowed(principalOf(request), "department:read", dept);
        const department = await findDepartment(deps, dept);
        return {
          items: department.spec.environments.map((environment) => ({
            name: environment,
            namespace: namespaceName(dept, environment),
            provisioned: department.status?.namespaces?.includes(namespaceName(dept, environment)) ?? false,
            quota: department.status?.quota?.allocated?.[environment] ?? null,
          })),
        };
      },
    );

    app.patch(
      "/departments/:dept",
      {
        schema: {
          tags: ["departments"],
          summary: "Change a department: operators any field; department admins contacts and display name",
          params: DeptParams,
          body: Type.Object({ spec: mergePatchSchema(DepartmentSpec) }, { additionalProperties: false }),
          response: responses(
            { 200: json("The changed department", DepartmentView) },
            [400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 502, 503],
          ),
        },
      },
      async (request) => {
        const principal = principalOf(request);
        const { dept } = request.params;
        const { spec } = request.body;
        // Read fresh, not from the cache: the audit record's "before" is what the write changed.
        const before = await deps.kube.find<DepartmentObject>(resources.department, dept);
        if (!before) throw problems.notFound(`Department ${dept} does not exist`);
        request.audit = {
          action: "department.update",
          target: { kind: "Department", name: dept, department: dept },
          before: before.spec,
          after: spec,
        };
        const operator = allowed(principal, "department:update", dept);
        if (!operator) {
          requireAllowed(principal, "department:update-contacts", dept);
          const forbidden = Object.keys(spec).filter((k) => !adminEditable.has(k));
          if (forbidden.length)
            throw problems.forbidden(
              `Department admins may change ${[...adminEditable].join(" and ")} only, not ${forbidden.join(", ")}`,
              "Ask a platform operator to change the other fields",
            );
        }
        // Kubernetes RBAC cannot limit a patch to some fields, so department admins' edits of their contacts
        // are made by the API itself, after the field check above (and audited under the admin's name).
        const caller = operator ? asCaller(deps, principal) : deps.kube;
        try {
          await caller.mergePatch(resources.department, dept, { spec }, { dryRun: true });
          const changed = await caller.mergePatch<DepartmentObject>(resources.department, dept, { spec });
          await deps.reads.written(changed);
          return view(changed);
        } catch (error) {
          throw problemFromKube(error, `Department ${dept}`);
        }
      },
    );

    app.delete(
      "/departments/:dept",
      {
        schema: {
          tags: ["departments"],
          summary: "Delete a department and everything in its namespaces (platform operators)",
          params: DeptParams,
          response: responses(
            { 202: json("Deletion started", Deleting("deleting")) },
            [400, 401, 403, 404, 422, 429, 500, 502, 503],
          ),
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const { dept } = request.params;
        request.audit = {
          action: "department.delete",
          target: { kind: "Department", name: dept, department: dept },
        };
        requireAllowed(principal, "department:delete");
        try {
          const deleted = await asCaller(deps, principal).delete(resources.department, dept);
          if (!deleted) throw problems.notFound(`Department ${dept} does not exist`);
        } catch (error) {
          if (error instanceof ProblemError) throw error;
          throw problemFromKube(error, `Department ${dept}`);
        }
        await deps.reads.deleted("Department", dept);
        return reply.code(202).send({ name: dept, status: "deleting" as const });
      },
    );
  };
}

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { DepartmentSpec, DepartmentStatus } from "../../controller/api/department.ts";
import type { ApiDependencies } from "../dependencies.ts";
import { findDepartment, principalOf, requireAllowed } from "./common.ts";
import { DeptParams, json, Nullable, responses } from "./schemas.ts";

// /departments/{dept}/budget: the monthly budget and how much of it this month has used.

const Budget = Type.Object({
  budget: Nullable(Type.Index(DepartmentSpec, ["monthlyBudget"])),
  status: Nullable(Type.Index(DepartmentStatus, ["budget"])),
});

export function budgetRoutes(deps: ApiDependencies): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/departments/:dept/budget",
      {
        schema: {
          tags: ["finance"],
          summary: "The department's monthly budget, spending and forecast this month",
          params: DeptParams,
          response: responses({ 200: json("The budget", Budget) }, [400, 401, 403, 404, 429, 500, 503]),
        },
      },
      async (request) => {
        const { dept } = request.params;
        requireAllowed(principalOf(request), "budget:read", dept);
        const department = await findDepartment(deps, dept);
        return { budget: department.spec.monthlyBudget ?? null, status: department.status?.budget ?? null };
      },
    );
  };
}

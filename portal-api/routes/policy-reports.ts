import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import type { ApiDependencies } from "../dependencies.ts";
import { asProblem, principalOf, requireAllowed } from "./common.ts";
import { DeptParams, json, PolicyReportResult, responses } from "./schemas.ts";

// /departments/{dept}/policy-reports: the background compliance and accessibility results of a department,
// as the wg-policy PolicyReports they are published in.

type Summary = Partial<Record<"pass" | "fail" | "warn" | "error" | "skip", number>>;

const PolicyReportView = Type.Object({
  name: Type.String(),
  namespace: Type.String(),
  summary: Type.Optional(
    Type.Object({
      pass: Type.Optional(Type.Integer()),
      fail: Type.Optional(Type.Integer()),
      warn: Type.Optional(Type.Integer()),
      error: Type.Optional(Type.Integer()),
      skip: Type.Optional(Type.Integer()),
    }),
  ),
  results: Type.Array(PolicyReportResult),
});

export function policyReportRoutes(deps: ApiDependencies): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/departments/:dept/policy-reports",
      {
        schema: {
          tags: ["compliance"],
          summary: "The department's policy reports (security baseline and accessibility results)",
          params: DeptParams,
          response: responses(
            { 200: json("The policy reports", Type.Object({ items: Type.Array(PolicyReportView) })) },
            [400, 401, 403, 404, 429, 500, 502, 503],
          ),
        },
      },
      async (request) => {
        const { dept } = request.params;
        requireAllowed(principalOf(request), "policy-report:read", dept);
        const reports = await asProblem(`Policy reports of department ${dept}`, () =>
          deps.kube.list<KubeObject & { summary?: Summary; results?: Record<string, unknown>[] }>(
            resources.policyReport,
            { labelSelector: `govhost.io/department=${dept}` },
          ),
        );
        return {
          items: reports.items.map((r) => ({
            name: r.metadata?.name ?? "",
            namespace: r.metadata?.namespace ?? "",
            summary: r.summary,
            results: r.results ?? [],
          })),
        };
      },
    );
  };
}

import { randomBytes } from "node:crypto";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import {
  type ApiGrant,
  type ApiGrantDecision,
  ApiGrantSpec,
  ApiGrantStatus,
} from "../../controller/api/api-exchange.ts";
import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import type { ApiDependencies } from "../dependencies.ts";
import { problems } from "../problem.ts";
import {
  asCaller,
  asProblem,
  environmentNamespace,
  findDepartment,
  nameOf,
  principalOf,
  requireAllowed,
} from "./common.ts";
import { DeptParams, EnvParams, json, Name, ResourceParams, responses } from "./schemas.ts";

// Asking another department for API access (ApiGrant, in one of the consumer's environments) and deciding
// such a request as the provider (ApiGrantDecision beside the ApiExport, in the decider's own name). Both are
// made as the caller, so RBAC and admission (GH-API-001, GH-API-002) judge them, and both are audited.

type GrantObject = ApiGrant & KubeObject;

const GrantView = Type.Object({
  name: Type.String(),
  namespace: Type.String(),
  spec: ApiGrantSpec,
  status: ApiGrantStatus,
});

const DecisionBody = Type.Object(
  {
    grant: Type.Object(
      { namespace: Type.String({ minLength: 1, maxLength: 63 }), name: Name },
      { additionalProperties: false },
    ),
    decision: Type.Union([Type.Literal("approved"), Type.Literal("refused")]),
    reason: Type.String({ maxLength: 2000, default: "" }),
  },
  { additionalProperties: false },
);

const readProblems = [400, 401, 403, 404, 429, 500, 503] as const;
const writeProblems = [400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 502, 503] as const;

const view = (g: GrantObject) => ({
  name: nameOf(g),
  namespace: g.metadata.namespace ?? "",
  spec: g.spec,
  status: g.status ?? {},
});

export function apiGrantRoutes(deps: ApiDependencies): FastifyPluginAsyncTypebox {
  const base = "/departments/:dept/environments/:env";
  return async (app) => {
    app.get(
      "/departments/:dept/api-requests",
      {
        schema: {
          tags: ["api-exchange"],
          summary: "Other departments' requests for this department's APIs, with their phase",
          params: DeptParams,
          response: responses(
            { 200: json("The requests", Type.Object({ items: Type.Array(GrantView) })) },
            readProblems,
          ),
        },
      },
      async (request) => {
        const { dept } = request.params;
        requireAllowed(principalOf(request), "eservice:read", dept);
        await findDepartment(deps, dept);
        const list = await deps.kube.list<GrantObject>(resources.apiGrant);
        return {
          items: list.items
            .filter((g) => g.spec.export.department === dept)
            .sort((a, b) =>
              (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? ""),
            )
            .map(view),
        };
      },
    );

    app.get(
      `${base}/api-grants`,
      {
        schema: {
          tags: ["api-exchange"],
          summary: "The environment's requests for other departments' APIs, with their phase",
          params: EnvParams,
          response: responses(
            { 200: json("The requests", Type.Object({ items: Type.Array(GrantView) })) },
            readProblems,
          ),
        },
      },
      async (request) => {
        const { namespace } = await environmentNamespace(deps, request, "eservice:read");
        const list = await deps.kube.list<GrantObject>(resources.apiGrant, { namespace });
        return { items: list.items.map(view) };
      },
    );

    app.post(
      `${base}/api-grants`,
      {
        schema: {
          tags: ["api-exchange"],
          summary:
            "Ask for access to another department's API from this environment (department developers and admins)",
          params: EnvParams,
          body: Type.Object({ name: Name, spec: ApiGrantSpec }, { additionalProperties: false }),
          response: responses({ 201: json("The request, awaiting a decision", GrantView) }, writeProblems),
        },
      },
      async (request, reply) => {
        const { name, spec } = request.body;
        const { dept, namespace } = await environmentNamespace(deps, request, "api:request");
        request.audit = {
          action: "api-grant.request",
          target: { kind: "ApiGrant", name, department: dept, namespace },
          after: spec,
        };
        const object: GrantObject = {
          apiVersion: "govhost.io/v1alpha1",
          kind: "ApiGrant",
          metadata: { name, namespace },
          spec,
        };
        const caller = asCaller(deps, principalOf(request));
        const created = await asProblem(`ApiGrant ${name}`, async () => {
          await caller.create(object, { dryRun: true });
          return caller.create<GrantObject>(object);
        });
        return reply
          .code(201)
          .header("location", `/api/v1/departments/${dept}/environments/${request.params.env}/api-grants`)
          .send(view(created));
      },
    );

    app.post(
      `${base}/api-exports/:name/decisions`,
      {
        schema: {
          tags: ["api-exchange"],
          summary:
            "Approve or refuse a request for this API, in your own name (the providing department's admins)",
          params: ResourceParams,
          body: DecisionBody,
          response: responses(
            {
              201: json(
                "The decision",
                Type.Object({ name: Type.String(), decidedBy: Type.String(), decision: Type.String() }),
              ),
            },
            writeProblems,
          ),
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const { dept, env, namespace } = await environmentNamespace(deps, request, "api:decide");
        const exportName = request.params.name;
        const { grant: which, decision, reason } = request.body;
        if (!(await deps.kube.find(resources.apiExport, exportName, namespace)))
          throw problems.notFound(`There is no ApiExport ${exportName} in ${namespace}`);
        const grant = await deps.kube.find<GrantObject>(resources.apiGrant, which.name, which.namespace);
        const asks = grant?.spec.export;
        if (!grant || asks?.department !== dept || asks.environment !== env || asks.name !== exportName)
          throw problems.notFound(
            `There is no request ${which.namespace}/${which.name} for ApiExport ${exportName} of ${dept} (${env})`,
          );
        const object: ApiGrantDecision & KubeObject = {
          apiVersion: "govhost.io/v1alpha1",
          kind: "ApiGrantDecision",
          metadata: { name: `${which.name.slice(0, 50)}-${randomBytes(4).toString("hex")}`, namespace },
          spec: {
            grant: {
              namespace: which.namespace,
              name: which.name,
              uid: grant.metadata.uid as string,
              generation: grant.metadata.generation as number,
            },
            export: exportName,
            decision,
            decidedBy: principal.username,
            reason,
          },
        };
        request.audit = {
          action: `api-grant.${decision === "approved" ? "approve" : "refuse"}`,
          target: { kind: "ApiGrant", name: which.name, department: dept, namespace: which.namespace },
          before: grant.spec,
          after: object.spec,
        };
        const caller = asCaller(deps, principal);
        await asProblem(`ApiGrantDecision for ${which.name}`, async () => {
          await caller.create(object, { dryRun: true });
          return caller.create(object);
        });
        return reply
          .code(201)
          .send({ name: object.metadata.name as string, decidedBy: principal.username, decision });
      },
    );
  };
}

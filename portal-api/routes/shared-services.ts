import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import {
  type SharedServiceInstance,
  SharedServiceInstanceSpec,
  SharedServiceInstanceStatus,
} from "../../controller/api/shared-service.ts";
import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { allowed } from "../auth/authorize.ts";
import type { ApiDependencies } from "../dependencies.ts";
import { problems } from "../problem.ts";
import { asCaller, asProblem, environmentNamespace, nameOf, principalOf } from "./common.ts";
import { mergePatchSchema } from "./patch-schema.ts";
import { Deleting, EnvParams, json, Name, ResourceParams, responses } from "./schemas.ts";

// /departments/{dept}/environments/{env}/shared-services and below: departments' subscriptions to shared
// services (rendered or broker-backed instances). The catalogue itself is routes/catalogue.ts.

type InstanceObject = SharedServiceInstance & KubeObject;

const SubscriptionView = Type.Object({
  name: Type.String(),
  namespace: Type.String(),
  spec: SharedServiceInstanceSpec,
  status: SharedServiceInstanceStatus,
});

const readProblems = [400, 401, 403, 404, 429, 500, 503] as const;
const writeProblems = [400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 502, 503] as const;

const view = (i: InstanceObject) => ({
  name: nameOf(i),
  namespace: i.metadata.namespace ?? "",
  spec: i.spec,
  status: i.status ?? {},
});

/**
 * Whether a merge patch of a subscription's spec touches only its records fields (legal holds and disposal
 * approvals) and at least one of them, which records managers may change without being the department's
 * admins. An empty patch or empty parameters are not records work.
 */
export function touchesOnlyRecords(spec: Record<string, unknown>): boolean {
  const { parameters, disposalApprovals, ...rest } = spec;
  if (Object.keys(rest).length > 0) return false;
  if (parameters === undefined) return disposalApprovals !== undefined;
  if (parameters === null || typeof parameters !== "object") return false;
  const keys = Object.keys(parameters);
  return keys.length > 0 && keys.every((key) => key === "legalHolds");
}

export function sharedServiceRoutes(deps: ApiDependencies): FastifyPluginAsyncTypebox {
  const base = "/departments/:dept/environments/:env/shared-services";
  return async (app) => {
    app.get(
      base,
      {
        schema: {
          tags: ["shared-services"],
          summary: "The environment's shared service subscriptions",
          params: EnvParams,
          response: responses(
            { 200: json("The subscriptions", Type.Object({ items: Type.Array(SubscriptionView) })) },
            readProblems,
          ),
        },
      },
      async (request) => {
        const { namespace } = await environmentNamespace(deps, request, "shared-service:read");
        const list = await deps.kube.list<InstanceObject>(resources.sharedServiceInstance, { namespace });
        return { items: list.items.map(view) };
      },
    );

    app.post(
      base,
      {
        schema: {
          tags: ["shared-services"],
          summary: "Subscribe (department admins): the plan's fee is charged pro rata from now",
          params: EnvParams,
          body: Type.Object({ name: Name, spec: SharedServiceInstanceSpec }, { additionalProperties: false }),
          response: responses(
            {
              201: {
                ...json("Subscribed", SubscriptionView),
                headers: { location: { type: "string", description: "The subscription's URL" } },
              },
            },
            writeProblems,
          ),
        },
      },
      async (request, reply) => {
        const { name, spec } = request.body;
        const { dept, namespace } = await environmentNamespace(deps, request, "shared-service:subscribe");
        request.audit = {
          action: "shared-service.subscribe",
          target: { kind: "SharedServiceInstance", name, department: dept, namespace },
          after: spec,
        };
        const object: InstanceObject = {
          apiVersion: "govhost.io/v1alpha1",
          kind: "SharedServiceInstance",
          metadata: { name, namespace },
          spec,
        };
        const caller = asCaller(deps, principalOf(request));
        const created = await asProblem(`SharedServiceInstance ${name}`, async () => {
          await caller.create(object, { dryRun: true });
          return caller.create<InstanceObject>(object);
        });
        return reply
          .code(201)
          .header(
            "location",
            `/api/v1/departments/${dept}/environments/${request.params.env}/shared-services/${name}`,
          )
          .send(view(created));
      },
    );

    app.get(
      `${base}/:name`,
      {
        schema: {
          tags: ["shared-services"],
          summary: "One subscription: plan, parameters and status",
          params: ResourceParams,
          response: responses({ 200: json("The subscription", SubscriptionView) }, readProblems),
        },
      },
      async (request) => {
        const { namespace } = await environmentNamespace(deps, request, "shared-service:read");
        const { name } = request.params;
        const found = await deps.kube.find<InstanceObject>(resources.sharedServiceInstance, name, namespace);
        if (!found) throw problems.notFound(`There is no subscription ${name} in ${namespace}`);
        return view(found);
      },
    );

    app.patch(
      `${base}/:name`,
      {
        schema: {
          tags: ["shared-services"],
          summary:
            "Change plan or parameters (department admins; merge patch). Legal holds and disposal approvals need a records manager, who may patch those alone",
          params: ResourceParams,
          body: Type.Object(
            { spec: mergePatchSchema(SharedServiceInstanceSpec) },
            { additionalProperties: false },
          ),
          response: responses({ 200: json("The changed subscription", SubscriptionView) }, writeProblems),
        },
      },
      async (request) => {
        const { name } = request.params;
        const { spec } = request.body;
        const recordsOnly =
          touchesOnlyRecords(spec) &&
          allowed(principalOf(request), "shared-service:records", request.params.dept);
        const { dept, namespace } = await environmentNamespace(
          deps,
          request,
          recordsOnly ? "shared-service:records" : "shared-service:subscribe",
        );
        const before = await deps.kube.find<InstanceObject>(resources.sharedServiceInstance, name, namespace);
        if (!before) throw problems.notFound(`There is no subscription ${name} in ${namespace}`);
        request.audit = {
          action: "shared-service.update",
          target: { kind: "SharedServiceInstance", name, department: dept, namespace },
          before: before.spec,
          after: spec,
        };
        const caller = asCaller(deps, principalOf(request));
        return view(
          await asProblem(`SharedServiceInstance ${name}`, async () => {
            await caller.mergePatch(
              resources.sharedServiceInstance,
              name,
              { spec },
              { namespace, dryRun: true },
            );
            return caller.mergePatch<InstanceObject>(
              resources.sharedServiceInstance,
              name,
              { spec },
              { namespace },
            );
          }),
        );
      },
    );

    app.delete(
      `${base}/:name`,
      {
        schema: {
          tags: ["shared-services"],
          summary: "Cancel the subscription",
          params: ResourceParams,
          response: responses(
            { 202: json("Cancellation started", Deleting("cancelling")) },
            [400, 401, 403, 404, 422, 429, 500, 502, 503],
          ),
        },
      },
      async (request, reply) => {
        const { name } = request.params;
        const { dept, namespace } = await environmentNamespace(deps, request, "shared-service:subscribe");
        request.audit = {
          action: "shared-service.cancel",
          target: { kind: "SharedServiceInstance", name, department: dept, namespace },
        };
        const deleted = await asProblem(`SharedServiceInstance ${name}`, () =>
          asCaller(deps, principalOf(request)).delete(resources.sharedServiceInstance, name, namespace),
        );
        if (!deleted) throw problems.notFound(`There is no subscription ${name} in ${namespace}`);
        return reply.code(202).send({ name, status: "cancelling" as const });
      },
    );

    app.get(
      `${base}/:name/binding`,
      {
        schema: {
          tags: ["shared-services"],
          summary: "The credentials (as the caller: developers and admins may read Secrets)",
          params: ResourceParams,
          response: responses(
            {
              200: json(
                "The binding's credentials, by key",
                Type.Record(Type.String(), Type.String(), { description: "e.g. url, username, password" }),
              ),
            },
            [400, 401, 403, 404, 429, 500, 502, 503],
          ),
        },
      },
      async (request) => {
        const { name } = request.params;
        const { namespace } = await environmentNamespace(deps, request, "shared-service:read");
        const secret = await asProblem(`The binding of ${name}`, () =>
          asCaller(deps, principalOf(request)).get<KubeObject & { data?: Record<string, string> }>(
            resources.secret,
            `${name}-binding`,
            namespace,
          ),
        );
        return Object.fromEntries(
          Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]),
        );
      },
    );
  };
}

import type { FastifyPluginAsync } from "fastify";
import Type from "typebox";
import {
  type SharedService,
  type SharedServiceInstance,
  SharedServiceInstanceSpec,
} from "../../controller/api/shared-service.ts";
import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { problems } from "../problem.ts";
import type { ApiDependencies } from "../server.ts";
import { asCaller, asProblem, environmentNamespace, Name, principalOf } from "./common.ts";
import { mergePatchSchema } from "./patch-schema.ts";

type InstanceObject = SharedServiceInstance & KubeObject;

const EnvParams = Type.Object({ dept: Name, env: Name }, { additionalProperties: false });
const InstanceParams = Type.Object({ dept: Name, env: Name, name: Name }, { additionalProperties: false });

const view = (i: InstanceObject) => ({
  name: i.metadata.name,
  namespace: i.metadata.namespace,
  spec: i.spec,
  status: i.status ?? {},
});

/** The shared services catalogue and departments' subscriptions (rendered or broker-backed instances). */
export function sharedServiceRoutes(deps: ApiDependencies): FastifyPluginAsync {
  const base = "/departments/:dept/environments/:env/shared-services";
  return async (app) => {
    app.get(
      "/catalogue/shared-services",
      { schema: { tags: ["shared services"], summary: "The catalogue: services, plans and prices" } },
      async (request) => {
        principalOf(request);
        const list = await deps.kube.list<SharedService & KubeObject>(resources.sharedService);
        return {
          items: list.items.map((s) => ({
            name: s.metadata.name,
            displayName: s.spec.displayName,
            description: s.spec.description,
            provisioning: s.spec.provisioning.method,
            plans: s.spec.plans,
          })),
        };
      },
    );

    app.get(base, { schema: { tags: ["shared services"], params: EnvParams } }, async (request) => {
      const { namespace } = await environmentNamespace(deps, request, "shared-service:read");
      const list = await deps.kube.list<InstanceObject>(resources.sharedServiceInstance, { namespace });
      return { items: list.items.map(view) };
    });

    app.post(
      base,
      {
        schema: {
          tags: ["shared services"],
          summary: "Subscribe (department admins): the plan's fee is charged pro rata from now",
          params: EnvParams,
          body: Type.Object({ name: Name, spec: SharedServiceInstanceSpec }, { additionalProperties: false }),
        },
      },
      async (request, reply) => {
        const { name, spec } = request.body as { name: string; spec: InstanceObject["spec"] };
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
        return reply.code(201).send(view(created));
      },
    );

    app.get(
      `${base}/:name`,
      { schema: { tags: ["shared services"], params: InstanceParams } },
      async (request) => {
        const { namespace } = await environmentNamespace(deps, request, "shared-service:read");
        const { name } = request.params as { name: string };
        const found = await deps.kube.find<InstanceObject>(resources.sharedServiceInstance, name, namespace);
        if (!found) throw problems.notFound(`There is no subscription ${name} in ${namespace}`);
        return view(found);
      },
    );

    app.patch(
      `${base}/:name`,
      {
        schema: {
          tags: ["shared services"],
          summary: "Change plan or parameters (merge patch; holds and disposal need a records manager)",
          params: InstanceParams,
          body: Type.Object(
            { spec: mergePatchSchema(SharedServiceInstanceSpec) },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => {
        const { name } = request.params as { name: string };
        const { spec } = request.body as { spec: Record<string, unknown> };
        const { dept, namespace } = await environmentNamespace(deps, request, "shared-service:subscribe");
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
      { schema: { tags: ["shared services"], summary: "Cancel the subscription", params: InstanceParams } },
      async (request, reply) => {
        const { name } = request.params as { name: string };
        const { dept, namespace } = await environmentNamespace(deps, request, "shared-service:subscribe");
        request.audit = {
          action: "shared-service.cancel",
          target: { kind: "SharedServiceInstance", name, department: dept, namespace },
        };
        const deleted = await asProblem(`SharedServiceInstance ${name}`, () =>
          asCaller(deps, principalOf(request)).delete(resources.sharedServiceInstance, name, namespace),
        );
        if (!deleted) throw problems.notFound(`There is no subscription ${name} in ${namespace}`);
        return reply.code(202).send({ name, status: "cancelling" });
      },
    );

    app.get(
      `${base}/:name/binding`,
      {
        schema: {
          tags: ["shared services"],
          summary: "The credentials (as the caller: developers and admins may read Secrets)",
          params: InstanceParams,
        },
      },
      async (request) => {
        const { name } = request.params as { name: string };
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

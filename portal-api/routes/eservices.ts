import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply } from "fastify";
import Type from "typebox";
import {
  AccessibilitySummary,
  type EService,
  EServiceSpec,
  EServiceStatus,
} from "../../controller/api/eservice.ts";
import { eserviceWorkload, type Tenant } from "../../controller/api/eservice-workload.ts";
import { dnsLabelPattern } from "../../controller/api/schema-helpers.ts";
import { isAdmissionRefusal, type KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { isPlatformKey } from "../../policies/keys.ts";
import type { Principal } from "../auth/principal.ts";
import type { ApiDependencies, RequestAudit } from "../dependencies.ts";
import { problems } from "../problem.ts";
import {
  asCaller,
  asProblem,
  byName,
  environmentNamespace,
  nameOf,
  principalOf,
  requireAllowed,
} from "./common.ts";
import { mergePatchSchema } from "./patch-schema.ts";
import {
  Conditions,
  Deleting,
  EnvParams,
  json,
  Name,
  Nullable,
  PolicyReportResult,
  ResourceParams,
  responses,
} from "./schemas.ts";

// /departments/{dept}/environments/{env}/eservices and below.

type EServiceObject = EService & KubeObject;

const EServiceView = Type.Object({
  name: Type.String(),
  namespace: Type.String(),
  spec: EServiceSpec,
  status: EServiceStatus,
});

const AccessibilityView = Type.Object({
  summary: Nullable(AccessibilitySummary),
  conditions: Conditions,
  findings: Type.Array(PolicyReportResult, { description: "Every finding, as PolicyReport results" }),
});

const writeProblems = [400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 502, 503] as const;
const readProblems = [400, 401, 403, 404, 429, 500, 503] as const;
// `{name}` and `{name}:{verb}` share a path: a name with a colon is a custom method, which only POST has, so
// other methods answer it 405 (and POST answers 405 to a name without one).
const oneProblems = [...writeProblems, 405] as const;

function view(es: EServiceObject) {
  return { name: nameOf(es), namespace: es.metadata.namespace ?? "", spec: es.spec, status: es.status ?? {} };
}

/** An environment's listing as it is sent: the reads keep it until one of its e-services changes. */
function listingBody(items: EServiceObject[]): Buffer {
  return Buffer.from(JSON.stringify({ items: items.sort(byName).map(view) }));
}

/**
 * Asks the API server, as the caller and without storing anything, whether the workload this EService
 * renders would be admitted, so a refused image or classification is reported now (422 naming the rule)
 * rather than later in the EService's status. Platform-owned labels are left out: the controller sets those.
 */
async function previewWorkload(
  deps: ApiDependencies,
  principal: Principal,
  es: EServiceObject,
  tenant: Tenant,
) {
  const deployment = eserviceWorkload(es, tenant);
  const spec = deployment.spec as { template: { metadata: { labels: Record<string, string> } } };
  const declared = Object.fromEntries(
    Object.entries(spec.template.metadata.labels).filter(([key]) => !isPlatformKey(key)),
  );
  const probe: KubeObject = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `${es.metadata.name}-admission-check`, namespace: es.metadata.namespace },
    spec: {
      ...spec,
      selector: { matchLabels: { app: "admission-check" } },
      template: { ...spec.template, metadata: { labels: { ...declared, app: "admission-check" } } },
    },
  };
  try {
    await asCaller(deps, principal).create(probe, { dryRun: true });
  } catch (error) {
    // Callers who may not create workloads themselves (operators) cannot be previewed; the controller's
    // status reports any refusal then.
    if (isAdmissionRefusal(error)) throw error;
  }
}

/** The custom methods, Google API style: `POST .../eservices/{name}:expose` and `:withdraw`. */
const customMethodPattern = `${dnsLabelPattern.slice(0, -1)}:(expose|withdraw)$`;

export function eserviceRoutes(deps: ApiDependencies): FastifyPluginAsyncTypebox {
  const base = "/departments/:dept/environments/:env/eservices";
  // The router tells `{name}` from `{name}:{verb}` by the colon, so that e.g. GET of `x:expose` is answered
  // 405 (only POST is declared there) and POST of a plain name 405 too, as the OpenAPI document says.
  const one = `${base}/:name(^[^:]*$)`;
  const custom = `${base}/:action(^[^:]*:[^:]*$)`;
  return async (app) => {
    const patch = async (
      request: { principal?: Principal; params: { dept: string; env: string }; audit?: RequestAudit },
      name: string,
      spec: Record<string, unknown>,
      action: string,
    ) => {
      const principal = principalOf(request);
      const { dept, namespace } = await environmentNamespace(deps, request, "eservice:write");
      const before = await deps.kube.find<EServiceObject>(resources.eservice, name, namespace);
      if (!before) throw problems.notFound(`EService ${name} does not exist in ${namespace}`);
      // The same rule as admission (GH-PUB-001): exposure is an admin's decision, and so is any change to
      // an e-service the public already sees.
      if (
        before.spec.exposure === "public" ||
        (spec.exposure !== undefined && spec.exposure !== before.spec.exposure)
      )
        requireAllowed(principal, "eservice:publish", dept);
      request.audit = {
        action,
        target: { kind: "EService", name, department: dept, namespace },
        before: before.spec,
        after: spec,
      };
      const caller = asCaller(deps, principal);
      return view(
        await asProblem(`EService ${name}`, async () => {
          const merged = await caller.mergePatch<EServiceObject>(
            resources.eservice,
            name,
            { spec },
            { namespace, dryRun: true },
          );
          await previewWorkload(deps, principal, merged, {
            department: dept,
            environment: namespace.slice(dept.length + 1),
            domains: [],
          });
          const changed = await caller.mergePatch<EServiceObject>(
            resources.eservice,
            name,
            { spec },
            { namespace },
          );
          await deps.reads.written(changed);
          return changed;
        }),
      );
    };

    app.get(
      base,
      {
        schema: {
          tags: ["eservices"],
          summary: "The environment's e-services",
          params: EnvParams,
          response: responses(
            { 200: json("The e-services", Type.Object({ items: Type.Array(EServiceView) })) },
            readProblems,
          ),
        },
      },
      async (request, reply) => {
        const { namespace } = await environmentNamespace(deps, request, "eservice:read");
        const body = await deps.reads.renderedEServices(namespace, listingBody);
        // Already serialized (the route's schema describes it): the plain reply type sends bytes as they are.
        return (reply as FastifyReply).type("application/json; charset=utf-8").send(body);
      },
    );

    app.post(
      base,
      {
        schema: {
          tags: ["eservices"],
          summary: "Create an e-service (public exposure needs the department admin role)",
          params: EnvParams,
          body: Type.Object({ name: Name, spec: EServiceSpec }, { additionalProperties: false }),
          response: responses(
            {
              201: {
                ...json("Created", EServiceView),
                headers: { location: { type: "string", description: "The e-service's URL" } },
              },
            },
            writeProblems,
          ),
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const { name, spec } = request.body;
        const { dept, env, namespace } = await environmentNamespace(deps, request, "eservice:write");
        request.audit = {
          action: "eservice.create",
          target: { kind: "EService", name, department: dept, namespace },
          after: spec,
        };
        if (spec.exposure === "public") requireAllowed(principal, "eservice:publish", dept);
        const object: EServiceObject = {
          apiVersion: "govhost.io/v1alpha1",
          kind: "EService",
          metadata: { name, namespace },
          spec,
        };
        const caller = asCaller(deps, principal);
        const created = await asProblem(`EService ${name}`, async () => {
          await caller.create(object, { dryRun: true });
          await previewWorkload(deps, principal, object, { department: dept, environment: env, domains: [] });
          return caller.create<EServiceObject>(object);
        });
        await deps.reads.written(created);
        return reply
          .code(201)
          .header("location", `/api/v1/departments/${dept}/environments/${env}/eservices/${name}`)
          .send(view(created));
      },
    );

    app.get(
      one,
      {
        schema: {
          tags: ["eservices"],
          summary: "One e-service: its spec and status",
          params: ResourceParams,
          response: responses({ 200: json("The e-service", EServiceView) }, [...readProblems, 405]),
        },
      },
      async (request) => {
        const { namespace } = await environmentNamespace(deps, request, "eservice:read");
        const { name } = request.params;
        const es = await deps.reads.eservice(namespace, name);
        if (!es) throw problems.notFound(`EService ${name} does not exist in ${namespace}`);
        return view(es);
      },
    );

    app.patch(
      one,
      {
        schema: {
          tags: ["eservices"],
          summary: "Change an e-service (e.g. deploy a new image); JSON merge patch of spec",
          params: ResourceParams,
          body: Type.Object({ spec: mergePatchSchema(EServiceSpec) }, { additionalProperties: false }),
          response: responses({ 200: json("The changed e-service", EServiceView) }, oneProblems),
        },
      },
      async (request) => patch(request, request.params.name, request.body.spec, "eservice.update"),
    );

    app.post(
      custom,
      {
        schema: {
          tags: ["eservices"],
          summary:
            "{name}:expose publishes the e-service (once its baselines pass); {name}:withdraw takes it down",
          params: Type.Object(
            { dept: Name, env: Name, action: Type.String({ pattern: customMethodPattern }) },
            { additionalProperties: false },
          ),
          response: responses({ 200: json("The changed e-service", EServiceView) }, oneProblems),
        },
      },
      async (request) => {
        const [name = "", verb] = request.params.action.split(":");
        const exposure = verb === "expose" ? "public" : "internal";
        return patch(request, name, { exposure }, `eservice.${verb}`);
      },
    );

    app.delete(
      one,
      {
        schema: {
          tags: ["eservices"],
          summary: "Delete an e-service (a public one needs the department admin role)",
          params: ResourceParams,
          response: responses(
            { 202: json("Deletion started", Deleting("deleting")) },
            [400, 401, 403, 404, 405, 422, 429, 500, 502, 503],
          ),
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const { name } = request.params;
        const { dept, namespace } = await environmentNamespace(deps, request, "eservice:write");
        const before = await deps.kube.find<EServiceObject>(resources.eservice, name, namespace);
        if (!before) throw problems.notFound(`EService ${name} does not exist in ${namespace}`);
        if (before.spec.exposure === "public") requireAllowed(principal, "eservice:publish", dept);
        request.audit = {
          action: "eservice.delete",
          target: { kind: "EService", name, department: dept, namespace },
        };
        const deleted = await asProblem(`EService ${name}`, () =>
          asCaller(deps, principal).delete(resources.eservice, name, namespace),
        );
        if (!deleted) throw problems.notFound(`EService ${name} does not exist in ${namespace}`);
        await deps.reads.deleted("EService", name, namespace);
        return reply.code(202).send({ name, status: "deleting" as const });
      },
    );

    app.get(
      `${base}/:name/accessibility`,
      {
        schema: {
          tags: ["eservices"],
          summary: "The accessibility baseline of an e-service: summary, conditions and every finding",
          params: ResourceParams,
          response: responses({ 200: json("The accessibility report", AccessibilityView) }, readProblems),
        },
      },
      async (request) => {
        const { namespace } = await environmentNamespace(deps, request, "eservice:read");
        const { name } = request.params;
        const es = await deps.reads.eservice(namespace, name);
        if (!es) throw problems.notFound(`EService ${name} does not exist in ${namespace}`);
        const report = await deps.kube.find<KubeObject & { results?: Record<string, unknown>[] }>(
          resources.policyReport,
          `govhost-a11y-${name}`,
          namespace,
        );
        return {
          summary: es.status?.accessibility ?? null,
          conditions: (es.status?.conditions ?? []).filter(
            (c) => c.type === "AccessibilityBaseline" || c.type === "Exposed",
          ),
          findings: report?.results ?? [],
        };
      },
    );
  };
}

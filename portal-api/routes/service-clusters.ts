import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type, { type Static } from "typebox";
import type { EService } from "../../controller/api/eservice.ts";
import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import type { ApiDependencies } from "../dependencies.ts";
import { nameOf } from "./common.ts";
import { DisplayName, json, responses } from "./schemas.ts";

// /service-clusters: the citizen-facing catalogue of exposed e-services, by service cluster (public).

type EServiceObject = EService & KubeObject;

const ServiceClusters = Type.Object({
  items: Type.Array(
    Type.Object({
      cluster: Type.String({ description: "The service cluster, e.g. business, transport, health" }),
      services: Type.Array(
        Type.Object({
          name: Type.String(),
          department: Type.String(),
          displayName: DisplayName,
          url: Type.String({ description: "Where citizens reach the e-service" }),
        }),
      ),
    }),
  ),
});
type ServiceClusters = Static<typeof ServiceClusters>;
type CatalogueService = ServiceClusters["items"][number]["services"][number];

/**
 * The citizen-facing catalogue: public e-services that are exposed now, grouped by service cluster. It is
 * public, so it is served from a cache of `cacheMs` (concurrent misses share one list call): anonymous
 * traffic costs the API server at most one list of EServices per interval, however much of it comes.
 */
export function serviceClusterRoutes(
  deps: ApiDependencies,
  options: { cacheMs: number },
): FastifyPluginAsyncTypebox {
  let cached: { at: number; value: ServiceClusters } | undefined;
  let loading: Promise<ServiceClusters> | undefined;
  const current = (): Promise<ServiceClusters> => {
    if (cached && Date.now() - cached.at < options.cacheMs) return Promise.resolve(cached.value);
    loading ??= build(deps)
      .then((value) => {
        cached = { at: Date.now(), value };
        return value;
      })
      .finally(() => {
        loading = undefined;
      });
    return loading;
  };
  return async (app) => {
    app.get(
      "/service-clusters",
      {
        config: { public: true },
        schema: {
          tags: ["catalogue"],
          summary: "Public e-services by service cluster",
          security: [],
          response: responses(
            { 200: json("Exposed e-services by service cluster", ServiceClusters) },
            [429, 500, 503],
          ),
        },
      },
      async (_request, reply) => {
        reply.header("cache-control", `public, max-age=${Math.floor(options.cacheMs / 1000)}`);
        return current();
      },
    );
  };
}

async function build(deps: ApiDependencies): Promise<ServiceClusters> {
  const all = await deps.kube.list<EServiceObject>(resources.eservice);
  const clusters = new Map<string, CatalogueService[]>();
  for (const es of all.items) {
    const exposed = es.status?.conditions?.some((c) => c.type === "Exposed" && c.status === "True");
    if (!exposed || !es.status?.url) continue;
    const cluster = es.spec.serviceCluster ?? "other";
    const name = nameOf(es);
    clusters.set(cluster, [
      ...(clusters.get(cluster) ?? []),
      {
        name,
        department:
          es.metadata.labels?.["govhost.io/department"] ??
          (es.metadata.namespace ?? "").replace(/-[^-]+$/, ""),
        displayName: es.spec.displayName ?? { en: name, zhHant: name },
        url: es.status.url,
      },
    ]);
  }
  return {
    items: [...clusters.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([cluster, services]) => ({
        cluster,
        services: services.sort((a, b) => a.name.localeCompare(b.name)),
      })),
  };
}

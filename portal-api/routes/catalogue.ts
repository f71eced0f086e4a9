import type { FastifyPluginAsync } from "fastify";
import type { EService } from "../../controller/api/eservice.ts";
import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import type { ApiDependencies } from "../server.ts";

type EServiceObject = EService & KubeObject;

interface CatalogueService {
  name: string;
  department: string;
  displayName: unknown;
  url: string;
}

interface Catalogue {
  items: { cluster: string; services: CatalogueService[] }[];
}

/**
 * The citizen-facing catalogue: public e-services that are exposed now, grouped by service cluster. It is
 * public, so it is served from a cache of `cacheMs` (concurrent misses share one list call): anonymous
 * traffic costs the API server at most one list of EServices per interval, however much of it comes.
 */
export function catalogueRoutes(deps: ApiDependencies, options: { cacheMs: number }): FastifyPluginAsync {
  let cached: { at: number; value: Catalogue } | undefined;
  let loading: Promise<Catalogue> | undefined;
  const current = (): Promise<Catalogue> => {
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
        schema: { tags: ["catalogue"], summary: "Public e-services by service cluster", security: [] },
      },
      async (_request, reply) => {
        reply.header("cache-control", `public, max-age=${Math.floor(options.cacheMs / 1000)}`);
        return current();
      },
    );
  };
}

async function build(deps: ApiDependencies): Promise<Catalogue> {
  const all = await deps.kube.list<EServiceObject>(resources.eservice);
  const clusters = new Map<string, CatalogueService[]>();
  for (const es of all.items) {
    const exposed = es.status?.conditions?.some((c) => c.type === "Exposed" && c.status === "True");
    if (!exposed || !es.status?.url) continue;
    const cluster = es.spec.serviceCluster ?? "other";
    clusters.set(cluster, [
      ...(clusters.get(cluster) ?? []),
      {
        name: es.metadata.name as string,
        department:
          es.metadata.labels?.["govhost.io/department"] ??
          (es.metadata.namespace ?? "").replace(/-[^-]+$/, ""),
        displayName: es.spec.displayName ?? { en: es.metadata.name, zhHant: es.metadata.name },
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

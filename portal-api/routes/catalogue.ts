import type { FastifyPluginAsync } from "fastify";
import type { EService } from "../../controller/api/eservice.ts";
import type { KubeObject } from "../../controller/runtime/kube-client.ts";
import { resources } from "../../controller/runtime/resources.ts";
import type { ApiDependencies } from "../server.ts";

type EServiceObject = EService & KubeObject;

/** The citizen-facing catalogue: public e-services that are exposed now, grouped by service cluster. */
export function catalogueRoutes(deps: ApiDependencies): FastifyPluginAsync {
  return async (app) => {
    app.get(
      "/service-clusters",
      {
        config: { public: true },
        schema: { tags: ["catalogue"], summary: "Public e-services by service cluster", security: [] },
      },
      async () => {
        const all = await deps.kube.list<EServiceObject>(resources.eservice);
        const clusters = new Map<
          string,
          { name: string; department: string; displayName: unknown; url: string }[]
        >();
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
      },
    );
  };
}

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type, { type Static } from "typebox";
import type { EServiceDirectory } from "../eservice-directory.ts";
import { DisplayName, json, responses } from "./schemas.ts";

// /service-clusters: the citizen-facing catalogue of exposed e-services, by service cluster (public).

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
          figures: Type.Optional(
            Type.Object(
              {
                period: Type.String({ description: "Calendar month, YYYY-MM" }),
                availabilityPercent: Type.Optional(
                  Type.Number({
                    description: "The platform's probes answered ÷ probes × 100, one decimal, rounded down",
                  }),
                ),
                satisfactionPercent: Type.Optional(
                  Type.Number({
                    description: "Citizens' ratings of 4 or 5 ÷ ratings × 100, one decimal, rounded down",
                  }),
                ),
                ratings: Type.Optional(Type.Integer({ description: "How many ratings" })),
              },
              { description: "The month's figures (absent until the e-service has been probed or rated)" },
            ),
          ),
        }),
      ),
    }),
  ),
});
type ServiceClusters = Static<typeof ServiceClusters>;

/**
 * The citizen-facing catalogue: public e-services that are exposed now, grouped by service cluster, from the
 * e-service directory the public pages read too (cached, see eservice-directory.ts).
 */
export function serviceClusterRoutes(directory: EServiceDirectory): FastifyPluginAsyncTypebox {
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
      async (_request, reply): Promise<ServiceClusters> => {
        reply.header("cache-control", `public, max-age=${Math.floor(directory.cacheMs / 1000)}`);
        const { clusters } = await directory.current();
        return {
          items: clusters.map(({ cluster, services }) => ({
            cluster,
            services: services.map(({ name, department, displayName, url, figures }) => ({
              name,
              department,
              displayName,
              url,
              ...(figures ? { figures } : {}),
            })),
          })),
        };
      },
    );
  };
}

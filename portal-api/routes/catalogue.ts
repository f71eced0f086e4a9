import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { type SharedService, SharedServicePlan } from "../../controller/api/shared-service.ts";
import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import type { ApiDependencies } from "../dependencies.ts";
import { nameOf, principalOf } from "./common.ts";
import { DisplayName, json, responses } from "./schemas.ts";

// /catalogue/shared-services: the shared services departments may subscribe to, with plans and prices.

const CatalogueEntry = Type.Object({
  name: Type.String(),
  displayName: DisplayName,
  description: Type.String(),
  provisioning: Type.String({ description: "rendered (into the department's namespace) or broker" }),
  plans: Type.Array(SharedServicePlan),
});

export function catalogueRoutes(deps: ApiDependencies): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/catalogue/shared-services",
      {
        schema: {
          tags: ["shared-services"],
          summary: "The catalogue: services, plans and prices",
          response: responses(
            { 200: json("The shared services", Type.Object({ items: Type.Array(CatalogueEntry) })) },
            [401, 429, 500, 503],
          ),
        },
      },
      async (request) => {
        principalOf(request);
        const list = await deps.kube.list<SharedService & KubeObject>(resources.sharedService);
        return {
          items: list.items.map((s) => ({
            name: nameOf(s),
            displayName: s.spec.displayName,
            description: s.spec.description,
            provisioning: s.spec.provisioning.method,
            plans: s.spec.plans,
          })),
        };
      },
    );
  };
}

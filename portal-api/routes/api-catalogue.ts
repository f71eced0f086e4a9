import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import type { ApiExport } from "../../controller/api/api-exchange.ts";
import { gatewayPath } from "../../controller/api/api-gateway.ts";
import { dataClassifications } from "../../controller/api/department.ts";
import { StringEnum } from "../../controller/api/schema-helpers.ts";
import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import type { ApiDependencies } from "../dependencies.ts";
import { problems } from "../problem.ts";
import { nameOf, principalOf } from "./common.ts";
import { DisplayName, json, responses } from "./schemas.ts";

// /api-catalogue: the APIs departments publish to each other (ApiExports), for everyone signed in with a
// department or platform role: what each returns, its OpenAPI document, and whether the caller's departments
// may ask for access (docs/api-exchange.md).

const CatalogueApi = Type.Object({
  department: Type.String(),
  environment: Type.String(),
  name: Type.String(),
  eservice: Type.String(),
  basePath: Type.String(),
  description: DisplayName,
  openApi: Type.String({ description: "Where the API's OpenAPI document is published" }),
  gatewayPath: Type.String({
    description:
      "Where a granted consumer's pods call the API: this path at the API gateway (the full address is in the grant's status.provider.url)",
  }),
  dataClassification: StringEnum(dataClassifications),
  offeredToAll: Type.Boolean(),
  mayAsk: Type.Array(Type.String(), {
    description:
      "The caller's departments that may ask for access (an ApiGrant in one of their environments)",
  }),
});

export function apiCatalogueRoutes(deps: ApiDependencies): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/api-catalogue",
      {
        schema: {
          tags: ["api-exchange"],
          summary: "The APIs departments publish to each other",
          response: responses(
            { 200: json("The published APIs", Type.Object({ items: Type.Array(CatalogueApi) })) },
            [401, 403, 429, 500, 503],
          ),
        },
      },
      async (request) => {
        const principal = principalOf(request);
        const own = Object.keys(principal.departments);
        if (own.length === 0 && principal.platformRoles.length === 0)
          throw problems.forbidden(
            `${principal.username} belongs to no department`,
            "Ask your department's admins to add one of your groups to the department (spec.groups)",
          );
        const list = await deps.kube.list<ApiExport & KubeObject>(resources.apiExport);
        const items = list.items.flatMap((e) => {
          // Environment names have no hyphen, so a namespace <department>-<environment> splits exactly.
          const namespace = e.metadata.namespace ?? "";
          const cut = namespace.lastIndexOf("-");
          if (cut <= 0) return [];
          const department = namespace.slice(0, cut);
          const environment = namespace.slice(cut + 1);
          const { consumers } = e.spec;
          return [
            {
              department,
              environment,
              name: nameOf(e),
              eservice: e.spec.eservice,
              basePath: e.spec.basePath,
              description: e.spec.description,
              openApi: e.spec.openApi,
              gatewayPath: `${gatewayPath(namespace, nameOf(e))}/`,
              dataClassification: e.spec.dataClassification,
              offeredToAll: consumers.all,
              mayAsk: own.filter(
                (d) => d !== department && (consumers.all || consumers.departments.includes(d)),
              ),
            },
          ];
        });
        items.sort((a, b) => a.department.localeCompare(b.department) || a.name.localeCompare(b.name));
        return { items };
      },
    );
  };
}

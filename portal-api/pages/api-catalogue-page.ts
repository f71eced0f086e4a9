import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { LocalisedName } from "../eservice-directory.ts";
import { localePath, locales, localised, messagesFor } from "./i18n.ts";
import { sendPage, sendRefusal } from "./render.ts";
import type { SignedInKit } from "./signed-in.ts";

// The APIs departments publish to each other, as the API catalogue route has them (docs/api-exchange.md).

interface CatalogueApi {
  department: string;
  environment: string;
  name: string;
  description: LocalisedName;
  openApi: string;
  dataClassification: string;
  mayAsk: string[];
}

export function apiCataloguePage(kit: SignedInKit): FastifyPluginAsyncTypebox {
  return async (app) => {
    for (const locale of locales) {
      app.get(
        localePath(locale, "/apis"),
        { config: { public: true }, schema: { hide: true } },
        async (request, reply) => {
          const session = await kit.signedIn(request, reply);
          if (!session) return reply;
          const context = kit.context(session, reply, locale);
          const t = messagesFor(locale);
          const answer = await kit.call(session, "/api/v1/api-catalogue");
          if (answer.status !== 200) return sendRefusal(reply, context, answer.status);
          const rows = (answer.body as { items: CatalogueApi[] }).items.map((api) => ({
            name: api.name,
            description: localised(api.description, locale),
            publishedBy: `${api.department} (${api.environment})`,
            classification: t.classifications[api.dataClassification] ?? api.dataClassification,
            openApi: api.openApi,
            mayAsk: api.mayAsk.length ? api.mayAsk.join(", ") : t.noneOfYours,
          }));
          return sendPage(reply, 200, "./api-catalogue", context, t.apiCatalogueTitle, {
            path: "/apis",
            rows,
          });
        },
      );
    }
  };
}

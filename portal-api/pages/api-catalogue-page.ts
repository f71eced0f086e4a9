import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply } from "fastify";
import Type from "typebox";
import type { LocalisedName } from "../eservice-directory.ts";
import { errorAt, linkedToControls, localeOf, type Problem, problemLines, segment } from "./forms.ts";
import { localePath, locales, localised, messagesFor } from "./i18n.ts";
import { type PageContext, sendPage, sendRefusal } from "./render.ts";
import type { Session } from "./session.ts";
import type { SignedInKit } from "./signed-in.ts";

// The APIs departments publish to each other, as the API catalogue route has them, and for each one the
// caller's departments may ask for, the form to ask from one of their environments (docs/api-exchange.md).

interface CatalogueApi {
  department: string;
  environment: string;
  name: string;
  description: LocalisedName;
  openApi: string;
  gatewayPath: string;
  dataClassification: string;
  mayAsk: string[];
}

interface Asked {
  api: string;
  from?: string;
  purpose?: string;
  until?: string;
}

/** The ask form's id prefix for one API (unique on the page). */
const formId = (api: CatalogueApi) => `ask-${api.department}-${api.environment}-${api.name}`;
const apiKey = (api: CatalogueApi) => `${api.department}/${api.environment}/${api.name}`;

export function apiCataloguePage(kit: SignedInKit): FastifyPluginAsyncTypebox {
  return async (app) => {
    const show = async (
      reply: FastifyReply,
      session: Session,
      context: PageContext,
      notice: { problem?: Problem; asked?: Asked; saved?: boolean } = {},
    ): Promise<FastifyReply> => {
      const { locale } = context;
      const t = messagesFor(locale);
      const answer = await kit.call(session, "/api/v1/api-catalogue");
      if (answer.status !== 200) return sendRefusal(reply, context, answer.status);
      const apis = (answer.body as { items: CatalogueApi[] }).items;
      // The environments of each department the caller may ask from (one call per department).
      const askers = [...new Set(apis.flatMap((api) => api.mayAsk))];
      const environmentsOf = new Map(
        await Promise.all(
          askers.map(async (dept) => {
            const envs = await kit.call(session, `/api/v1/departments/${segment(dept)}/environments`);
            const names =
              envs.status === 200
                ? (envs.body as { items: { name: string }[] }).items.map((e) => e.name)
                : [];
            return [dept, names] as const;
          }),
        ),
      );
      const askedApi = apis.find((a) => apiKey(a) === notice.asked?.api);
      const askedId = askedApi ? formId(askedApi) : "ask";
      const problemFor = notice.problem
        ? linkedToControls(problemLines(notice.problem), {
            [`${askedId}-from`]: ["from", "body.name"],
            [`${askedId}-purpose`]: ["body.spec.purpose"],
            [`${askedId}-until`]: ["body.spec.expiresAt", "until"],
          })
        : [];
      const rows = apis.map((api) => ({
        name: api.name,
        description: localised(api.description, locale),
        publishedBy: `${api.department} (${api.environment})`,
        classification: t.classifications[api.dataClassification] ?? api.dataClassification,
        openApi: api.openApi,
        gatewayPath: api.gatewayPath,
        mayAsk: api.mayAsk.length ? api.mayAsk.join(", ") : t.noneOfYours,
      }));
      const forms = apis
        .filter((api) => api.mayAsk.length > 0)
        .map((api) => {
          const id = formId(api);
          const mine = notice.asked?.api === apiKey(api);
          return {
            id,
            api: apiKey(api),
            heading: t.askFor(api.name, api.department),
            choices: api.mayAsk.flatMap((dept) =>
              (environmentsOf.get(dept) ?? []).map((env) => ({
                value: `${dept}/${env}`,
                text: `${dept} (${env})`,
                selected: mine && notice.asked?.from === `${dept}/${env}`,
              })),
            ),
            purpose: mine ? (notice.asked?.purpose ?? "") : "",
            until: mine ? (notice.asked?.until ?? "") : "",
            errors: mine
              ? {
                  from: errorAt(problemFor, `${id}-from`),
                  purpose: errorAt(problemFor, `${id}-purpose`),
                  until: errorAt(problemFor, `${id}-until`),
                }
              : {},
          };
        });
      return sendPage(reply, notice.problem?.status ?? 200, "./api-catalogue", context, t.apiCatalogueTitle, {
        path: "/apis",
        action: "/apis",
        rows,
        forms,
        problem: notice.problem ? problemFor : undefined,
        saved: notice.saved === true,
        savedText: t.accessAsked,
      });
    };

    for (const locale of locales) {
      app.get(
        localePath(locale, "/apis"),
        {
          config: { public: true },
          schema: { hide: true, querystring: Type.Object({ asked: Type.Optional(Type.String()) }) },
        },
        async (request, reply) => {
          const session = await kit.signedIn(request, reply);
          if (!session) return reply;
          return show(reply, session, kit.context(session, reply, locale), {
            saved: request.query.asked === "1",
          });
        },
      );
    }

    const AskForm = Type.Object({
      _csrf: Type.Optional(Type.String()),
      lang: Type.Optional(Type.String()),
      api: Type.String({ maxLength: 200 }),
      from: Type.Optional(Type.String({ maxLength: 200 })),
      purpose: Type.Optional(Type.String({ maxLength: 2000 })),
      until: Type.Optional(Type.String({ maxLength: 40 })),
    });

    app.post(
      "/apis",
      {
        config: { public: true },
        schema: { hide: true, body: AskForm },
        preValidation: app.csrfProtection,
      },
      async (request, reply) => {
        const session = await kit.signedIn(request, reply);
        if (!session) return reply;
        const locale = localeOf(request.body.lang);
        const context = kit.context(session, reply, locale);
        const t = messagesFor(locale);
        const asked: Asked = {
          api: request.body.api,
          from: request.body.from ?? "",
          purpose: (request.body.purpose ?? "").trim(),
          until: (request.body.until ?? "").trim(),
        };
        const [department, environment, name] = asked.api.split("/");
        const [fromDept, fromEnv] = (asked.from ?? "").split("/");
        if (!department || !environment || !name || !fromDept || !fromEnv)
          return show(reply, session, context, {
            asked,
            problem: { status: 400, field: "from", detail: t.chooseEnvironment },
          });
        if (!/^\d{4}-\d{2}-\d{2}$/.test(asked.until ?? ""))
          return show(reply, session, context, {
            asked,
            problem: { status: 400, field: "until", detail: t.chooseDate },
          });
        // The classification the consumer acknowledges is the export's own, as the catalogue shows it.
        const catalogue = await kit.call(session, "/api/v1/api-catalogue");
        const api =
          catalogue.status === 200
            ? (catalogue.body as { items: CatalogueApi[] }).items.find((a) => apiKey(a) === asked.api)
            : undefined;
        if (!api) return sendRefusal(reply, context, 404);
        const created = await kit.call(
          session,
          `/api/v1/departments/${segment(fromDept)}/environments/${segment(fromEnv)}/api-grants`,
          {
            method: "POST",
            body: {
              name: `${department}-${name}`.slice(0, 63).replace(/-+$/, ""),
              spec: {
                export: { department, environment, name },
                purpose: asked.purpose,
                dataClassification: api.dataClassification,
                expiresAt: `${asked.until}T00:00:00Z`,
              },
            },
          },
        );
        if (created.status === 201) return reply.redirect(`${localePath(locale, "/apis")}?asked=1`, 303);
        return show(reply, session, context, { asked, problem: created.body as Problem });
      },
    );
  };
}

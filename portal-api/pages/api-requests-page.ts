import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply } from "fastify";
import Type from "typebox";
import type { ApiGrantSpec, ApiGrantStatus } from "../../controller/api/api-exchange.ts";
import { localeOf, type Problem, problemLines, segment } from "./forms.ts";
import { formatDateTime, localePath, locales, messagesFor } from "./i18n.ts";
import { type PageContext, sendPage, sendRefusal } from "./render.ts";
import type { Session } from "./session.ts";
import type { SignedInKit } from "./signed-in.ts";

// Other departments' requests for a department's APIs (docs/api-exchange.md), and for its admins the forms
// to approve or refuse each one: the API's decision route, in the admin's own name.

interface GrantView {
  name: string;
  namespace: string;
  spec: ApiGrantSpec;
  status: ApiGrantStatus;
}

const Params = Type.Object({ dept: Type.String({ maxLength: 63 }) });
const pagePath = (dept: string) => `/departments/${segment(dept)}/api-requests`;

export function apiRequestsPage(kit: SignedInKit, settings: { timeZone: string }): FastifyPluginAsyncTypebox {
  return async (app) => {
    const show = async (
      reply: FastifyReply,
      session: Session,
      context: PageContext,
      dept: string,
      notice: { problem?: Problem; saved?: boolean } = {},
    ): Promise<FastifyReply> => {
      const t = messagesFor(context.locale);
      const [answer, mayDecide] = await Promise.all([
        kit.call(session, `/api/v1/departments/${segment(dept)}/api-requests`),
        kit.may(session, "api:decide", dept),
      ]);
      if (answer.status !== 200) return sendRefusal(reply, context, answer.status);
      const rows = (answer.body as { items: GrantView[] }).items.map((grant, index) => {
        const consumer = grant.namespace;
        const phase = grant.status.phase ?? "Pending";
        return {
          id: `${index + 1}`,
          name: grant.name,
          namespace: grant.namespace,
          heading: t.requestHeading(consumer, `${grant.spec.export.name} (${grant.spec.export.environment})`),
          purpose: grant.spec.purpose,
          expires: formatDateTime(grant.spec.expiresAt, context.locale, settings.timeZone),
          phase: t.grantPhases[phase] ?? phase,
          calls: t.callsSummary(
            grant.status.calls?.allowed ?? 0,
            grant.status.calls?.refused ?? 0,
            grant.status.calls?.lastCallAt
              ? formatDateTime(grant.status.calls.lastCallAt, context.locale, settings.timeZone)
              : undefined,
          ),
          open: phase === "Pending" || phase === "Active" || phase === "Refused",
        };
      });
      return sendPage(reply, notice.problem?.status ?? 200, "./api-requests", context, t.apiRequestsTitle, {
        path: pagePath(dept),
        action: pagePath(dept),
        departmentHref: localePath(context.locale, `/departments/${segment(dept)}`),
        rows,
        mayDecide,
        problem: notice.problem ? problemLines(notice.problem) : undefined,
        saved: notice.saved === true,
        savedText: t.decisionSaved,
      });
    };

    for (const locale of locales) {
      app.get(
        localePath(locale, "/departments/:dept/api-requests"),
        {
          config: { public: true },
          schema: {
            hide: true,
            params: Params,
            querystring: Type.Object({ saved: Type.Optional(Type.String()) }),
          },
        },
        async (request, reply) => {
          const session = await kit.signedIn(request, reply);
          if (!session) return reply;
          return show(reply, session, kit.context(session, reply, locale), request.params.dept, {
            saved: request.query.saved === "1",
          });
        },
      );
    }

    const DecisionForm = Type.Object({
      _csrf: Type.Optional(Type.String()),
      lang: Type.Optional(Type.String()),
      namespace: Type.String({ maxLength: 63 }),
      name: Type.String({ maxLength: 63 }),
      decision: Type.Union([Type.Literal("approved"), Type.Literal("refused")]),
      reason: Type.Optional(Type.String({ maxLength: 2000 })),
    });

    app.post(
      "/departments/:dept/api-requests",
      {
        config: { public: true },
        schema: { hide: true, params: Params, body: DecisionForm },
        preValidation: app.csrfProtection,
      },
      async (request, reply) => {
        const session = await kit.signedIn(request, reply);
        if (!session) return reply;
        const locale = localeOf(request.body.lang);
        const context = kit.context(session, reply, locale);
        const { dept } = request.params;
        const { namespace, name, decision } = request.body;
        // The request names the export it asks for: the decision goes to that export's route.
        const asked = await kit.call(session, `/api/v1/departments/${segment(dept)}/api-requests`);
        if (asked.status !== 200) return sendRefusal(reply, context, asked.status);
        const grant = (asked.body as { items: GrantView[] }).items.find(
          (g) => g.namespace === namespace && g.name === name,
        );
        if (!grant) return sendRefusal(reply, context, 404);
        const { environment, name: exportName } = grant.spec.export;
        const decided = await kit.call(
          session,
          `/api/v1/departments/${segment(dept)}/environments/${segment(environment)}/api-exports/${segment(exportName)}/decisions`,
          {
            method: "POST",
            body: { grant: { namespace, name }, decision, reason: (request.body.reason ?? "").trim() },
          },
        );
        if (decided.status === 201)
          return reply.redirect(`${localePath(locale, pagePath(dept))}?saved=1`, 303);
        return show(reply, session, context, dept, { problem: decided.body as Problem });
      },
    );
  };
}

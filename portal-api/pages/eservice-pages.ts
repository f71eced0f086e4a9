import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply } from "fastify";
import Type from "typebox";
import type { EService } from "../../controller/api/eservice.ts";
import { type Answer, conditionRows } from "./department-views.ts";
import { errorAt, linkedToControls, localeOf, type Problem, problemLines, segment } from "./forms.ts";
import { localePath, locales, localised, messagesFor } from "./i18n.ts";
import { type PageContext, sendPage, sendRefusal } from "./render.ts";
import type { SignedInKit } from "./signed-in.ts";

// An e-service's page for its department: its state, its accessibility findings (rule, impact, WCAG
// criterion, elements, how to fix) and the forms to deploy another image and to expose or withdraw it.
// Every read and write is the API route's, called as the signed-in person; a refused write shows the API's
// problem (the field and the fix) in an error summary above the form.

interface EServiceView {
  name: string;
  namespace: string;
  spec: EService["spec"];
  status?: EService["status"];
}

interface Finding {
  rule?: string;
  result?: string;
  message?: string;
  properties?: Record<string, string>;
}

const Params = Type.Object({
  dept: Type.String({ maxLength: 63 }),
  env: Type.String({ maxLength: 63 }),
  name: Type.String({ maxLength: 63 }),
});

const apiPath = (p: { dept: string; env: string; name: string }) =>
  `/api/v1/departments/${segment(p.dept)}/environments/${segment(p.env)}/eservices/${segment(p.name)}`;
const pagePath = (p: { dept: string; env: string; name: string }) =>
  `/departments/${segment(p.dept)}/environments/${segment(p.env)}/eservices/${segment(p.name)}`;

/** WCAG success criteria from axe's tags (wcag143 → 1.4.3); level tags (wcag2aa) are not criteria. */
export function wcagCriteria(tags: string | undefined): string[] {
  return (tags ?? "")
    .split(",")
    .map((tag) => /^wcag(\d)(\d)(\d{1,2})$/.exec(tag.trim()))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => `${match[1]}.${match[2]}.${match[3]}`);
}

function findingRows(answer: Answer) {
  if (answer.status !== 200) return undefined;
  const { findings, summary } = answer.body as { findings: Finding[]; summary: unknown };
  if (!summary) return undefined;
  return findings
    .filter((f) => f.result === "fail" || f.result === "warn" || f.result === "error")
    .map((f) => ({
      page: f.properties?.path ?? "",
      rule: f.rule ?? "",
      impact: f.properties?.impact ?? "",
      wcag: wcagCriteria(f.properties?.wcag).join(", "),
      elements: f.properties?.targets ?? "",
      fix: f.message ?? "",
      helpUrl: /^https:\/\//.test(f.properties?.helpUrl ?? "") ? f.properties?.helpUrl : undefined,
    }));
}

export function eservicePages(kit: SignedInKit): FastifyPluginAsyncTypebox {
  return async (app) => {
    const show = async (
      reply: FastifyReply,
      context: PageContext,
      answers: { eservice: Answer; accessibility: Answer },
      params: { dept: string; env: string; name: string },
      notice: { problem?: Problem; saved?: boolean; image?: string } = {},
    ): Promise<FastifyReply> => {
      const t = messagesFor(context.locale);
      if (answers.eservice.status !== 200) return sendRefusal(reply, context, answers.eservice.status);
      const es = answers.eservice.body as EServiceView;
      const title = es.spec.displayName ? localised(es.spec.displayName, context.locale) : es.name;
      const conditions = conditionRows(
        es.status?.conditions,
        (es.status?.conditions ?? []).map((c) => c.type),
        context.locale,
      );
      const lines = notice.problem
        ? linkedToControls(problemLines(notice.problem), { image: ["body.spec.image", "spec.image"] })
        : [];
      return sendPage(
        reply,
        notice.problem ? notice.problem.status : 200,
        "./department-eservice",
        context,
        title,
        {
          path: pagePath(params),
          environment: params.env,
          departmentHref: localePath(context.locale, `/departments/${segment(params.dept)}`),
          action: pagePath(params),
          es: {
            image: es.spec.image,
            exposure: t.exposures[es.spec.exposure] ?? es.spec.exposure,
            public: es.spec.exposure === "public",
            url: es.status?.url,
          },
          conditions,
          findings: findingRows(answers.accessibility),
          problem: notice.problem ? lines : undefined,
          imageError: errorAt(lines, "image"),
          imageValue: notice.image ?? es.spec.image,
          saved: notice.saved === true,
        },
      );
    };

    const load = async (
      session: Parameters<SignedInKit["call"]>[0],
      params: { dept: string; env: string; name: string },
    ) => {
      const [eservice, accessibility] = await Promise.all([
        kit.call(session, apiPath(params)),
        kit.call(session, `${apiPath(params)}/accessibility`),
      ]);
      return { eservice, accessibility };
    };

    for (const locale of locales) {
      app.get(
        localePath(locale, "/departments/:dept/environments/:env/eservices/:name"),
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
          const context = kit.context(session, reply, locale);
          return show(reply, context, await load(session, request.params), request.params, {
            saved: request.query.saved === "1",
          });
        },
      );
    }

    const newPath = (p: { dept: string; env: string }) =>
      `/departments/${segment(p.dept)}/environments/${segment(p.env)}/new-eservice`;
    const NewParams = Type.Object({
      dept: Type.String({ maxLength: 63 }),
      env: Type.String({ maxLength: 63 }),
    });
    const NewForm = Type.Object({
      _csrf: Type.Optional(Type.String()),
      lang: Type.Optional(Type.String()),
      name: Type.Optional(Type.String({ maxLength: 253 })),
      image: Type.Optional(Type.String({ maxLength: 512 })),
      displayNameEn: Type.Optional(Type.String({ maxLength: 400 })),
      displayNameZh: Type.Optional(Type.String({ maxLength: 400 })),
    });
    type NewValues = Partial<Record<"name" | "image" | "displayNameEn" | "displayNameZh", string>>;

    const showNew = (
      reply: FastifyReply,
      context: PageContext,
      params: { dept: string; env: string },
      values: NewValues,
      problem?: Problem,
    ): FastifyReply => {
      const t = messagesFor(context.locale);
      const lines = problem
        ? linkedToControls(problemLines(problem), {
            name: ["body.name"],
            image: ["body.spec.image"],
            "display-name-en": ["body.spec.displayName"],
          })
        : [];
      return sendPage(
        reply,
        problem?.status ?? 200,
        "./department-eservice-new",
        context,
        t.createEService(params.env),
        {
          path: newPath(params),
          action: newPath(params),
          departmentHref: localePath(context.locale, `/departments/${segment(params.dept)}`),
          values,
          problem: problem ? lines : undefined,
          errors: {
            name: errorAt(lines, "name"),
            image: errorAt(lines, "image"),
            displayName: errorAt(lines, "display-name-en"),
          },
        },
      );
    };

    for (const locale of locales) {
      app.get(
        localePath(locale, "/departments/:dept/environments/:env/new-eservice"),
        { config: { public: true }, schema: { hide: true, params: NewParams } },
        async (request, reply) => {
          const session = await kit.signedIn(request, reply);
          if (!session) return reply;
          const context = kit.context(session, reply, locale);
          // The form is shown to whoever may list the environment's e-services (the API decides).
          const allowed = await kit.call(
            session,
            `/api/v1/departments/${segment(request.params.dept)}/environments/${segment(request.params.env)}/eservices`,
          );
          if (allowed.status !== 200) return sendRefusal(reply, context, allowed.status);
          return showNew(reply, context, request.params, {});
        },
      );
    }

    app.post(
      "/departments/:dept/environments/:env/new-eservice",
      {
        config: { public: true },
        schema: { hide: true, params: NewParams, body: NewForm },
        preValidation: app.csrfProtection,
      },
      async (request, reply) => {
        const session = await kit.signedIn(request, reply);
        if (!session) return reply;
        const locale = localeOf(request.body.lang);
        const { dept, env } = request.params;
        const values: NewValues = {
          name: (request.body.name ?? "").trim(),
          image: (request.body.image ?? "").trim(),
          displayNameEn: (request.body.displayNameEn ?? "").trim(),
          displayNameZh: (request.body.displayNameZh ?? "").trim(),
        };
        const displayName =
          values.displayNameEn || values.displayNameZh
            ? { displayName: { en: values.displayNameEn, zhHant: values.displayNameZh } }
            : {};
        const created = await kit.call(
          session,
          `/api/v1/departments/${segment(dept)}/environments/${segment(env)}/eservices`,
          { method: "POST", body: { name: values.name, spec: { image: values.image, ...displayName } } },
        );
        if (created.status === 201 || created.status === 200)
          return reply.redirect(
            `${localePath(locale, pagePath({ dept, env, name: values.name ?? "" }))}?saved=1`,
            303,
          );
        return showNew(
          reply,
          kit.context(session, reply, locale),
          { dept, env },
          values,
          created.body as Problem,
        );
      },
    );

    const Form = Type.Object({
      _csrf: Type.Optional(Type.String()),
      lang: Type.Optional(Type.String()),
      image: Type.Optional(Type.String({ maxLength: 512 })),
      action: Type.Optional(Type.String()),
    });

    app.post(
      "/departments/:dept/environments/:env/eservices/:name",
      {
        config: { public: true },
        schema: { hide: true, params: Params, body: Form },
        preValidation: app.csrfProtection,
      },
      async (request, reply) => {
        const session = await kit.signedIn(request, reply);
        if (!session) return reply;
        const locale = localeOf(request.body.lang);
        const params = request.params;
        const written =
          request.body.action === "expose" || request.body.action === "withdraw"
            ? await kit.call(session, `${apiPath(params)}:${request.body.action}`, {
                method: "POST",
                body: {},
              })
            : await kit.call(session, apiPath(params), {
                method: "PATCH",
                body: { spec: { image: (request.body.image ?? "").trim() } },
              });
        if (written.status === 200)
          return reply.redirect(`${localePath(locale, pagePath(params))}?saved=1`, 303);
        const context = kit.context(session, reply, locale);
        return show(reply, context, await load(session, params), params, {
          problem: written.body as Problem,
          ...(request.body.image !== undefined ? { image: request.body.image } : {}),
        });
      },
    );
  };
}

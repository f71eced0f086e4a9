import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply } from "fastify";
import Type from "typebox";
import type { SharedServiceInstance } from "../../controller/api/shared-service.ts";
import type { LocalisedName } from "../eservice-directory.ts";
import { conditionRows } from "./department-views.ts";
import {
  errorAt,
  linkedToControls,
  localeOf,
  type Problem,
  type ProblemLine,
  problemLines,
  segment,
} from "./forms.ts";
import { formatMoney, type Locale, localePath, locales, localised, messagesFor } from "./i18n.ts";
import { type PageContext, sendPage, sendRefusal } from "./render.ts";
import type { Session } from "./session.ts";
import type { SignedInKit } from "./signed-in.ts";

// An environment's shared-service subscriptions: the list with the subscribe form, and one subscription with
// its plan, state, the change-plan and cancel forms and, for records services, the legal holds a records
// manager places and lifts. Every read and write is the API route's, as the signed-in person.

interface CataloguePlan {
  name: string;
  displayName: LocalisedName;
  priceMinorPerMonth: number;
}

interface CatalogueEntry {
  name: string;
  displayName: LocalisedName;
  description: string;
  plans: CataloguePlan[];
}

interface Subscription {
  name: string;
  namespace: string;
  spec: SharedServiceInstance["spec"];
  status: NonNullable<SharedServiceInstance["status"]>;
}

type LegalHold = NonNullable<SharedServiceInstance["spec"]["parameters"]["legalHolds"]>[number];

const EnvParams = Type.Object({
  dept: Type.String({ maxLength: 63 }),
  env: Type.String({ maxLength: 63 }),
});
const Params = Type.Object({
  dept: Type.String({ maxLength: 63 }),
  env: Type.String({ maxLength: 63 }),
  name: Type.String({ maxLength: 63 }),
});
type Where = { dept: string; env: string };
type One = Where & { name: string };

const apiBase = (p: Where) =>
  `/api/v1/departments/${segment(p.dept)}/environments/${segment(p.env)}/shared-services`;
const listPath = (p: Where) =>
  `/departments/${segment(p.dept)}/environments/${segment(p.env)}/shared-services`;
const onePath = (p: One) => `${listPath(p)}/${segment(p.name)}`;

/** The plans of the catalogue as one list of choices, each `<service>/<plan>` with its monthly fee. */
function planChoices(catalogue: CatalogueEntry[], currency: string, locale: Locale) {
  return catalogue.map((service) => ({
    label: localised(service.displayName, locale),
    plans: service.plans.map((plan) => ({
      value: `${service.name}/${plan.name}`,
      text: messagesFor(locale).planChoice(
        localised(plan.displayName, locale),
        formatMoney(plan.priceMinorPerMonth, currency, locale),
      ),
    })),
  }));
}

/** The record of a subscription's service and plan in the catalogue, for names and fees. */
function describe(subscription: Subscription, catalogue: CatalogueEntry[], currency: string, locale: Locale) {
  const service = catalogue.find((s) => s.name === subscription.spec.service);
  const plan = service?.plans.find((p) => p.name === subscription.spec.plan);
  return {
    service: service ? localised(service.displayName, locale) : subscription.spec.service,
    plan: plan ? localised(plan.displayName, locale) : subscription.spec.plan,
    fee: plan ? formatMoney(plan.priceMinorPerMonth, currency, locale) : "—",
  };
}

export function subscriptionPages(kit: SignedInKit): FastifyPluginAsyncTypebox {
  return async (app) => {
    /** The catalogue and the currency its fees are in (the rate card's). */
    const loadCatalogue = async (session: Session) => {
      const [catalogue, card] = await Promise.all([
        kit.call(session, "/api/v1/catalogue/shared-services"),
        kit.call(session, "/api/v1/rate-card"),
      ]);
      return {
        status: catalogue.status,
        items: catalogue.status === 200 ? (catalogue.body as { items: CatalogueEntry[] }).items : [],
        // Without a rate card metering bills nothing; the fees are then shown in its default currency.
        currency: card.status === 200 ? (card.body as { currency: string }).currency : "HKD",
      };
    };

    const showList = async (
      reply: FastifyReply,
      session: Session,
      context: PageContext,
      where: Where,
      form: { values?: { name?: string; plan?: string }; problem?: Problem; cancelled?: boolean } = {},
    ): Promise<FastifyReply> => {
      const t = messagesFor(context.locale);
      const [subscriptions, catalogue, mayOrder] = await Promise.all([
        kit.call(session, apiBase(where)),
        loadCatalogue(session),
        kit.may(session, "shared-service:subscribe", where.dept),
      ]);
      if (subscriptions.status !== 200) return sendRefusal(reply, context, subscriptions.status);
      if (catalogue.status !== 200) return sendRefusal(reply, context, catalogue.status);
      const lines: ProblemLine[] = form.problem
        ? linkedToControls(problemLines(form.problem), {
            name: ["body.name"],
            plan: ["body.spec.plan", "body.spec.service", "plan"],
          })
        : [];
      const rows = (subscriptions.body as { items: Subscription[] }).items.map((s) => ({
        id: s.name,
        href: localePath(context.locale, onePath({ ...where, name: s.name })),
        ...describe(s, catalogue.items, catalogue.currency, context.locale),
        ready: conditionRows(s.status.conditions, ["Ready"], context.locale)[0],
      }));
      return sendPage(
        reply,
        form.problem?.status ?? 200,
        "./subscriptions",
        context,
        t.sharedServicesIn(where.env),
        {
          path: listPath(where),
          departmentHref: localePath(context.locale, `/departments/${segment(where.dept)}`),
          action: listPath(where),
          rows,
          mayOrder,
          choices: planChoices(catalogue.items, catalogue.currency, context.locale),
          values: form.values ?? {},
          cancelled: form.cancelled === true,
          problem: form.problem ? lines : undefined,
          errors: {
            name: errorAt(lines, "name"),
            plan: errorAt(lines, "plan"),
          },
        },
      );
    };

    const showOne = async (
      reply: FastifyReply,
      session: Session,
      context: PageContext,
      where: One,
      notice: {
        problem?: Problem;
        saved?: boolean;
        hold?: { id?: string; reason?: string };
        /** The plan the person chose, kept when the change was refused. */
        plan?: string;
      } = {},
    ): Promise<FastifyReply> => {
      const t = messagesFor(context.locale);
      const [answer, catalogue, mayChange, mayHold] = await Promise.all([
        kit.call(session, `${apiBase(where)}/${segment(where.name)}`),
        loadCatalogue(session),
        kit.may(session, "shared-service:subscribe", where.dept),
        kit.may(session, "shared-service:records", where.dept),
      ]);
      if (answer.status !== 200) return sendRefusal(reply, context, answer.status);
      const subscription = answer.body as Subscription;
      const described = describe(subscription, catalogue.items, catalogue.currency, context.locale);
      const service = catalogue.items.find((s) => s.name === subscription.spec.service);
      const holds: LegalHold[] = subscription.spec.parameters?.legalHolds ?? [];
      const isRecords = subscription.spec.service === "records-management";
      const lines: ProblemLine[] = notice.problem
        ? linkedToControls(problemLines(notice.problem), {
            plan: ["body.spec.plan"],
            confirm: ["confirm"],
            "hold-id": ["body.spec.parameters.legalHolds", "hold"],
          })
        : [];
      return sendPage(reply, notice.problem?.status ?? 200, "./subscription", context, subscription.name, {
        path: onePath(where),
        listHref: localePath(context.locale, listPath(where)),
        listTitle: t.sharedServicesIn(where.env),
        action: onePath(where),
        ...described,
        phase: subscription.status.phase ?? "",
        url: subscription.status.url,
        conditions: conditionRows(
          subscription.status.conditions,
          (subscription.status.conditions ?? []).map((c) => c.type),
          context.locale,
        ),
        mayChange,
        plans: (service?.plans ?? []).map((plan) => ({
          value: plan.name,
          text: t.planChoice(
            localised(plan.displayName, context.locale),
            formatMoney(plan.priceMinorPerMonth, catalogue.currency, context.locale),
          ),
          selected: plan.name === (notice.plan ?? subscription.spec.plan),
        })),
        records: isRecords
          ? {
              holds: holds.map((hold) => ({ ...hold })),
              schedules: subscription.spec.parameters?.retentionSchedules ?? [],
              mayHold,
            }
          : undefined,
        hold: notice.hold ?? {},
        problem: notice.problem ? lines : undefined,
        errors: {
          plan: errorAt(lines, "plan"),
          confirm: errorAt(lines, "confirm"),
          hold: errorAt(lines, "hold-id"),
        },
        saved: notice.saved === true,
      });
    };

    for (const locale of locales) {
      app.get(
        localePath(locale, "/departments/:dept/environments/:env/shared-services"),
        {
          config: { public: true },
          schema: {
            hide: true,
            params: EnvParams,
            querystring: Type.Object({ cancelled: Type.Optional(Type.String()) }),
          },
        },
        async (request, reply) => {
          const session = await kit.signedIn(request, reply);
          if (!session) return reply;
          return showList(reply, session, kit.context(session, reply, locale), request.params, {
            cancelled: request.query.cancelled === "1",
          });
        },
      );
      app.get(
        localePath(locale, "/departments/:dept/environments/:env/shared-services/:name"),
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
          return showOne(reply, session, kit.context(session, reply, locale), request.params, {
            saved: request.query.saved === "1",
          });
        },
      );
    }

    const SubscribeForm = Type.Object({
      _csrf: Type.Optional(Type.String()),
      lang: Type.Optional(Type.String()),
      name: Type.Optional(Type.String({ maxLength: 253 })),
      plan: Type.Optional(Type.String({ maxLength: 200 })),
    });

    app.post(
      "/departments/:dept/environments/:env/shared-services",
      {
        config: { public: true },
        schema: { hide: true, params: EnvParams, body: SubscribeForm },
        preValidation: app.csrfProtection,
      },
      async (request, reply) => {
        const session = await kit.signedIn(request, reply);
        if (!session) return reply;
        const locale = localeOf(request.body.lang);
        const context = kit.context(session, reply, locale);
        const values = { name: (request.body.name ?? "").trim(), plan: request.body.plan ?? "" };
        const [service, plan] = values.plan.split("/");
        if (!service || !plan)
          return showList(reply, session, context, request.params, {
            values,
            problem: {
              status: 400,
              field: "plan",
              detail: messagesFor(locale).choosePlan,
            },
          });
        const created = await kit.call(session, apiBase(request.params), {
          method: "POST",
          body: { name: values.name, spec: { service, plan } },
        });
        if (created.status === 201)
          return reply.redirect(
            `${localePath(locale, onePath({ ...request.params, name: values.name }))}?saved=1`,
            303,
          );
        return showList(reply, session, context, request.params, {
          values,
          problem: created.body as Problem,
        });
      },
    );

    const ChangeForm = Type.Object({
      _csrf: Type.Optional(Type.String()),
      lang: Type.Optional(Type.String()),
      action: Type.Union([
        Type.Literal("plan"),
        Type.Literal("cancel"),
        Type.Literal("hold"),
        Type.Literal("lift"),
      ]),
      plan: Type.Optional(Type.String({ maxLength: 63 })),
      confirm: Type.Optional(Type.String({ maxLength: 10 })),
      holdId: Type.Optional(Type.String({ maxLength: 64 })),
      reason: Type.Optional(Type.String({ maxLength: 1000 })),
    });

    app.post(
      "/departments/:dept/environments/:env/shared-services/:name",
      {
        config: { public: true },
        schema: { hide: true, params: Params, body: ChangeForm },
        preValidation: app.csrfProtection,
      },
      async (request, reply) => {
        const session = await kit.signedIn(request, reply);
        if (!session) return reply;
        const locale = localeOf(request.body.lang);
        const context = kit.context(session, reply, locale);
        const t = messagesFor(locale);
        const where = request.params;
        const url = `${apiBase(where)}/${segment(where.name)}`;
        const { action } = request.body;
        const refuse = (
          problem: Problem,
          kept: { hold?: { id?: string; reason?: string }; plan?: string } = {},
        ) => showOne(reply, session, context, where, { problem, ...kept });

        if (action === "cancel") {
          if (request.body.confirm !== "yes")
            return refuse({ status: 400, field: "confirm", detail: t.confirmCancelMissing });
          const cancelled = await kit.call(session, url, { method: "DELETE" });
          if (cancelled.status === 202)
            return reply.redirect(`${localePath(locale, listPath(where))}?cancelled=1`, 303);
          return refuse(cancelled.body as Problem);
        }

        let spec: Record<string, unknown> = { plan: request.body.plan ?? "" };
        let hold: { id: string; reason: string } | undefined;
        if (action === "hold" || action === "lift") {
          // Holds are a list: the whole new list is sent (a merge patch replaces lists).
          const current = await kit.call(session, url);
          if (current.status !== 200) return sendRefusal(reply, context, current.status);
          const holds: LegalHold[] = (current.body as Subscription).spec.parameters?.legalHolds ?? [];
          hold = { id: (request.body.holdId ?? "").trim(), reason: (request.body.reason ?? "").trim() };
          const { id, reason } = hold;
          if (action === "hold" && holds.some((h) => h.id === id))
            return refuse({ status: 409, field: "hold", detail: t.holdExists(id) }, { hold });
          if (action === "lift" && !holds.some((h) => h.id === id))
            return refuse({ status: 404, field: "hold", detail: t.holdMissing(id) });
          const legalHolds =
            action === "hold"
              ? [...holds, { id, reason, placedBy: session.username }]
              : holds.filter((h) => h.id !== id);
          spec = { parameters: { legalHolds } };
        }
        const written = await kit.call(session, url, { method: "PATCH", body: { spec } });
        if (written.status === 200)
          return reply.redirect(`${localePath(locale, onePath(where))}?saved=1`, 303);
        return refuse(
          written.body as Problem,
          action === "hold" ? { hold } : action === "plan" ? { plan: request.body.plan } : {},
        );
      },
    );
  };
}

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply } from "fastify";
import Type from "typebox";
import { dataClassifications } from "../../controller/api/department.ts";
import { errorAt, linkedToControls, localeOf, type Problem, problemLines } from "./forms.ts";
import { type Locale, localePath, locales, messagesFor } from "./i18n.ts";
import { type PageContext, sendPage, sendRefusal } from "./render.ts";
import type { SignedInKit } from "./signed-in.ts";

// Creating a department, for platform operators: a form whose fields become the API's POST /departments
// body. Whatever the API refuses comes back as the error summary and the field's own message, with what was
// typed kept.

const textFields = [
  "name",
  "displayNameEn",
  "displayNameZh",
  "costCentre",
  "admins",
  "developers",
  "domain",
  "cpu",
  "memory",
  "storage",
  "pods",
  "eServices",
  "publicEndpoints",
  "budget",
] as const;
type Field = (typeof textFields)[number];
type Values = Partial<Record<Field | "classification", string>>;

const Form = Type.Object({
  _csrf: Type.Optional(Type.String()),
  lang: Type.Optional(Type.String()),
  ...Object.fromEntries(textFields.map((f) => [f, Type.Optional(Type.String({ maxLength: 400 }))])),
  classification: Type.Optional(Type.String({ maxLength: 20 })),
});

/** Starting values: a small department (the operator changes them). */
const suggested: Values = {
  cpu: "8",
  memory: "32Gi",
  storage: "200Gi",
  pods: "100",
  eServices: "20",
  publicEndpoints: "10",
  classification: "UNCLASSIFIED",
};

/** A whole number as a number; anything else as typed, so the API names the field and says why. */
const count = (value: string) => (/^\d{1,9}$/.test(value) ? Number(value) : value);
const list = (value: string) => (value ? [value] : []);

/** The API's POST /departments body from the form's values. */
export function departmentRequest(values: Values) {
  const v = (field: Field) => values[field] ?? "";
  const budget = v("budget");
  return {
    name: v("name"),
    spec: {
      displayName: { en: v("displayNameEn"), zhHant: v("displayNameZh") },
      costCentre: v("costCentre"),
      groups: { admins: list(v("admins")), developers: list(v("developers")), viewers: [] },
      quota: {
        cpu: v("cpu"),
        memory: v("memory"),
        storage: v("storage"),
        pods: count(v("pods")),
        eServices: count(v("eServices")),
        publicEndpoints: count(v("publicEndpoints")),
      },
      maxDataClassification: values.classification ?? "UNCLASSIFIED",
      ...(v("domain") ? { domains: [v("domain")] } : {}),
      ...(budget
        ? { monthlyBudget: { amount: /^\d+(\.\d+)?$/.test(budget) ? Number(budget) : budget } }
        : {}),
    },
  };
}

/** Which API fields each form field answers for. */
const apiFields: Record<Field, string[]> = {
  name: ["body.name"],
  displayNameEn: ["body.spec.displayName.en", "body.spec.displayName"],
  displayNameZh: ["body.spec.displayName.zhHant"],
  costCentre: ["body.spec.costCentre"],
  admins: ["body.spec.groups.admins", "body.spec.groups"],
  developers: ["body.spec.groups.developers"],
  domain: ["body.spec.domains"],
  cpu: ["body.spec.quota.cpu", "body.spec.quota"],
  memory: ["body.spec.quota.memory"],
  storage: ["body.spec.quota.storage"],
  pods: ["body.spec.quota.pods"],
  eServices: ["body.spec.quota.eServices"],
  publicEndpoints: ["body.spec.quota.publicEndpoints"],
  budget: ["body.spec.monthlyBudget"],
};

function fieldsOf(locale: Locale, values: Values, errors: Partial<Record<Field, string>>) {
  const t = messagesFor(locale);
  const field = (
    name: Field,
    label: string,
    extra: { hint?: string; lang?: string; required?: boolean } = {},
  ) => ({
    name,
    id: `field-${name}`,
    label,
    value: values[name] ?? "",
    error: errors[name],
    required: extra.required ?? true,
    ...(extra.hint ? { hint: extra.hint } : {}),
    ...(extra.lang ? { lang: extra.lang } : {}),
  });
  return {
    identity: [
      field("name", t.departmentName, { hint: t.departmentNameHint }),
      field("displayNameEn", t.displayNameEn, { lang: "en" }),
      field("displayNameZh", t.displayNameZh, { lang: "zh-Hant" }),
      field("costCentre", t.costCentre),
      field("admins", t.adminsGroup, { hint: t.groupHint }),
      field("developers", t.developersGroup, { hint: t.groupHint, required: false }),
      field("domain", t.domain, { hint: t.domainHint, required: false }),
    ],
    quota: [
      field("cpu", t.quotaNames.cpu),
      field("memory", t.quotaNames.memory),
      field("storage", t.quotaNames.storage),
      field("pods", t.quotaNames.pods),
      field("eServices", t.quotaNames.eServices),
      field("publicEndpoints", t.quotaNames.publicEndpoints),
    ],
    budget: field("budget", t.monthlyBudget, { required: false }),
  };
}

export function newDepartmentPage(kit: SignedInKit): FastifyPluginAsyncTypebox {
  return async (app) => {
    const show = (reply: FastifyReply, context: PageContext, values: Values, problem?: Problem) => {
      const t = messagesFor(context.locale);
      const lines = problem
        ? linkedToControls(problemLines(problem), {
            ...Object.fromEntries(textFields.map((f) => [`field-${f}`, apiFields[f]])),
            classification: ["body.spec.maxDataClassification"],
          })
        : [];
      const errors = Object.fromEntries(
        textFields.map((f) => [f, errorAt(lines, `field-${f}`)]).filter(([, e]) => e !== undefined),
      ) as Partial<Record<Field, string>>;
      const classificationError = errorAt(lines, "classification");
      return sendPage(reply, problem?.status ?? 200, "./department-new", context, t.newDepartmentTitle, {
        path: "/new-department",
        action: "/new-department",
        myHref: localePath(context.locale, "/my"),
        fields: fieldsOf(context.locale, values, errors),
        classifications: dataClassifications.map((c) => ({
          value: c,
          text: t.classifications[c] ?? c,
          selected: c === values.classification,
        })),
        classificationError,
        problem: problem ? lines : undefined,
      });
    };

    for (const locale of locales) {
      app.get(
        localePath(locale, "/new-department"),
        { config: { public: true }, schema: { hide: true } },
        async (request, reply) => {
          const session = await kit.signedIn(request, reply);
          if (!session) return reply;
          const context = kit.context(session, reply, locale);
          if (!(await kit.may(session, "department:create"))) return sendRefusal(reply, context, 403);
          return show(reply, context, suggested);
        },
      );
    }

    app.post(
      "/new-department",
      { config: { public: true }, schema: { hide: true, body: Form }, preValidation: app.csrfProtection },
      async (request, reply) => {
        const session = await kit.signedIn(request, reply);
        if (!session) return reply;
        const locale = localeOf(request.body.lang);
        const body = request.body as Record<string, string | undefined>;
        const values: Values = Object.fromEntries(
          [...textFields, "classification"].map((f) => [f, (body[f] ?? "").trim()]),
        );
        const created = await kit.call(session, "/api/v1/departments", {
          method: "POST",
          body: departmentRequest(values),
        });
        if (created.status === 201)
          return reply.redirect(
            localePath(locale, `/departments/${encodeURIComponent(values.name ?? "")}`),
            303,
          );
        const context = kit.context(session, reply, locale);
        if (
          created.status === 401 ||
          (created.status === 403 && !(await kit.may(session, "department:create")))
        )
          return sendRefusal(reply, context, created.status);
        return show(reply, context, values, created.body as Problem);
      },
    );
  };
}

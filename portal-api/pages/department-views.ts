import type { FastifyReply } from "fastify";
import { type Department, quotaResourceNames } from "../../controller/api/department.ts";
import type { EService } from "../../controller/api/eservice.ts";
import { parseMilli } from "../../lib/kube/quantity.ts";
import { formatMoney, type Locale, localePath, localised, messagesFor } from "./i18n.ts";
import { type PageContext, sendPage, sendRefusal } from "./render.ts";

// The department pages' view models, from the API's own answers (the handlers got them as the signed-in
// person): a refusal is a 403 page, a missing department a 404 page, anything else unexpected a 502 page.

/** An API answer as a page handler received it. */
export interface Answer {
  status: number;
  body: unknown;
}

interface DepartmentView {
  name: string;
  spec: Department["spec"];
  status: NonNullable<Department["status"]>;
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** Conditions of the given types as a page shows them: translated name and state, reason and message. */
export function conditionRows(conditions: Condition[] | undefined, types: string[], locale: Locale) {
  const t = messagesFor(locale);
  return types.map((type) => {
    const condition = conditions?.find((c) => c.type === type);
    const state = condition?.status ?? "Unknown";
    return {
      name: t.conditionNames[type] ?? type,
      state: t.conditionStates[state] ?? state,
      ok: state === "True",
      reason: condition?.reason ?? "",
      message: condition?.message ?? "",
    };
  });
}

export function departmentsPage(
  reply: FastifyReply,
  context: PageContext,
  answer: Answer,
  mayCreate = false,
): FastifyReply {
  if (answer.status !== 200) return sendRefusal(reply, context, answer.status);
  const t = messagesFor(context.locale);
  const departments = (answer.body as { items: DepartmentView[] }).items.map((d) => ({
    name: localised(d.spec.displayName, context.locale),
    href: localePath(context.locale, `/departments/${d.name}`),
    conditions: conditionRows(
      d.status.conditions,
      ["Ready", "QuotaHealthy", "PolicyCompliant"],
      context.locale,
    ),
  }));
  return sendPage(reply, 200, "./departments", context, t.myDepartmentsTitle, {
    path: "/my",
    departments,
    newHref: mayCreate ? localePath(context.locale, "/new-department") : undefined,
  });
}

/** Each quota the department has: used against its limit, with the share for the meter. */
function quotaRows(department: DepartmentView, context: PageContext) {
  const t = messagesFor(context.locale);
  const used = department.status.quota?.used ?? {};
  return (Object.keys(quotaResourceNames) as (keyof typeof quotaResourceNames)[]).map((field) => {
    const limit = String(department.spec.quota[field]);
    const usedText = used[quotaResourceNames[field]] ?? "0";
    const limitMilli = parseMilli(limit);
    const share = limitMilli > 0n ? Number((parseMilli(usedText) * 1000n) / limitMilli) / 10 : 0;
    return {
      id: field,
      name: t.quotaNames[field],
      used: usedText,
      limit,
      share: Math.min(share, 100),
      shareText: `${new Intl.NumberFormat(context.locale, { maximumFractionDigits: 1 }).format(share)}%`,
    };
  });
}

interface BudgetAnswer {
  budget: Department["spec"]["monthlyBudget"] | null;
  status: NonNullable<Department["status"]>["budget"] | null;
}

/** The month's budget, spending and forecast (money exact, in the budget's currency). */
function budgetView(answer: BudgetAnswer, context: PageContext) {
  const status = answer.status;
  if (!answer.budget || !status) return { set: false as const };
  const money = (minor: number) => formatMoney(minor, status.currency, context.locale);
  const share = Math.round(status.usedRatio * 1000) / 10;
  return {
    set: true as const,
    limit: money(status.limitMinor),
    spent: money(status.spentMinor),
    forecast: money(status.forecastMinor),
    share: Math.min(share, 100),
    shareText: `${new Intl.NumberFormat(context.locale, { maximumFractionDigits: 1 }).format(share)}%`,
  };
}

/** Which of the department's pages the person may read or use (links to the rest are left out). */
export interface DepartmentLinks {
  policyReports: boolean;
  /** The e-services, their scorecards and the API requests. */
  eservicePages: boolean;
  newEService: boolean;
  sharedServices: boolean;
}

export function departmentPage(
  reply: FastifyReply,
  context: PageContext,
  answers: {
    department: Answer;
    environments: Answer;
    /** An environment's answer is absent when the person may not read e-services. */
    eservices: { environment: string; answer: Answer | undefined }[];
    /** Absent when the person may not read the budget. */
    budget: Answer | undefined;
    links: DepartmentLinks;
  },
  /** The current month (YYYY-MM): the department's service performance links to it. */
  period: string,
): FastifyReply {
  // An environment whose namespace the platform has not made yet (a department just created) answers 404:
  // it is shown as being prepared, not as a missing page.
  const preparing = (answer: Answer | undefined) =>
    answer?.status === 404 && answers.department.status === 200;
  const { links } = answers;
  for (const answer of [answers.department, answers.environments, ...answers.eservices.map((e) => e.answer)])
    if (answer && answer.status !== 200 && !preparing(answer))
      return sendRefusal(reply, context, answer.status);
  const department = answers.department.body as DepartmentView;
  const href = (path: string) => localePath(context.locale, `/departments/${department.name}${path}`);
  const environments = answers.eservices.map(({ environment, answer }) => ({
    name: environment,
    newHref: links.newEService ? href(`/environments/${environment}/new-eservice`) : undefined,
    sharedServicesHref: links.sharedServices
      ? href(`/environments/${environment}/shared-services`)
      : undefined,
    preparing: preparing(answer),
    unreadable: answer === undefined,
    eservices: (answer === undefined || preparing(answer)
      ? []
      : (answer.body as { items: { name: string; spec: EService["spec"]; status: EService["status"] }[] })
          .items
    ).map((es) => ({
      name: es.spec.displayName ? localised(es.spec.displayName, context.locale) : es.name,
      id: es.name,
      href: localePath(
        context.locale,
        `/departments/${department.name}/environments/${environment}/eservices/${es.name}`,
      ),
      conditions: conditionRows(
        es.status?.conditions,
        ["Deployed", "SecurityBaseline", "AccessibilityBaseline", "Exposed"],
        context.locale,
      ),
    })),
  }));
  const title = localised(department.spec.displayName, context.locale);
  return sendPage(reply, 200, "./department", context, title, {
    path: `/departments/${department.name}`,
    conditions: conditionRows(
      department.status.conditions,
      ["Ready", "QuotaHealthy", "PolicyCompliant"],
      context.locale,
    ),
    quota: quotaRows(department, context),
    environments,
    budget:
      answers.budget?.status === 200 ? budgetView(answers.budget.body as BudgetAnswer, context) : undefined,
    policyReportsHref: links.policyReports ? href("/policy-reports") : undefined,
    apiRequestsHref: links.eservicePages ? href("/api-requests") : undefined,
    performanceHref: links.eservicePages
      ? localePath(context.locale, `/performance/${department.name}/${period}`)
      : undefined,
  });
}

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import type { Department } from "../../controller/api/department.ts";
import { periodOf } from "../../lib/chargeback/calendar.ts";
import { DeptPeriodParams, periodPattern, segment } from "./forms.ts";
import { formatMoney, type Locale, localePath, locales, localised, messagesFor } from "./i18n.ts";
import { sendPage, sendRefusal } from "./render.ts";
import type { SignedInKit } from "./signed-in.ts";

// Costs, for finance (and for anyone signed in, over the departments they may see): a month's cost by
// department as a server-rendered SVG bar chart with the same figures in a table, budget against spend and
// forecast, and each department's statement with its lines by environment and e-service and the CSV. Every
// figure is the API's, read as the signed-in person.

interface DepartmentView {
  name: string;
  spec: Department["spec"];
  status: NonNullable<Department["status"]>;
}

interface MonthTotal {
  department: string;
  period: string;
  currency: string;
  totalMinor: number;
  finalized: boolean;
}

interface StatementLine {
  environment?: string;
  eservice?: string;
  item?: string;
  resource: string;
  quantity: string;
  unit: string;
  unitPriceMinor: string;
  amountMinor: number;
}

interface Statement {
  department: string;
  period: string;
  currency: string;
  lines: StatementLine[];
  totalMinor: number;
  finalized: boolean;
}

/**
 * Bars of a horizontal chart, in the SVG's own units (the viewBox scales it to the page), scaled to the
 * largest value, or to `scale` when that is larger (a percentage's 100).
 */
export function barChart(rows: { label: string; value: number; text: string }[], scale = 1) {
  const labelWidth = 260;
  const barArea = 460;
  const rowHeight = 36;
  const max = Math.max(1, scale, ...rows.map((row) => row.value));
  return {
    width: labelWidth + barArea + 160,
    height: rows.length * rowHeight + 8,
    bars: rows.map((row, index) => {
      const barWidth = Math.max(row.value > 0 ? 2 : 0, Math.round((row.value / max) * barArea));
      return {
        ...row,
        y: index * rowHeight + 4,
        labelX: labelWidth - 8,
        barX: labelWidth,
        barWidth,
        textX: labelWidth + barWidth + 8,
        textY: index * rowHeight + 4 + 20,
      };
    }),
  };
}

/** Statement lines grouped as finance drills down: environment, then e-service (or item), then resource. */
function groupedLines(statement: Statement, locale: Locale) {
  const t = messagesFor(locale);
  const groups = new Map<string, StatementLine[]>();
  for (const line of statement.lines) {
    const key = line.environment ?? t.departmentWide;
    groups.set(key, [...(groups.get(key) ?? []), line]);
  }
  return [...groups.entries()].map(([environment, lines]) => ({
    environment,
    lines: lines.map((line) => ({
      what: line.eservice ?? line.item ?? "",
      resource: line.resource,
      quantity: `${line.quantity} ${line.unit}`,
      unitPrice: line.unitPriceMinor,
      amount: formatMoney(line.amountMinor, statement.currency, locale),
    })),
    subtotal: formatMoney(
      lines.reduce((sum, line) => sum + line.amountMinor, 0),
      statement.currency,
      locale,
    ),
  }));
}

export function financePages(kit: SignedInKit, settings: { timeZone: string }): FastifyPluginAsyncTypebox {
  return async (app) => {
    for (const locale of locales) {
      app.get(
        localePath(locale, "/costs"),
        {
          config: { public: true },
          schema: {
            hide: true,
            querystring: Type.Object({ period: Type.Optional(Type.String({ pattern: periodPattern })) }),
          },
        },
        async (request, reply) => {
          const session = await kit.signedIn(request, reply);
          if (!session) return reply;
          const context = kit.context(session, reply, locale);
          const t = messagesFor(locale);
          const period = request.query.period ?? periodOf(Date.now(), settings.timeZone);
          // Two API calls whatever the number of departments: the departments, and the month's totals.
          const [departments, totals, may] = await Promise.all([
            kit.call(session, "/api/v1/departments"),
            kit.call(session, `/api/v1/statements?period=${period}`),
            kit.permissions(session),
          ]);
          if (departments.status !== 200) return sendRefusal(reply, context, departments.status);
          if (totals.status !== 200 && totals.status !== 403)
            return sendRefusal(reply, context, totals.status);
          const byDepartment = new Map(
            (totals.status === 200 ? (totals.body as { items: MonthTotal[] }).items : []).map((total) => [
              total.department,
              total,
            ]),
          );
          const visible = (departments.body as { items: DepartmentView[] }).items;
          const rows = visible.flatMap((department) => {
            // A department whose statements this person may not read is left out, not shown as zero.
            if (!may("statement:read", department.name)) return [];
            const summary = byDepartment.get(department.name);
            const budget = department.status.budget;
            return [
              {
                name: localised(department.spec.displayName, locale),
                href: localePath(locale, `/costs/${segment(department.name)}/${period}`),
                value: summary?.totalMinor ?? 0,
                amount: summary ? formatMoney(summary.totalMinor, summary.currency, locale) : "—",
                state: summary ? (summary.finalized ? t.finalized : t.draft) : "—",
                budget: budget ? formatMoney(budget.limitMinor, budget.currency, locale) : "—",
                spent: budget ? formatMoney(budget.spentMinor, budget.currency, locale) : "—",
                forecast: budget ? formatMoney(budget.forecastMinor, budget.currency, locale) : "—",
              },
            ];
          });
          const chart = barChart(
            rows.map((row) => ({ label: row.name, value: row.value, text: row.amount })),
          );
          return sendPage(reply, 200, "./costs", context, t.costsTitle, {
            path: `/costs?period=${period}`,
            period,
            rows,
            chart,
          });
        },
      );

      app.get(
        localePath(locale, "/costs/:dept/:period"),
        {
          config: { public: true },
          schema: { hide: true, params: DeptPeriodParams },
        },
        async (request, reply) => {
          const session = await kit.signedIn(request, reply);
          if (!session) return reply;
          const context = kit.context(session, reply, locale);
          const t = messagesFor(locale);
          const { dept, period } = request.params;
          const department = await kit.call(session, `/api/v1/departments/${segment(dept)}`);
          if (department.status !== 200) return sendRefusal(reply, context, department.status);
          const answer = await kit.call(session, `/api/v1/departments/${segment(dept)}/statements/${period}`);
          if (answer.status !== 200) return sendRefusal(reply, context, answer.status);
          const statement = answer.body as Statement;
          const name = localised((department.body as DepartmentView).spec.displayName, locale);
          return sendPage(reply, 200, "./statement", context, t.statementTitle(name, period), {
            path: `/costs/${segment(dept)}/${period}`,
            costsHref: localePath(locale, `/costs?period=${period}`),
            csvHref: `/costs/${segment(dept)}/${period}/statement.csv`,
            state: statement.finalized ? t.finalized : t.draft,
            total: formatMoney(statement.totalMinor, statement.currency, locale),
            groups: groupedLines(statement, locale),
          });
        },
      );
    }

    // The CSV is the API's own, fetched as the signed-in person (a browser cannot send the bearer token).
    app.get(
      "/costs/:dept/:period/statement.csv",
      {
        config: { public: true },
        schema: { hide: true, params: DeptPeriodParams },
      },
      async (request, reply) => {
        const session = await kit.signedIn(request, reply);
        if (!session) return reply;
        const csv = await kit.download(
          session,
          `/api/v1/departments/${segment(request.params.dept)}/statements/${request.params.period}.csv`,
        );
        if (csv.status !== 200) return sendRefusal(reply, kit.context(session, reply, "en"), csv.status);
        return reply
          .type("text/csv; charset=utf-8")
          .header("content-disposition", csv.disposition ?? "attachment")
          .header("cache-control", "no-store")
          .send(csv.text);
      },
    );
  };
}

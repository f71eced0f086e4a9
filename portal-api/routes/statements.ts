import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { stringify } from "csv-stringify/sync";
import Type from "typebox";
import { StatementLine, statementLabels } from "../../controller/api/chargeback.ts";
import { labels } from "../../controller/api/group.ts";
import { resources } from "../../lib/kube/resources.ts";
import { visibleDepartments } from "../auth/authorize.ts";
import type { ApiDependencies } from "../dependencies.ts";
import { problems } from "../problem.ts";
import type { StatementObject } from "../reads.ts";
import { nameOf, principalOf, requireAllowed } from "./common.ts";
import { DeptParams, json, Name, responses } from "./schemas.ts";

// /departments/{dept}/statements and /departments/{dept}/statements/{yyyy-mm}: monthly chargeback
// statements, as JSON or CSV.

const csvColumns = [
  "department",
  "period",
  "currency",
  "environment",
  "eservice",
  "item",
  "resource",
  "unit",
  "quantity",
  "unitPriceMinor",
  "amountMinor",
  "priceVersion",
] as const;

/** RFC 4180 with CRLF records; every cell holding a line break is quoted (a lone CR or LF too). */
const csvOptions = { record_delimiter: "windows", quoted_match: /[\r\n]/ } as const;

/**
 * A cell's text, safe to open in a spreadsheet (OWASP "CSV injection"): a cell that starts with `=`, `+`,
 * `-`, `@`, a tab or a carriage return is prefixed with `'` so it is never read as a formula, unless it is
 * exactly a plain number (quantities and amounts may be negative).
 */
function neutralised(value: unknown): string {
  const text = value === undefined || value === null ? "" : String(value);
  const plainNumber = typeof value === "number" || /^-?\d+(\.\d+)?$/.test(text);
  return /^[=+\-@\t\r]/.test(text) && !plainNumber ? `'${text}` : text;
}

/** One CSV cell (RFC 4180, csv-stringify), neutralised as above; quoted when it holds a comma, quote or line break. */
export const csvCell = (value: unknown): string =>
  stringify([[neutralised(value)]], { ...csvOptions, eof: false });

/** A CSV document: a header row of `columns`, then each row's cells in that order, each neutralised. */
export function csvDocument<C extends string>(
  columns: readonly C[],
  rows: readonly Partial<Record<C, unknown>>[],
): string {
  return stringify(
    rows.map((row) => columns.map((column) => neutralised(row[column]))),
    { ...csvOptions, header: true, columns: [...columns] },
  );
}

export function statementCsv(statement: StatementObject): string {
  const { department, period, currency, lines, totalMinor } = statement.spec;
  const common = { department, period, currency };
  const total = { resource: "total", amountMinor: totalMinor };
  const rows: Partial<Record<(typeof csvColumns)[number], unknown>>[] = [...lines, total].map((row) => ({
    ...row,
    ...common,
  }));
  return csvDocument(csvColumns, rows);
}

const periodPattern = "^[0-9]{4}-(0[1-9]|1[0-2])$";

const StatementSummary = Type.Object({
  period: Type.String({ description: "Calendar month, YYYY-MM" }),
  currency: Type.String(),
  totalMinor: Type.Integer({ description: "Total in minor currency units (e.g. cents)" }),
  finalized: Type.Boolean({ description: "Finalized statements never change" }),
});

const MonthTotal = Type.Object({
  department: Type.String(),
  period: Type.String({ description: "Calendar month, YYYY-MM" }),
  currency: Type.String(),
  totalMinor: Type.Integer({ description: "Total in minor currency units (e.g. cents)" }),
  finalized: Type.Boolean({ description: "Finalized statements never change" }),
});

const StatementView = Type.Object({
  name: Type.String(),
  department: Type.String(),
  period: Type.String({ description: "Calendar month, YYYY-MM" }),
  timeZone: Type.String(),
  currency: Type.String(),
  lines: Type.Array(StatementLine),
  totalMinor: Type.Integer(),
  finalized: Type.Boolean(),
  computedAt: Type.Optional(Type.String()),
});

const view = (s: StatementObject) => ({ name: nameOf(s), ...s.spec, computedAt: s.status?.computedAt });

export function statementRoutes(deps: ApiDependencies): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/statements",
      {
        schema: {
          tags: ["finance"],
          summary:
            "One month's statement totals of every department the caller may read statements of (finance's overview)",
          querystring: Type.Object(
            { period: Type.String({ pattern: periodPattern, description: "Calendar month, YYYY-MM" }) },
            { additionalProperties: false },
          ),
          response: responses(
            {
              200: json(
                "The month's statements, by department",
                Type.Object({
                  items: Type.Array(MonthTotal),
                }),
              ),
            },
            [400, 401, 403, 429, 500, 503],
          ),
        },
      },
      async (request) => {
        const principal = principalOf(request);
        const visible = visibleDepartments(principal, "statement:read");
        if (visible?.length === 0) requireAllowed(principal, "statement:read");
        // One list for the month (the label the metering controller sets), whatever the number of departments.
        const list = await deps.kube.list<StatementObject>(resources.chargebackStatement, {
          labelSelector: `${statementLabels.period}=${request.query.period}`,
        });
        return {
          items: list.items
            .filter((s) => s.spec.period === request.query.period)
            .filter((s) => visible === undefined || visible.includes(s.spec.department))
            .sort((a, b) => a.spec.department.localeCompare(b.spec.department))
            .map((s) => ({
              department: s.spec.department,
              period: s.spec.period,
              currency: s.spec.currency,
              totalMinor: s.spec.totalMinor,
              finalized: s.spec.finalized,
            })),
        };
      },
    );

    app.get(
      "/departments/:dept/statements",
      {
        schema: {
          tags: ["finance"],
          summary: "The department's monthly statements, newest first",
          params: DeptParams,
          response: responses(
            { 200: json("The statements", Type.Object({ items: Type.Array(StatementSummary) })) },
            [400, 401, 403, 429, 500, 503],
          ),
        },
      },
      async (request) => {
        const { dept } = request.params;
        requireAllowed(principalOf(request), "statement:read", dept);
        // Only this department's statements leave the API server (the label the metering controller sets);
        // listing every department's made a finance overview of n departments cost n² statements.
        const list = await deps.kube.list<StatementObject>(resources.chargebackStatement, {
          labelSelector: `${labels.department}=${dept}`,
        });
        return {
          items: list.items
            .filter((s) => s.spec.department === dept)
            .sort((a, b) => b.spec.period.localeCompare(a.spec.period))
            .map((s) => ({
              period: s.spec.period,
              currency: s.spec.currency,
              totalMinor: s.spec.totalMinor,
              finalized: s.spec.finalized,
            })),
        };
      },
    );

    app.get(
      "/departments/:dept/statements/:period",
      {
        schema: {
          tags: ["finance"],
          summary: "One month's statement: JSON, or CSV with Accept: text/csv or a .csv suffix",
          params: Type.Object(
            { dept: Name, period: Type.String({ pattern: "^[0-9]{4}-(0[1-9]|1[0-2])(\\.csv)?$" }) },
            { additionalProperties: false },
          ),
          response: responses(
            {
              200: {
                description: "The statement",
                content: {
                  "application/json": { schema: StatementView },
                  "text/csv": {
                    schema: Type.String({
                      description: `RFC 4180, CRLF, a header row (${csvColumns.join(",")}), one row per line and a total row`,
                    }),
                  },
                },
              },
            },
            [400, 401, 403, 404, 429, 500, 503],
          ),
        },
      },
      async (request, reply) => {
        const { dept, period: raw } = request.params;
        requireAllowed(principalOf(request), "statement:read", dept);
        const period = raw.replace(/\.csv$/, "");
        const statement = await deps.reads.statement(`${dept}-${period}`);
        if (!statement) throw problems.notFound(`Department ${dept} has no statement for ${period}`);
        const wantsCsv = raw.endsWith(".csv") || (request.headers.accept ?? "").includes("text/csv");
        if (wantsCsv)
          return reply
            .type("text/csv; charset=utf-8")
            .header("content-disposition", `attachment; filename="${dept}-${period}.csv"`)
            .send(statementCsv(statement));
        return view(statement);
      },
    );
  };
}

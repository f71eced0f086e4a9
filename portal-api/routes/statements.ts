import type { FastifyPluginAsync } from "fastify";
import Type from "typebox";
import type { ChargebackStatement } from "../../controller/api/chargeback.ts";
import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { problems } from "../problem.ts";
import type { ApiDependencies } from "../server.ts";
import { asProblem, DeptParams, findDepartment, Name, principalOf, requireAllowed } from "./common.ts";

type StatementObject = ChargebackStatement & KubeObject;

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

/**
 * One CSV cell (RFC 4180), safe to open in a spreadsheet (OWASP "CSV injection"): a cell that starts with
 * `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with `'` so it is never read as a formula,
 * unless it is exactly a plain number (quantities and amounts may be negative). Cells with a comma, quote
 * or line break are quoted.
 */
export const csvCell = (value: unknown): string => {
  const text = value === undefined || value === null ? "" : String(value);
  const plainNumber = typeof value === "number" || /^-?\d+(\.\d+)?$/.test(text);
  const safe = /^[=+\-@\t\r]/.test(text) && !plainNumber ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
};

export function statementCsv(statement: StatementObject): string {
  const { department, period, currency, lines, totalMinor } = statement.spec;
  const rows = lines.map((line) =>
    csvColumns.map((column) =>
      csvCell(
        column === "department"
          ? department
          : column === "period"
            ? period
            : column === "currency"
              ? currency
              : line[column],
      ),
    ),
  );
  rows.push(
    csvColumns.map((c) =>
      csvCell(
        c === "department"
          ? department
          : c === "period"
            ? period
            : c === "currency"
              ? currency
              : c === "resource"
                ? "total"
                : c === "amountMinor"
                  ? totalMinor
                  : "",
      ),
    ),
  );
  return `${[csvColumns.join(","), ...rows.map((r) => r.join(","))].join("\r\n")}\r\n`;
}

const view = (s: StatementObject) => ({ name: s.metadata.name, ...s.spec, computedAt: s.status?.computedAt });

export function statementRoutes(deps: ApiDependencies): FastifyPluginAsync {
  return async (app) => {
    app.get(
      "/departments/:dept/statements",
      { schema: { tags: ["finance"], params: DeptParams } },
      async (request) => {
        const { dept } = request.params as { dept: string };
        requireAllowed(principalOf(request), "statement:read", dept);
        const list = await deps.kube.list<StatementObject>(resources.chargebackStatement);
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
        },
      },
      async (request, reply) => {
        const { dept, period: raw } = request.params as { dept: string; period: string };
        requireAllowed(principalOf(request), "statement:read", dept);
        const period = raw.replace(/\.csv$/, "");
        const statement = await deps.kube.find<StatementObject>(
          resources.chargebackStatement,
          `${dept}-${period}`,
        );
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

    app.get(
      "/departments/:dept/budget",
      { schema: { tags: ["finance"], params: DeptParams } },
      async (request) => {
        const { dept } = request.params as { dept: string };
        requireAllowed(principalOf(request), "budget:read", dept);
        const department = await findDepartment(deps, dept);
        return { budget: department.spec.monthlyBudget ?? null, status: department.status?.budget ?? null };
      },
    );

    app.get(
      "/departments/:dept/policy-reports",
      { schema: { tags: ["compliance"], params: DeptParams } },
      async (request) => {
        const { dept } = request.params as { dept: string };
        requireAllowed(principalOf(request), "policy-report:read", dept);
        const reports = await asProblem(`Policy reports of department ${dept}`, () =>
          deps.kube.list<KubeObject & { summary?: unknown; results?: unknown[] }>(resources.policyReport, {
            labelSelector: `govhost.io/department=${dept}`,
          }),
        );
        return {
          items: reports.items.map((r) => ({
            name: r.metadata?.name,
            namespace: r.metadata?.namespace,
            summary: r.summary,
            results: r.results ?? [],
          })),
        };
      },
    );
  };
}

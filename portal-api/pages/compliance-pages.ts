import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { localePath, locales, messagesFor } from "./i18n.ts";
import { sendPage, sendRefusal } from "./render.ts";
import type { SignedInKit } from "./signed-in.ts";

// A department's policy reports: the background results of the security and accessibility baselines per
// namespace, with what fails or warns first. The API route's answer, as the signed-in person.

interface ReportResult {
  policy?: string;
  rule?: string;
  severity?: string;
  result?: string;
  message?: string;
  resources?: Record<string, unknown>[];
}

interface Report {
  name: string;
  namespace: string;
  summary?: Partial<Record<"pass" | "fail" | "warn", number>>;
  results: ReportResult[];
}

const order: Record<string, number> = { fail: 0, error: 1, warn: 2 };

/** An object a result is about, as `Kind name`. */
const objectOf = (result: ReportResult) =>
  (result.resources ?? [])
    .map((r) => [r.kind, r.name].filter((part) => typeof part === "string").join(" "))
    .join(", ");

export function compliancePages(kit: SignedInKit): FastifyPluginAsyncTypebox {
  return async (app) => {
    for (const locale of locales) {
      app.get(
        localePath(locale, "/departments/:dept/policy-reports"),
        {
          config: { public: true },
          schema: { hide: true, params: Type.Object({ dept: Type.String({ maxLength: 63 }) }) },
        },
        async (request, reply) => {
          const session = await kit.signedIn(request, reply);
          if (!session) return reply;
          const context = kit.context(session, reply, locale);
          const t = messagesFor(locale);
          const dept = encodeURIComponent(request.params.dept);
          const answer = await kit.call(session, `/api/v1/departments/${dept}/policy-reports`);
          if (answer.status !== 200) return sendRefusal(reply, context, answer.status);
          const items = (answer.body as { items: Report[] }).items;
          const inNamespace = (namespace: string) => items.filter((r) => r.namespace === namespace).length;
          const reports = items
            .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name))
            .map((report, index) => ({
              // By position: namespace and name joined by a hyphen could collide ("a-b"+"c", "a"+"b-c").
              id: `${index + 1}`,
              // Each heading names one report: the report's name too where a namespace has several.
              heading:
                inNamespace(report.namespace) > 1
                  ? `${t.reportFor(report.namespace)}: ${report.name}`
                  : t.reportFor(report.namespace),
              summary: t.reportSummary(
                report.summary?.pass ?? 0,
                report.summary?.fail ?? 0,
                report.summary?.warn ?? 0,
              ),
              failing: report.results
                .filter((r) => r.result !== undefined && r.result in order)
                .sort((a, b) => (order[a.result ?? ""] ?? 9) - (order[b.result ?? ""] ?? 9))
                .map((r) => ({
                  policy: r.policy ?? "",
                  rule: r.rule ?? "",
                  result: r.result ?? "",
                  severity: r.severity ?? "",
                  object: objectOf(r),
                  message: r.message ?? "",
                })),
            }));
          return sendPage(reply, 200, "./policy-reports", context, t.policyReportsTitle, {
            path: `/departments/${dept}/policy-reports`,
            departmentHref: localePath(locale, `/departments/${dept}`),
            reports,
          });
        },
      );
    }
  };
}

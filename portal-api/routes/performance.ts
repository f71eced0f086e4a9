import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import pMap from "p-map";
import Type from "typebox";
import type { EService } from "../../controller/api/eservice.ts";
import { namespaceName } from "../../controller/api/group.ts";
import { controllerIdentity } from "../../controller/api/rbac.ts";
import { StringEnum } from "../../controller/api/schema-helpers.ts";
import { periodOf } from "../../lib/chargeback/calendar.ts";
import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import {
  type AvailabilityMonths,
  availabilityStoreName,
  readAvailabilityStore,
} from "../../lib/performance/availability-store.ts";
import {
  type ChannelMonths,
  channelsStoreName,
  otherChannelTotal,
  readChannelsStore,
} from "../../lib/performance/channel-store.ts";
import {
  feedbackNamespace,
  type RatingMonths,
  ratingsStoreName,
  readRatingsStore,
} from "../../lib/performance/feedback-store.ts";
import {
  type DepartmentMonth,
  rankDepartments,
  serviceClusterFigures,
} from "../../lib/performance/ranking.ts";
import {
  type EServiceReport,
  eserviceReport,
  notMeasuredCodes,
  type Scorecard,
  type StatementCost,
  scorecard,
  targetNames,
} from "../../lib/performance/report.ts";
import {
  type DepartmentTraffic,
  readTrafficStore,
  trafficStoreName,
} from "../../lib/performance/traffic-store.ts";
import { allowed, visibleDepartments } from "../auth/authorize.ts";
import type { Principal } from "../auth/principal.ts";
import type { ApiDependencies } from "../dependencies.ts";
import { ProblemError, problemBase, problems } from "../problem.ts";
import type { DepartmentObject } from "../reads.ts";
import {
  environmentNamespace,
  findDepartment,
  isNamespaceOf,
  principalOf,
  requireAllowed,
} from "./common.ts";
import { DeptParams, json, Nullable, OptionalPeriodQuery, ResourceParams, responses } from "./schemas.ts";
import { csvDocument } from "./statements.ts";

// Service performance (docs/performance.md): one e-service's month, and a department's scorecard of every
// e-service against its targets, from the traffic counts the controller keeps and the month's statement.

const Figures = Type.Object({
  requests: Type.Integer({ description: "Requests the ingress controller passed to the e-service" }),
  serverErrors: Type.Integer({ description: "Of those, answered 5xx" }),
  serverErrorRatePercent: Nullable(Type.Number()),
  started: Type.Integer({
    description: "Requests to the completed-transaction route with one of its methods",
  }),
  completed: Type.Integer({ description: "Of those, answered with one of its status classes" }),
  completionRatePercent: Nullable(Type.Number({ description: "completed / started × 100" })),
  p95Milliseconds: Nullable(
    Type.Number({ description: "95th percentile of response time at the ingress (histogram estimate)" }),
  ),
  p95BucketMilliseconds: Nullable(
    Type.Object(
      { lower: Type.Number(), upper: Nullable(Type.Number()) },
      { description: "Where the p95 fell" },
    ),
  ),
  probes: Type.Integer({
    description: "The platform's probes of the home page through the ingress while the e-service was public",
  }),
  probesDown: Type.Integer({ description: "Of those, not answered 2xx or 3xx in time" }),
  availabilityPercent: Nullable(Type.Number({ description: "(probes − probesDown) / probes × 100" })),
  ratings: Type.Integer({ description: "Citizens' ratings through the e-service's feedback endpoint" }),
  satisfactionPercent: Nullable(Type.Number({ description: "Ratings of 4 or 5 ÷ ratings × 100" })),
  otherChannelTransactions: Nullable(
    Type.Integer({
      description:
        "Transactions the department reported through its other channels for the month (PUT .../other-channels/{period}); null: not reported",
    }),
  ),
  digitalTakeUpPercent: Nullable(
    Type.Number({ description: "completed ÷ (completed + otherChannelTransactions) × 100" }),
  ),
});

const LastProbe = Type.Object(
  {
    at: Type.String({ format: "date-time" }),
    up: Type.Boolean(),
    result: Type.String({ description: "What it got (HTTP status) or why nothing came back" }),
  },
  { description: "The latest probe in the period" },
);

const Cost = Type.Object({
  currency: Type.String(),
  amountMinor: Type.Integer({ description: "The statement's lines for this e-service, in minor units" }),
  perCompletedTransactionMinor: Nullable(Type.Number({ description: "amountMinor / completed" })),
  statementFinalized: Type.Boolean(),
});

const Target = StringEnum(targetNames);

const TargetStatus = Type.Object({
  target: Target,
  goal: Type.Number(),
  actual: Nullable(Type.Number()),
  status: StringEnum(["met", "missed", "not-measured"] as const),
  difference: Nullable(Type.Number({ description: "actual − goal" })),
  reason: Type.Optional(Type.String({ description: "Why it was not measured, in English" })),
  reasonCode: Type.Optional(
    StringEnum(notMeasuredCodes, { description: "The same reason as a stable code" }),
  ),
});

const reportFields = {
  environment: Type.String(),
  eservice: Type.String(),
  figures: Figures,
  lastProbe: Nullable(LastProbe),
  cost: Type.Union([Cost, Type.Null()], {
    description: "null when the caller may not read statements, or the month has no statement yet",
  }),
  targets: Type.Array(TargetStatus),
};

const PerformanceView = Type.Object({
  department: Type.String(),
  period: Type.String({ description: "Calendar month, YYYY-MM" }),
  ...reportFields,
});

const ScorecardView = Type.Object({
  department: Type.String(),
  period: Type.String({ description: "Calendar month, YYYY-MM" }),
  rows: Type.Array(
    Type.Object({
      ...reportFields,
      missed: Type.Array(
        Type.Object({
          target: Target,
          goal: Type.Number(),
          actual: Type.Number(),
          difference: Type.Number(),
        }),
      ),
      verdict: StringEnum(["meets-every-measured-target", "misses-targets", "no-targets"] as const),
    }),
    { description: "E-services missing targets first" },
  ),
  summary: Type.Object({
    eservices: Type.Integer(),
    missingTargets: Type.Integer(),
    meetingEveryMeasuredTarget: Type.Integer(),
    withoutTargets: Type.Integer(),
  }),
});

const RankingView = Type.Object({
  period: Type.String({ description: "Calendar month, YYYY-MM" }),
  departments: Type.Array(
    Type.Object({
      rank: Nullable(Type.Integer({ description: "1 is best; equal standings share a rank" })),
      department: Type.String(),
      eservices: Type.Integer(),
      targetsMeasured: Type.Integer({ description: "Targets judged this month across its e-services" }),
      targetsMet: Type.Integer(),
      scorePercent: Nullable(
        Type.Number({ description: "targetsMet ÷ targetsMeasured × 100; null: not ranked" }),
      ),
      missingTargets: Type.Integer({ description: "E-services missing at least one target" }),
      withoutTargets: Type.Integer({ description: "E-services with no targets set" }),
      unavailable: Type.Optional(Type.String({ description: "Why its measurements could not be read" })),
    }),
    { description: "Ranked first, then those with nothing measured or unreadable" },
  ),
  serviceClusters: Type.Array(
    Type.Object({
      cluster: Type.String(),
      eservices: Type.Integer(),
      departments: Type.Integer(),
      requests: Type.Integer(),
      started: Type.Integer(),
      completed: Type.Integer(),
      completionRatePercent: Nullable(Type.Number()),
      probes: Type.Integer(),
      probesDown: Type.Integer(),
      availabilityPercent: Nullable(Type.Number()),
      otherChannelTransactions: Type.Integer({
        description: "Reported through other channels, by the e-services whose departments reported them",
      }),
      digitalTakeUpPercent: Nullable(
        Type.Number({ description: "Completed ÷ (completed + other channels) over those e-services" }),
      ),
      missingTargets: Type.Integer(),
    }),
    { description: "Each service cluster's e-services in the departments listed, summed" },
  ),
});

const scorecardColumns = [
  "department",
  "period",
  "environment",
  "eservice",
  "verdict",
  "requests",
  "serverErrors",
  "started",
  "completed",
  "completionRatePercent",
  "p95Milliseconds",
  "probes",
  "probesDown",
  "availabilityPercent",
  "ratings",
  "satisfactionPercent",
  "otherChannelTransactions",
  "digitalTakeUpPercent",
  "currency",
  "costMinor",
  "costPerCompletedTransactionMinor",
  ...targetNames.flatMap((target) => [`${target}.goal`, `${target}.actual`, `${target}.status`]),
] as const;

/** One row per e-service; each target's goal, actual and status in columns of its own (empty when not set). */
export function scorecardCsv(card: { department: string; period: string } & Scorecard): string {
  return csvDocument(
    scorecardColumns,
    card.rows.map((row) => ({
      department: card.department,
      period: card.period,
      environment: row.environment,
      eservice: row.eservice,
      verdict: row.verdict,
      ...row.figures,
      currency: row.cost?.currency,
      costMinor: row.cost?.amountMinor,
      costPerCompletedTransactionMinor: row.cost?.perCompletedTransactionMinor,
      ...Object.fromEntries(
        row.targets.flatMap((t) => [
          [`${t.target}.goal`, t.goal],
          [`${t.target}.actual`, t.actual],
          [`${t.target}.status`, t.status],
        ]),
      ),
    })),
  );
}

export function performanceRoutes(deps: ApiDependencies): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/departments/:dept/environments/:env/eservices/:name/performance",
      {
        schema: {
          tags: ["eservices"],
          summary:
            "An e-service's service performance for a month: requests, completed transactions, completion rate, p95, cost per completed transaction, and each target's status",
          params: ResourceParams,
          querystring: OptionalPeriodQuery,
          response: responses(
            { 200: json("The month's performance", PerformanceView) },
            [400, 401, 403, 404, 429, 500, 503],
          ),
        },
      },
      async (request) => {
        const { dept, env, namespace } = await environmentNamespace(deps, request, "eservice:read");
        const { name } = request.params;
        const es = await deps.reads.eservice(namespace, name);
        if (!es) throw problems.notFound(`EService ${name} does not exist in ${namespace}`);
        const period = request.query.period ?? periodOf(Date.now(), deps.timeZone);
        const measured = await measuredOf(deps, dept);
        const statement = await statementFor(deps, principalOf(request), dept, period);
        return { department: dept, period, ...reportOf(es, env, { ...measured, period, statement }) };
      },
    );

    app.get(
      "/departments/:dept/scorecard",
      {
        schema: {
          tags: ["eservices"],
          summary:
            "A department's scorecard for a month: every e-service's performance against its targets, those missing targets first, with by how much",
          params: DeptParams,
          querystring: OptionalPeriodQuery,
          response: responses(
            {
              200: {
                description: "The month's scorecard",
                content: {
                  "application/json": { schema: ScorecardView },
                  "text/csv": {
                    schema: Type.String({
                      description: `RFC 4180, CRLF, a header row (${scorecardColumns.join(",")}), one row per e-service`,
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
        const { dept } = request.params;
        const principal = principalOf(request);
        requireAllowed(principal, "eservice:read", dept);
        const department = await findDepartment(deps, dept);
        const period = request.query.period ?? periodOf(Date.now(), deps.timeZone);
        const reports = await departmentReports(deps, principal, department, period);
        const card = { department: dept, period, ...scorecard(reports.map((r) => r.report)) };
        if ((request.headers.accept ?? "").includes("text/csv"))
          return reply
            .type("text/csv; charset=utf-8")
            .header("content-disposition", `attachment; filename="${dept}-scorecard-${period}.csv"`)
            .send(scorecardCsv(card));
        return card;
      },
    );

    app.get(
      "/scorecards",
      {
        schema: {
          tags: ["eservices"],
          summary:
            "The central office's month: every department the caller may read ranked by the share of its e-services' measured targets met, and each service cluster's figures across departments",
          querystring: OptionalPeriodQuery,
          response: responses(
            { 200: json("The month's ranking", RankingView) },
            [400, 401, 403, 429, 500, 503],
          ),
        },
      },
      async (request) => {
        const principal = principalOf(request);
        const visible = visibleDepartments(principal, "eservice:read");
        if (visible?.length === 0) requireAllowed(principal, "eservice:read");
        const period = request.query.period ?? periodOf(Date.now(), deps.timeZone);
        const departments = (await deps.reads.departments())
          .filter((d) => visible === undefined || visible.includes(d.metadata.name as string))
          .sort((a, b) => (a.metadata.name as string).localeCompare(b.metadata.name as string));
        // Departments' stores are read a few at a time (one after another, a thousand departments' reads
        // add up; all at once, they would crowd out every other request's).
        const read = await pMap(
          departments,
          async (department) => {
            try {
              return { department, reports: await departmentReports(deps, principal, department, period) };
            } catch (error) {
              // One department's unreadable store is its row's note, not the whole ranking's failure.
              if (
                !(error instanceof ProblemError) ||
                error.problem.type !== `${problemBase}traffic-unavailable`
              )
                throw error;
              return { department, unavailable: error.problem.detail ?? error.message };
            }
          },
          { concurrency: 8 },
        );
        const months: DepartmentMonth[] = [];
        const clustered: Parameters<typeof serviceClusterFigures>[0][number][] = [];
        for (const { department, reports, unavailable } of read) {
          const name = department.metadata.name as string;
          if (!reports) {
            months.push({ department: name, unavailable: unavailable ?? "" });
            continue;
          }
          const card = scorecard(reports.map((r) => r.report));
          months.push({ department: name, card });
          const clusterOf = new Map(
            reports.map((r) => [`${r.report.environment}/${r.report.eservice}`, r.cluster]),
          );
          for (const row of card.rows) {
            clustered.push({
              cluster: clusterOf.get(`${row.environment}/${row.eservice}`) ?? "other",
              department: name,
              report: row,
              missesTargets: row.verdict === "misses-targets",
            });
          }
        }
        return {
          period,
          departments: rankDepartments(months),
          serviceClusters: serviceClusterFigures(clustered),
        };
      },
    );
  };
}

/** Every e-service's report for the month, in each environment the platform made for the department. */
async function departmentReports(
  deps: ApiDependencies,
  principal: Principal,
  department: DepartmentObject,
  period: string,
): Promise<{ cluster: string; report: EServiceReport }[]> {
  const dept = department.metadata.name as string;
  const measured = await measuredOf(deps, dept);
  const statement = await statementFor(deps, principal, dept, period);
  const reports = [];
  for (const env of department.spec.environments) {
    const namespace = namespaceName(dept, env);
    // Only namespaces the platform made for this department (a name alone proves nothing).
    if (!(await isNamespaceOf(deps, namespace, dept, env))) continue;
    for (const es of await deps.reads.eservices(namespace))
      reports.push({
        cluster: es.spec.serviceCluster ?? "other",
        report: reportOf(es, env, { ...measured, period, statement }),
      });
  }
  return reports;
}

/**
 * What was measured for the department: the ingress's counts, the probes (the controller's), the ratings and
 * the transactions it reported through its other channels.
 */
async function measuredOf(
  deps: ApiDependencies,
  dept: string,
): Promise<{
  traffic: DepartmentTraffic;
  availability: AvailabilityMonths;
  ratings: RatingMonths;
  channels: ChannelMonths;
}> {
  const find = (name: string, namespace: string) =>
    deps.kube.find<KubeObject & { data?: Record<string, string> }>(resources.configMap, name, namespace);
  const [trafficStore, availabilityStore, feedbackStore, channelsStore] = await Promise.all([
    find(trafficStoreName(dept), controllerIdentity.namespace),
    find(availabilityStoreName(dept), controllerIdentity.namespace),
    find(ratingsStoreName(dept), feedbackNamespace),
    find(channelsStoreName(dept), feedbackNamespace),
  ]);
  const traffic = readTrafficStore(trafficStore?.data);
  if (traffic instanceof Error) throw problems.trafficUnavailable(dept, traffic.message);
  const availability = readAvailabilityStore(availabilityStore?.data);
  if (availability instanceof Error) throw problems.trafficUnavailable(dept, availability.message);
  const ratings = readRatingsStore(feedbackStore?.data);
  if (ratings instanceof Error) throw problems.trafficUnavailable(dept, ratings.message);
  const channels = readChannelsStore(channelsStore?.data);
  if (channels instanceof Error) throw problems.trafficUnavailable(dept, channels.message);
  return { traffic, availability, ratings, channels };
}

/** One e-service's month from its department's traffic counts, probes and statement. */
function reportOf(
  es: EService & KubeObject,
  environment: string,
  month: {
    traffic: DepartmentTraffic;
    availability: AvailabilityMonths;
    ratings: RatingMonths;
    channels: ChannelMonths;
    period: string;
    statement: StatementCost | undefined;
  },
) {
  const key = `${es.metadata.namespace}/${es.metadata.name}`;
  const counts = month.traffic.months[month.period]?.[key];
  const probes = month.availability[month.period]?.[key];
  const ratings = month.ratings[month.period]?.[key];
  const otherChannels = month.channels[month.period]?.[key];
  return eserviceReport({
    environment,
    eservice: es.metadata.name as string,
    ...(es.spec.targets ? { targets: es.spec.targets } : {}),
    ...(counts ? { counts } : {}),
    ...(probes ? { probes } : {}),
    ...(ratings ? { ratings } : {}),
    ...(otherChannels ? { otherChannelTransactions: otherChannelTotal(otherChannels.channels) } : {}),
    ...(month.statement ? { statement: month.statement } : {}),
  });
}

/** The month's statement, for callers who may read statements. */
async function statementFor(
  deps: ApiDependencies,
  principal: Principal,
  dept: string,
  period: string,
): Promise<StatementCost | undefined> {
  if (!allowed(principal, "statement:read", dept)) return undefined;
  const statement = await deps.reads.statement(`${dept}-${period}`);
  return statement?.spec;
}

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { periodOf } from "../../lib/chargeback/calendar.ts";
import type { DepartmentStanding, ServiceClusterFigures } from "../../lib/performance/ranking.ts";
import type { ScorecardRow, Scorecard as ScorecardRows, TargetStatus } from "../../lib/performance/report.ts";
import type { LocalisedName } from "../eservice-directory.ts";
import { barChart } from "./finance-pages.ts";
import { DeptPeriodParams, periodPattern, segment } from "./forms.ts";
import {
  clusterName,
  formatMoney,
  formatMonth,
  formatNumber,
  formatPercent,
  type Locale,
  localePath,
  locales,
  localised,
  messagesFor,
} from "./i18n.ts";
import { sendPage, sendRefusal } from "./render.ts";
import type { SignedInKit } from "./signed-in.ts";

// Service performance (docs/performance.md), for a department's people and the central office: the month's
// ranking of the departments the person may read, with each service cluster's figures, and a department's
// scorecard, every e-service against its targets, those missing targets first, with the CSV. Every figure is
// the API's, read as the signed-in person; the API decides who sees which department.

/** The API's scorecard: the shape lib/performance gives it, with the department and month. */
type Scorecard = ScorecardRows & { department: string; period: string };

interface Ranking {
  period: string;
  departments: DepartmentStanding[];
  serviceClusters: ServiceClusterFigures[];
}

/** Text in a language other than the page's (an API's English reason on the Chinese page) says so. */
interface Text {
  text: string;
  lang?: string;
}

/** The figures as the pages write them: measured shares rounded down (never better than measured). */
function formats(locale: Locale) {
  const t = messagesFor(locale);
  const count = (value: number) => formatNumber(value, locale);
  const share = (percent: number) => formatPercent(percent, locale, { digits: 2, mode: "floor" });
  const orNot = <T>(value: T | null | undefined, shown: (value: T) => string) =>
    value === null || value === undefined ? t.notMeasuredFigure : shown(value);
  return {
    t,
    count,
    share,
    orNot,
    /** Availability with the checks it is made of. */
    availability: (figures: { availabilityPercent: number | null; probes: number; probesDown: number }) =>
      orNot(figures.availabilityPercent, (percent) =>
        t.checksAnswered(share(percent), count(figures.probes - figures.probesDown), count(figures.probes)),
      ),
  };
}

type Unit = "transactions" | "points" | "milliseconds";
const unitOf = (target: string): Unit =>
  target === "monthlyCompletedTransactions"
    ? "transactions"
    : target === "p95ResponseMilliseconds"
      ? "milliseconds"
      : "points";

/** One target's line: its goal, what was measured, and the status in words (never by colour alone). */
function targetLine(status: TargetStatus, locale: Locale) {
  const { t, count, share } = formats(locale);
  const unit = unitOf(status.target);
  const milliseconds = (value: number, mode?: "ceil") =>
    t.milliseconds(formatNumber(value, locale, { digits: 2, ...(mode ? { mode } : {}) }));
  const goal =
    unit === "transactions"
      ? t.atLeast(count(status.goal))
      : unit === "points"
        ? t.atLeast(formatPercent(status.goal, locale, { digits: 3 }))
        : t.atMost(milliseconds(status.goal));
  // A response time is rounded up, a share down: neither is shown better than measured.
  const actual =
    status.actual === null
      ? t.notMeasuredFigure
      : unit === "transactions"
        ? count(status.actual)
        : unit === "points"
          ? share(status.actual)
          : milliseconds(status.actual, "ceil");
  let words = t.met;
  let reason: Text | undefined;
  if (status.status === "missed") {
    const by = Math.abs(status.difference ?? 0);
    // Rounded away from zero: a miss is never shown as "by 0".
    const amount =
      unit === "transactions" ? count(by) : formatNumber(by, locale, { digits: 2, mode: "expand" });
    words = t.missedBy(unit, amount, by === 1);
  } else if (status.status === "not-measured") {
    words = t.notMeasuredBecause;
    const given = status.reason ?? "";
    // Translated by the API's stable code; a code this page does not know yet is shown in the API's words.
    const translated =
      locale === "en" ? given : status.reasonCode ? t.notMeasuredReasons[status.reasonCode] : undefined;
    reason = translated !== undefined ? { text: translated } : { text: given, lang: "en" };
  }
  return {
    name: t.targetNames[status.target] ?? status.target,
    goal,
    actual,
    status: status.status,
    words,
    reason,
  };
}

/** What the month's figures were, as a list of name and value. */
function figureLines(row: ScorecardRow, locale: Locale) {
  const { t, count, share, orNot, availability } = formats(locale);
  const f = row.figures;
  const lines = [
    { name: t.requests, value: count(f.requests) },
    {
      name: t.serverErrors,
      value:
        f.serverErrorRatePercent === null
          ? count(f.serverErrors)
          : t.withServerErrorRate(
              count(f.serverErrors),
              formatPercent(f.serverErrorRatePercent, locale, { digits: 2, mode: "ceil" }),
            ),
    },
    { name: t.transactionsStarted, value: count(f.started) },
    { name: t.transactionsCompleted, value: count(f.completed) },
    { name: t.completionRate, value: orNot(f.completionRatePercent, share) },
    {
      name: t.responseTime,
      value: orNot(f.p95Milliseconds, (ms) =>
        t.milliseconds(formatNumber(ms, locale, { digits: 2, mode: "ceil" })),
      ),
    },
    { name: t.availability, value: availability(f) },
    {
      name: t.satisfaction,
      value: orNot(f.satisfactionPercent, (percent) =>
        t.ratingsSatisfied(share(percent), f.ratings, count(f.ratings)),
      ),
    },
  ];
  lines.push(
    {
      name: t.otherChannelTransactions,
      value: f.otherChannelTransactions === null ? t.notReported : count(f.otherChannelTransactions),
    },
    { name: t.digitalTakeUp, value: orNot(f.digitalTakeUpPercent, share) },
  );
  if (row.cost) {
    const { currency, amountMinor, perCompletedTransactionMinor, statementFinalized } = row.cost;
    lines.push({
      name: t.costInMonth,
      value: t.costWithState(formatMoney(amountMinor, currency, locale), statementFinalized),
    });
    lines.push({
      name: t.costPerTransaction,
      // To the cent: the CSV has it exactly.
      value: orNot(perCompletedTransactionMinor, (minor) => formatMoney(Math.round(minor), currency, locale)),
    });
  }
  return lines;
}

/** A department's scorecard as its page shows it, in the API's order (those missing targets first). */
/**
 * The scorecard as its page shows it; for people who may report the department's figures, each e-service
 * links to the form for its other channels' transactions in the month.
 */
function scorecardView(card: Scorecard, locale: Locale, mayReport: boolean) {
  const t = messagesFor(locale);
  return {
    summary: [
      { name: t.summaryEservices, value: formatNumber(card.summary.eservices, locale) },
      { name: t.summaryMissing, value: formatNumber(card.summary.missingTargets, locale) },
      { name: t.summaryMeeting, value: formatNumber(card.summary.meetingEveryMeasuredTarget, locale) },
      { name: t.summaryWithout, value: formatNumber(card.summary.withoutTargets, locale) },
    ],
    eservices: card.rows.map((row, index) => {
      const name = t.eserviceInEnvironment(row.eservice, row.environment);
      return {
        id: `eservice-${index}`,
        name,
        verdict: t.verdict(row.verdict, row.missed.length),
        missesTargets: row.verdict === "misses-targets",
        targetsCaption: t.targetsOf(name),
        targets: row.targets.map((target) => targetLine(target, locale)),
        figures: figureLines(row, locale),
        report: mayReport
          ? {
              text: t.reportOtherChannels(row.eservice),
              href: localePath(
                locale,
                `/performance/${segment(card.department)}/${card.period}/${segment(row.environment)}/${segment(row.eservice)}/other-channels`,
              ),
            }
          : undefined,
      };
    }),
  };
}

/** The month's ranking as its page shows it: each department by its name in the page's language. */
function rankingView(ranking: Ranking, names: Map<string, LocalisedName>, locale: Locale) {
  const { t, count, share, orNot, availability } = formats(locale);
  const departments = ranking.departments.map((standing) => {
    const name = names.get(standing.department);
    const unavailable = standing.unavailable !== undefined;
    // A department whose measurements could not be read has no figures: "—", not zeros.
    const figure = (value: number) => (unavailable ? "—" : count(value));
    return {
      rank: standing.rank === null ? t.notRanked : count(standing.rank),
      name: name ? localised(name, locale) : standing.department,
      // Its scorecard could not be read either: no link to a page that would fail.
      href: unavailable
        ? undefined
        : localePath(locale, `/performance/${segment(standing.department)}/${ranking.period}`),
      value: standing.scorePercent ?? 0,
      ranked: standing.scorePercent !== null && !unavailable,
      score: unavailable
        ? t.measurementsUnavailable
        : standing.scorePercent === null
          ? t.nothingMeasured
          : share(standing.scorePercent),
      // The API's reason, in its words (English): marked as such on the Chinese page.
      reason: unavailable
        ? { text: standing.unavailable ?? "", ...(locale === "en" ? {} : { lang: "en" }) }
        : undefined,
      targetsMet: unavailable
        ? "—"
        : t.targetsMetOf(count(standing.targetsMet), count(standing.targetsMeasured)),
      eservices: figure(standing.eservices),
      missingTargets: figure(standing.missingTargets),
      withoutTargets: figure(standing.withoutTargets),
    };
  });
  const ranked = departments.filter((row) => row.ranked);
  return {
    departments,
    // Scored out of 100, so a department's bar is its share, not its share of the best one's.
    chart: ranked.length
      ? barChart(
          ranked.map((row) => ({ label: row.name, value: row.value, text: row.score })),
          100,
        )
      : undefined,
    clusters: ranking.serviceClusters.map((cluster) => ({
      name: clusterName(cluster.cluster, locale),
      eservices: count(cluster.eservices),
      departments: count(cluster.departments),
      requests: count(cluster.requests),
      started: count(cluster.started),
      completed: count(cluster.completed),
      completionRate: orNot(cluster.completionRatePercent, share),
      availability: availability(cluster),
      digitalTakeUp: orNot(cluster.digitalTakeUpPercent, share),
      missingTargets: count(cluster.missingTargets),
    })),
  };
}

export function performancePages(
  kit: SignedInKit,
  settings: { timeZone: string },
): FastifyPluginAsyncTypebox {
  return async (app) => {
    for (const locale of locales) {
      app.get(
        localePath(locale, "/performance"),
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
          const [ranking, departments] = await Promise.all([
            kit.call(session, `/api/v1/scorecards?period=${period}`),
            kit.call(session, "/api/v1/departments"),
          ]);
          if (ranking.status !== 200) return sendRefusal(reply, context, ranking.status);
          // The names are a courtesy: without them a department is shown by its identifier.
          const names = new Map(
            (departments.status === 200
              ? (departments.body as { items: { name: string; spec: { displayName: LocalisedName } }[] })
                  .items
              : []
            ).map((department) => [department.name, department.spec.displayName]),
          );
          const month = formatMonth(period, locale);
          return sendPage(reply, 200, "./performance", context, t.performanceTitle, {
            path: `/performance?period=${period}`,
            action: localePath(locale, "/performance"),
            period,
            rankedCaption: t.departmentsRanked(month),
            clustersCaption: t.clusterFigures(month),
            ...rankingView(ranking.body as Ranking, names, locale),
          });
        },
      );

      app.get(
        localePath(locale, "/performance/:dept/:period"),
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
          const [department, card, mayReport] = await Promise.all([
            kit.call(session, `/api/v1/departments/${segment(dept)}`),
            kit.call(session, `/api/v1/departments/${segment(dept)}/scorecard?period=${period}`),
            kit.may(session, "eservice:write", dept),
          ]);
          if (department.status !== 200) return sendRefusal(reply, context, department.status);
          if (card.status !== 200) return sendRefusal(reply, context, card.status);
          const name = localised(
            (department.body as { spec: { displayName: LocalisedName } }).spec.displayName,
            locale,
          );
          return sendPage(
            reply,
            200,
            "./scorecard",
            context,
            t.scorecardTitle(name, formatMonth(period, locale)),
            {
              path: `/performance/${segment(dept)}/${period}`,
              rankingHref: localePath(locale, `/performance?period=${period}`),
              csvHref: `/performance/${segment(dept)}/${period}/scorecard.csv`,
              ...scorecardView(card.body as Scorecard, locale, mayReport),
            },
          );
        },
      );
    }

    // The CSV is the API's own (its scorecard route, asked for text/csv), fetched as the signed-in person.
    app.get(
      "/performance/:dept/:period/scorecard.csv",
      {
        config: { public: true },
        schema: { hide: true, params: DeptPeriodParams },
      },
      async (request, reply) => {
        const session = await kit.signedIn(request, reply);
        if (!session) return reply;
        const { dept, period } = request.params;
        const csv = await kit.download(
          session,
          `/api/v1/departments/${segment(dept)}/scorecard?period=${period}`,
          "text/csv",
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

import type { LastProbe, ProbeCounts } from "./availability-store.ts";
import { type RatingCounts, satisfactionOf } from "./feedback-store.ts";
import { latencyQuantile } from "./latency.ts";
import { emptyCounts, type TrafficCounts } from "./traffic-store.ts";

// One e-service's service-performance report for a month: what the ingress counted, what it cost, and how
// that stands against each target on the EService (docs/performance.md). A pure function of its inputs.

export interface Targets {
  monthlyCompletedTransactions?: number;
  completionRatePercent?: number;
  digitalTakeUpPercent?: number;
  satisfactionPercent?: number;
  availabilityPercent?: number;
  p95ResponseMilliseconds?: number;
}

export const targetNames = [
  "monthlyCompletedTransactions",
  "completionRatePercent",
  "digitalTakeUpPercent",
  "satisfactionPercent",
  "availabilityPercent",
  "p95ResponseMilliseconds",
] as const satisfies readonly (keyof Targets)[];
export type TargetName = (typeof targetNames)[number];

export interface TargetStatus {
  target: TargetName;
  goal: number;
  /** null: not measured (the reason says why). */
  actual: number | null;
  status: "met" | "missed" | "not-measured";
  /** actual minus goal, in the target's unit (negative: short of a "at least" goal). */
  difference: number | null;
  reason?: string;
  reasonCode?: NotMeasuredCode;
}

export interface PerformanceFigures {
  requests: number;
  serverErrors: number;
  serverErrorRatePercent: number | null;
  started: number;
  completed: number;
  completionRatePercent: number | null;
  p95Milliseconds: number | null;
  /** The histogram bucket the p95 fell in: the estimate is exact only to within it. */
  p95BucketMilliseconds: { lower: number; upper: number | null } | null;
  /** The platform's probes of the e-service's home page through the ingress while it was public. */
  probes: number;
  probesDown: number;
  /** Probes answered (2xx/3xx) / probes × 100; null when it was not probed. */
  availabilityPercent: number | null;
  /** Citizens' ratings sent through the feedback endpoint. */
  ratings: number;
  /** Ratings of 4 or 5 ÷ ratings × 100; null with none. */
  satisfactionPercent: number | null;
  /** Transactions the department reported through its other channels; null: not reported for the month. */
  otherChannelTransactions: number | null;
  /** completed ÷ (completed + otherChannelTransactions) × 100; null when not reported or both are 0. */
  digitalTakeUpPercent: number | null;
}

export interface CostFigures {
  currency: string;
  amountMinor: number;
  /** The statement's amount for the e-service divided by its completed transactions (null with none). */
  perCompletedTransactionMinor: number | null;
  statementFinalized: boolean;
}

/** Why a target was not measured: a stable code (pages translate it) and the reason in English. */
export const notMeasuredReasons = {
  "no-requests": "no requests were counted in the period",
  "not-rated": "no citizen rated the e-service in the period",
  "not-probed": "the e-service was not probed in the period (it was not public, or probing is off)",
  "channels-not-reported":
    "the department has not reported the month's transactions through its other channels (PUT .../other-channels/{period})",
  "no-transactions": "no transaction was completed through any channel in the period",
} as const;
export type NotMeasuredCode = keyof typeof notMeasuredReasons;
export const notMeasuredCodes = Object.keys(notMeasuredReasons) as NotMeasuredCode[];

function notMeasuredCode(target: TargetName, figures: PerformanceFigures): NotMeasuredCode {
  switch (target) {
    case "digitalTakeUpPercent":
      return figures.otherChannelTransactions === null ? "channels-not-reported" : "no-transactions";
    case "satisfactionPercent":
      return "not-rated";
    case "availabilityPercent":
      return "not-probed";
    default:
      return "no-requests";
  }
}

/** Whether more is better (at least `goal`) or less (at most `goal`). */
const atMost: ReadonlySet<TargetName> = new Set(["p95ResponseMilliseconds"]);

export function performanceFigures(
  counts: TrafficCounts | undefined,
  probes?: Pick<ProbeCounts, "up" | "down">,
  ratings?: RatingCounts,
  otherChannelTransactions?: number,
): PerformanceFigures {
  const satisfaction = satisfactionOf(ratings);
  const c = counts ?? emptyCounts();
  const probed = (probes?.up ?? 0) + (probes?.down ?? 0);
  const p95 = latencyQuantile(c.latency, 0.95);
  return {
    requests: c.requests,
    serverErrors: c.serverErrors,
    serverErrorRatePercent: c.requests > 0 ? (100 * c.serverErrors) / c.requests : null,
    started: c.started,
    completed: c.completed,
    completionRatePercent: c.started > 0 ? (100 * c.completed) / c.started : null,
    p95Milliseconds: p95?.milliseconds ?? null,
    p95BucketMilliseconds: p95?.bucket ?? null,
    probes: probed,
    probesDown: probes?.down ?? 0,
    availabilityPercent: probed > 0 ? (100 * (probes?.up ?? 0)) / probed : null,
    ratings: satisfaction.ratings,
    satisfactionPercent: satisfaction.satisfiedPercent,
    otherChannelTransactions: otherChannelTransactions ?? null,
    digitalTakeUpPercent:
      otherChannelTransactions !== undefined && c.completed + otherChannelTransactions > 0
        ? (100 * c.completed) / (c.completed + otherChannelTransactions)
        : null,
  };
}

export function costFigures(
  amountMinor: number,
  currency: string,
  finalized: boolean,
  completed: number,
): CostFigures {
  return {
    currency,
    amountMinor,
    perCompletedTransactionMinor: completed > 0 ? amountMinor / completed : null,
    statementFinalized: finalized,
  };
}

function actualOf(target: TargetName, figures: PerformanceFigures): number | null {
  switch (target) {
    case "monthlyCompletedTransactions":
      return figures.completed;
    case "completionRatePercent":
      return figures.completionRatePercent;
    case "p95ResponseMilliseconds":
      return figures.p95Milliseconds;
    case "availabilityPercent":
      return figures.availabilityPercent;
    case "satisfactionPercent":
      return figures.satisfactionPercent;
    case "digitalTakeUpPercent":
      return figures.digitalTakeUpPercent;
  }
}

export function targetStatuses(targets: Targets | undefined, figures: PerformanceFigures): TargetStatus[] {
  const statuses: TargetStatus[] = [];
  for (const target of targetNames) {
    const goal = targets?.[target];
    if (goal === undefined) continue;
    const actual = actualOf(target, figures);
    if (actual === null) {
      const code = notMeasuredCode(target, figures);
      statuses.push({
        target,
        goal,
        actual: null,
        status: "not-measured",
        difference: null,
        reason: notMeasuredReasons[code],
        reasonCode: code,
      });
      continue;
    }
    const met = atMost.has(target) ? actual <= goal : actual >= goal;
    statuses.push({ target, goal, actual, status: met ? "met" : "missed", difference: actual - goal });
  }
  return statuses;
}

/** What a statement says an e-service cost in a month. */
export interface StatementCost {
  currency: string;
  finalized: boolean;
  lines: readonly { environment?: string; eservice?: string; amountMinor: number }[];
}

export interface EServiceReport {
  environment: string;
  eservice: string;
  figures: PerformanceFigures;
  /** The latest probe in the period: whether the e-service answered it, and what it got. */
  lastProbe: LastProbe | null;
  cost: CostFigures | null;
  targets: TargetStatus[];
}

/** One e-service's month: its counts, its lines of the statement (when given) and its targets. */
export function eserviceReport(input: {
  environment: string;
  eservice: string;
  targets?: Targets;
  counts?: TrafficCounts;
  probes?: ProbeCounts;
  ratings?: RatingCounts;
  /** The month's transactions through the department's other channels, when it reported them. */
  otherChannelTransactions?: number;
  statement?: StatementCost;
}): EServiceReport {
  const figures = performanceFigures(
    input.counts,
    input.probes,
    input.ratings,
    input.otherChannelTransactions,
  );
  const { statement } = input;
  const amountOf = (s: StatementCost) =>
    s.lines
      .filter((line) => line.eservice === input.eservice && line.environment === input.environment)
      .reduce((sum, line) => sum + line.amountMinor, 0);
  return {
    environment: input.environment,
    eservice: input.eservice,
    figures,
    lastProbe: input.probes?.last ?? null,
    cost: statement
      ? costFigures(amountOf(statement), statement.currency, statement.finalized, figures.completed)
      : null,
    targets: targetStatuses(input.targets, figures),
  };
}

export interface ScorecardRow extends EServiceReport {
  /** The targets missed, by how much each (see `targets` for all). */
  missed: { target: TargetName; goal: number; actual: number; difference: number }[];
  verdict: "meets-every-measured-target" | "misses-targets" | "no-targets";
}

export interface Scorecard {
  rows: ScorecardRow[];
  summary: {
    eservices: number;
    missingTargets: number;
    meetingEveryMeasuredTarget: number;
    withoutTargets: number;
  };
}

/** A department's month: every e-service's report, those missing targets first, then by name. */
export function scorecard(reports: readonly EServiceReport[]): Scorecard {
  const rows = reports.map((report): ScorecardRow => {
    const missed = report.targets.flatMap((t) =>
      t.status === "missed" && t.actual !== null && t.difference !== null
        ? [{ target: t.target, goal: t.goal, actual: t.actual, difference: t.difference }]
        : [],
    );
    const verdict =
      report.targets.length === 0
        ? "no-targets"
        : missed.length > 0
          ? "misses-targets"
          : "meets-every-measured-target";
    return { ...report, missed, verdict };
  });
  const order = { "misses-targets": 0, "meets-every-measured-target": 1, "no-targets": 2 } as const;
  rows.sort(
    (a, b) =>
      order[a.verdict] - order[b.verdict] ||
      a.environment.localeCompare(b.environment) ||
      a.eservice.localeCompare(b.eservice),
  );
  const count = (verdict: ScorecardRow["verdict"]) => rows.filter((r) => r.verdict === verdict).length;
  return {
    rows,
    summary: {
      eservices: rows.length,
      missingTargets: count("misses-targets"),
      meetingEveryMeasuredTarget: count("meets-every-measured-target"),
      withoutTargets: count("no-targets"),
    },
  };
}

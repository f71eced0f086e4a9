import type { EServiceReport, Scorecard } from "./report.ts";

// The central office's month: departments ranked by how their e-services stand against their own targets,
// and the figures of each service cluster across departments (docs/performance.md). Pure functions of the
// departments' scorecards.

export interface DepartmentStanding {
  rank: number | null;
  department: string;
  eservices: number;
  /** Targets that could be judged this month, across the department's e-services, and of those, met. */
  targetsMeasured: number;
  targetsMet: number;
  /** targetsMet ÷ targetsMeasured × 100; null with nothing measured (such a department is not ranked). */
  scorePercent: number | null;
  missingTargets: number;
  withoutTargets: number;
  /** Why the department's measurements could not be read (then it is listed, not ranked). */
  unavailable?: string;
}

export type DepartmentMonth =
  | { department: string; card: Scorecard }
  | { department: string; unavailable: string };

/**
 * Ranked by score (highest first), then fewer e-services missing targets, then name; a department with
 * nothing measured or whose measurements could not be read comes after, unranked. Equal scores and equal
 * misses share a rank (1, 1, 3).
 */
export function rankDepartments(months: readonly DepartmentMonth[]): DepartmentStanding[] {
  const standings = months.map((month): DepartmentStanding => {
    if ("unavailable" in month)
      return {
        rank: null,
        department: month.department,
        eservices: 0,
        targetsMeasured: 0,
        targetsMet: 0,
        scorePercent: null,
        missingTargets: 0,
        withoutTargets: 0,
        unavailable: month.unavailable,
      };
    const targets = month.card.rows.flatMap((row) => row.targets);
    const measured = targets.filter((t) => t.status !== "not-measured");
    const met = measured.filter((t) => t.status === "met").length;
    return {
      rank: null,
      department: month.department,
      eservices: month.card.summary.eservices,
      targetsMeasured: measured.length,
      targetsMet: met,
      scorePercent: measured.length > 0 ? (100 * met) / measured.length : null,
      missingTargets: month.card.summary.missingTargets,
      withoutTargets: month.card.summary.withoutTargets,
    };
  });
  standings.sort(
    (a, b) =>
      (b.scorePercent ?? -1) - (a.scorePercent ?? -1) ||
      a.missingTargets - b.missingTargets ||
      a.department.localeCompare(b.department),
  );
  let previous: DepartmentStanding | undefined;
  standings.forEach((standing, index) => {
    if (standing.scorePercent === null) return;
    const tied =
      previous?.scorePercent === standing.scorePercent && previous.missingTargets === standing.missingTargets;
    standing.rank = tied ? (previous?.rank ?? index + 1) : index + 1;
    previous = standing;
  });
  return standings;
}

export interface ServiceClusterFigures {
  cluster: string;
  eservices: number;
  departments: number;
  requests: number;
  started: number;
  completed: number;
  completionRatePercent: number | null;
  probes: number;
  probesDown: number;
  availabilityPercent: number | null;
  /** Transactions reported through other channels, by the e-services whose departments reported them. */
  otherChannelTransactions: number;
  /** Completed ÷ (completed + other channels) × 100 over those e-services; null when none reported. */
  digitalTakeUpPercent: number | null;
  /** E-services of the cluster missing at least one of their targets. */
  missingTargets: number;
}

/** Each service cluster's month, summed over its e-services in every department given. */
export function serviceClusterFigures(
  reports: readonly { cluster: string; department: string; report: EServiceReport; missesTargets: boolean }[],
): ServiceClusterFigures[] {
  const clusters = new Map<
    string,
    ServiceClusterFigures & { departmentNames: Set<string>; completedWhereReported: number }
  >();
  for (const { cluster, department, report, missesTargets } of reports) {
    const sum = clusters.get(cluster) ?? {
      cluster,
      eservices: 0,
      departments: 0,
      departmentNames: new Set<string>(),
      requests: 0,
      started: 0,
      completed: 0,
      completionRatePercent: null,
      probes: 0,
      probesDown: 0,
      availabilityPercent: null,
      otherChannelTransactions: 0,
      digitalTakeUpPercent: null,
      missingTargets: 0,
      completedWhereReported: 0,
    };
    const f = report.figures;
    sum.eservices++;
    sum.departmentNames.add(department);
    sum.requests += f.requests;
    sum.started += f.started;
    sum.completed += f.completed;
    sum.probes += f.probes;
    sum.probesDown += f.probesDown;
    if (f.otherChannelTransactions !== null) {
      sum.otherChannelTransactions += f.otherChannelTransactions;
      sum.completedWhereReported += f.completed;
    }
    if (missesTargets) sum.missingTargets++;
    clusters.set(cluster, sum);
  }
  return [...clusters.values()]
    .sort((a, b) => a.cluster.localeCompare(b.cluster))
    .map(({ departmentNames, completedWhereReported, ...sum }) => ({
      ...sum,
      departments: departmentNames.size,
      completionRatePercent: sum.started > 0 ? (100 * sum.completed) / sum.started : null,
      availabilityPercent: sum.probes > 0 ? (100 * (sum.probes - sum.probesDown)) / sum.probes : null,
      digitalTakeUpPercent:
        completedWhereReported + sum.otherChannelTransactions > 0
          ? (100 * completedWhereReported) / (completedWhereReported + sum.otherChannelTransactions)
          : null,
    }));
}

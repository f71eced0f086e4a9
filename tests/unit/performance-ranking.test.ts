import { describe, expect, it } from "vitest";
import { rankDepartments, serviceClusterFigures } from "../../lib/performance/ranking.ts";
import { eserviceReport, scorecard } from "../../lib/performance/report.ts";

const counts = (started: number, completed: number) => ({
  requests: 100,
  serverErrors: 0,
  started,
  completed,
  latency: {},
});
const last = { at: "2026-12-03T10:00:00.000Z", up: true, result: "HTTP 200" };

/** A department's month: e-services as [name, completed of 10 started, target of completed]. */
const department = (...eservices: [string, number, number | undefined][]) =>
  scorecard(
    eservices.map(([eservice, completed, goal]) =>
      eserviceReport({
        environment: "prod",
        eservice,
        counts: counts(10, completed),
        ...(goal === undefined
          ? {}
          : { targets: { monthlyCompletedTransactions: goal, completionRatePercent: 50 } }),
      }),
    ),
  );

describe("the central office's ranking", () => {
  it("ranks by the share of measured targets met, then fewer e-services missing, then name; ties share a rank", () => {
    const standings = rankDepartments([
      { department: "lcsd", card: department(["library", 9, 5], ["pools", 5, 6]) }, // 3 of 4 met
      { department: "immd", card: department(["visa", 9, 5]) }, // 2 of 2
      { department: "dh", card: department(["clinics", 9, 5]) }, // 2 of 2, ties with immd
      { department: "td", card: department(["licences", 1, 5]) }, // 0 of 2
      { department: "hyd", card: department(["roads", 5, undefined]) }, // no targets: unranked
      { department: "bd", unavailable: "traffic store field months is not JSON" },
    ]);
    expect(standings.map((s) => [s.department, s.rank, s.scorePercent])).toEqual([
      ["dh", 1, 100],
      ["immd", 1, 100],
      ["lcsd", 3, 75],
      ["td", 4, 0],
      ["bd", null, null],
      ["hyd", null, null],
    ]);
    expect(standings.find((s) => s.department === "lcsd")).toMatchObject({
      eservices: 2,
      targetsMeasured: 4,
      targetsMet: 3,
      missingTargets: 1,
      withoutTargets: 0,
    });
    expect(standings.find((s) => s.department === "bd")?.unavailable).toContain("not JSON");
  });

  it("does not count a target it could not judge, for or against", () => {
    // Satisfaction is not measured yet: only the completed-transactions target is judged.
    const card = scorecard([
      eserviceReport({
        environment: "prod",
        eservice: "visa",
        counts: counts(10, 9),
        targets: { monthlyCompletedTransactions: 5, satisfactionPercent: 80 },
      }),
    ]);
    expect(rankDepartments([{ department: "immd", card }])[0]).toMatchObject({
      rank: 1,
      targetsMeasured: 1,
      targetsMet: 1,
      scorePercent: 100,
    });
  });

  it("sums each service cluster over its e-services in every department", () => {
    const report = (
      eservice: string,
      started: number,
      completed: number,
      up: number,
      down: number,
      otherChannelTransactions?: number,
    ) =>
      eserviceReport({
        environment: "prod",
        eservice,
        counts: counts(started, completed),
        probes: { up, down, last },
        ...(otherChannelTransactions === undefined ? {} : { otherChannelTransactions }),
      });
    const clusters = serviceClusterFigures([
      {
        cluster: "transport",
        department: "td",
        report: report("licences", 40, 30, 99, 1, 70),
        missesTargets: true,
      },
      {
        cluster: "transport",
        department: "td",
        report: report("parking", 10, 10, 100, 0),
        missesTargets: false,
      },
      {
        cluster: "transport",
        department: "hyd",
        report: report("roads", 50, 20, 0, 0, 80),
        missesTargets: false,
      },
      { cluster: "health", department: "dh", report: report("clinics", 0, 0, 0, 0), missesTargets: false },
    ]);
    expect(clusters).toEqual([
      {
        cluster: "health",
        eservices: 1,
        departments: 1,
        requests: 100,
        started: 0,
        completed: 0,
        completionRatePercent: null,
        probes: 0,
        probesDown: 0,
        availabilityPercent: null,
        otherChannelTransactions: 0,
        digitalTakeUpPercent: null,
        missingTargets: 0,
      },
      {
        cluster: "transport",
        eservices: 3,
        departments: 2,
        requests: 300,
        started: 100,
        completed: 60,
        completionRatePercent: 60,
        probes: 200,
        probesDown: 1,
        availabilityPercent: 99.5,
        // Over the two e-services whose departments reported their other channels: 50 ÷ (50 + 150).
        otherChannelTransactions: 150,
        digitalTakeUpPercent: 25,
        missingTargets: 1,
      },
    ]);
  });
});

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parsePrometheusText, type Sample } from "../../controller/performance/prometheus-text.ts";
import {
  attribute,
  countRound,
  instanceId,
  type MeasuredEService,
  routesByServiceLabel,
  trafficFamilies,
  trafficFamilyNames,
} from "../../controller/performance/traffic-counting.ts";
import { latencyQuantile } from "../../lib/performance/latency.ts";
import {
  costFigures,
  eserviceReport,
  performanceFigures,
  scorecard,
  targetStatuses,
} from "../../lib/performance/report.ts";
import {
  type DepartmentTraffic,
  readTrafficStore,
  trafficStoreData,
} from "../../lib/performance/traffic-store.ts";

const visa: MeasuredEService = {
  department: "immd",
  namespace: "immd-prod",
  name: "visa",
  completion: { path: "/apply", match: "Exact", methods: ["POST"], statusClasses: ["2xx"] },
};
const library: MeasuredEService = { department: "lcsd", namespace: "lcsd-prod", name: "library" };
const { routes } = routesByServiceLabel([visa, library]);

const requests = (service: string, code: string, method: string, value: number): Sample => ({
  name: trafficFamilies.requests,
  labels: { code, method, protocol: "http", service },
  value,
});
const empty: DepartmentTraffic = { months: {}, baselines: {} };

describe("reading Prometheus text", () => {
  it("reads the wanted families' samples with escaped label values, exponents and timestamps", () => {
    const text = [
      "# HELP traefik_service_requests_total How many HTTP requests processed on a service.",
      "# TYPE traefik_service_requests_total counter",
      'traefik_service_requests_total{code="200",method="GET",protocol="http",service="a-b-80@kubernetes"} 1.234567e+06',
      'traefik_service_requests_total{code="404",method="GET",service="we\\"ird\\\\x\\ny"} 3 1700000000000',
      'traefik_service_request_duration_seconds_bucket{le="+Inf",service="s"} 7',
      "process_start_time_seconds 1.76e+09",
      'go_goroutines{x="1"} 12',
      'traefik_service_requests_total{code="200" 5',
      "traefik_service_requests_total{} not-a-number",
      "",
    ].join("\n");
    expect(parsePrometheusText(text, trafficFamilyNames)).toEqual([
      {
        name: trafficFamilies.requests,
        labels: { code: "200", method: "GET", protocol: "http", service: "a-b-80@kubernetes" },
        value: 1_234_567,
      },
      {
        name: trafficFamilies.requests,
        labels: { code: "404", method: "GET", service: 'we"ird\\x\ny' },
        value: 3,
      },
      { name: trafficFamilies.latency, labels: { le: "+Inf", service: "s" }, value: 7 },
      { name: trafficFamilies.processStart, labels: {}, value: 1_760_000_000 },
    ]);
  });
});

describe("attributing the ingress controller's series", () => {
  it("knows each e-service's two ports and counts a label two e-services share for neither", () => {
    expect([...routes.keys()].sort()).toEqual([
      "immd-prod-visa-80@kubernetes",
      "immd-prod-visa-81@kubernetes",
      "lcsd-prod-library-80@kubernetes",
      "lcsd-prod-library-81@kubernetes",
    ]);
    const clash = routesByServiceLabel([
      { department: "a", namespace: "a-b", name: "c" },
      { department: "a", namespace: "a", name: "b-c" },
      { department: "d", namespace: "d-prod", name: "e" },
    ]);
    expect(clash.ambiguous).toEqual(["a-b-c-80@kubernetes", "a-b-c-81@kubernetes"]);
    expect([...clash.routes.keys()]).toEqual(["d-prod-e-80@kubernetes", "d-prod-e-81@kubernetes"]);
  });

  it("counts started and completed transactions only on the completion route, with its methods and statuses", () => {
    const series = attribute(
      [
        requests("immd-prod-visa-81@kubernetes", "200", "POST", 5), // started, completed
        requests("immd-prod-visa-81@kubernetes", "422", "POST", 2), // started, not completed
        requests("immd-prod-visa-81@kubernetes", "200", "GET", 4), // the form page: neither
        requests("immd-prod-visa-80@kubernetes", "200", "POST", 6), // another path: neither
        requests("immd-prod-visa-80@kubernetes", "503", "GET", 1), // a server error
        requests("lcsd-prod-library-80@kubernetes", "200", "GET", 9),
        requests("someone-else-80@kubernetes", "200", "GET", 100),
        requests("immd-prod-visa-80@kubernetes", "200", "GET", 1.5), // not a count
      ],
      routes,
    );
    expect([...series.keys()].sort()).toEqual(["immd", "lcsd"]);
    const { traffic } = countRound(
      empty,
      [{ pod: "p", instance: instanceId("p", 1), series: series.get("immd") ?? [] }],
      new Set(["p"]),
      "2026-12",
    );
    expect(traffic.months["2026-12"]?.["immd-prod/visa"]).toEqual({
      requests: 18,
      serverErrors: 1,
      started: 7,
      completed: 5,
      latency: {},
    });
  });
});

/** One instance's counters as the ingress controller would show them after `served` requests per series. */
function reading(pod: string, start: number, served: Map<string, number>) {
  const samples = [...served].map(([key, value]) => {
    const [port, code] = key.split("/") as [string, string];
    return requests(`immd-prod-visa-${port}@kubernetes`, code, "POST", value);
  });
  return { pod, instance: instanceId(pod, start), series: attribute(samples, routes).get("immd") ?? [] };
}

describe("counting exactly once", () => {
  // Requests arrive on a few series; rounds read the counters and write the counts, and some writes fail
  // (a crash or a conflict: the store keeps what it had); the ingress controller restarts now and then
  // (its counters start again at zero). What is counted must be exactly what each process had shown at
  // its last successful round: nothing more (never twice), nothing less.
  const step = fc.oneof(
    fc.record({
      kind: fc.constant("request" as const),
      key: fc.constantFrom("81/200", "81/500", "80/200"),
      n: fc.integer({ min: 1, max: 50 }),
    }),
    fc.record({ kind: fc.constant("round" as const), stored: fc.boolean() }),
    fc.record({ kind: fc.constant("restart" as const) }),
  );

  it("counts what each process showed at its last stored round, across failed writes and restarts", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
        let store = empty;
        let start = 1;
        let served = new Map<string, number>();
        // What the store must hold: per process, the counters at its last stored round.
        const shownAtLastStore = new Map<number, Map<string, number>>();
        for (const s of [...steps, { kind: "round" as const, stored: true }]) {
          if (s.kind === "request") served.set(s.key, (served.get(s.key) ?? 0) + s.n);
          else if (s.kind === "restart") {
            start++;
            served = new Map();
          } else {
            const { traffic } = countRound(store, [reading("p", start, served)], new Set(["p"]), "2026-12");
            if (s.stored) {
              store = readTrafficStore(trafficStoreData(traffic)) as DepartmentTraffic;
              shownAtLastStore.set(start, new Map(served));
            }
          }
        }
        const expected = { requests: 0, completed: 0, serverErrors: 0 };
        for (const shown of shownAtLastStore.values())
          for (const [key, value] of shown) {
            expected.requests += value;
            if (key === "81/200") expected.completed += value;
            if (key === "81/500") expected.serverErrors += value;
          }
        const counts = store.months["2026-12"]?.["immd-prod/visa"];
        expect({
          requests: counts?.requests ?? 0,
          completed: counts?.completed ?? 0,
          serverErrors: counts?.serverErrors ?? 0,
        }).toEqual(expected);
        expect(counts?.started ?? 0).toBe(expected.completed + expected.serverErrors);
        // Only the running process's values are kept: earlier ones of the pod are forgotten.
        expect(Object.keys(store.baselines)).toEqual(served.size > 0 ? [instanceId("p", start)] : []);
      }),
      { numRuns: 300 },
    );
  });

  it("counts a series that went down (Traefik dropped and re-created it) from zero", () => {
    const first = countRound(empty, [reading("p", 1, new Map([["81/200", 10]]))], new Set(["p"]), "2026-12");
    const again = countRound(
      first.traffic,
      [reading("p", 1, new Map([["81/200", 3]]))],
      new Set(["p"]),
      "2026-12",
    );
    expect(again.traffic.months["2026-12"]?.["immd-prod/visa"]?.completed).toBe(13);
  });

  it("keeps a live pod's values when it could not be read, and forgets pods that are gone", () => {
    const both = countRound(
      empty,
      [reading("p", 1, new Map([["80/200", 4]])), reading("q", 1, new Map([["80/200", 6]]))],
      new Set(["p", "q"]),
      "2026-12",
    );
    expect(Object.keys(both.traffic.baselines).sort()).toEqual(["p@1", "q@1"]);
    // q's read failed this round: its values stay, so its next read counts only what is new.
    const qMissed = countRound(
      both.traffic,
      [reading("p", 1, new Map([["80/200", 5]]))],
      new Set(["p", "q"]),
      "2026-12",
    );
    expect(Object.keys(qMissed.traffic.baselines).sort()).toEqual(["p@1", "q@1"]);
    const qBack = countRound(
      qMissed.traffic,
      [reading("q", 1, new Map([["80/200", 8]]))],
      new Set(["p", "q"]),
      "2026-12",
    );
    expect(qBack.traffic.months["2026-12"]?.["immd-prod/visa"]?.requests).toBe(5 + 8);
    // q is deleted: its values go.
    const qGone = countRound(
      qBack.traffic,
      [reading("p", 1, new Map([["80/200", 5]]))],
      new Set(["p"]),
      "2026-12",
    );
    expect(Object.keys(qGone.traffic.baselines)).toEqual(["p@1"]);
    expect(qGone.changed).toBe(true);
    // Nothing new: nothing to write.
    expect(
      countRound(qGone.traffic, [reading("p", 1, new Map([["80/200", 5]]))], new Set(["p"]), "2026-12")
        .changed,
    ).toBe(false);
  });

  it("counts a month's requests in that month", () => {
    const november = countRound(
      empty,
      [reading("p", 1, new Map([["80/200", 4]]))],
      new Set(["p"]),
      "2026-11",
    );
    const december = countRound(
      november.traffic,
      [reading("p", 1, new Map([["80/200", 9]]))],
      new Set(["p"]),
      "2026-12",
    );
    expect(december.traffic.months["2026-11"]?.["immd-prod/visa"]?.requests).toBe(4);
    expect(december.traffic.months["2026-12"]?.["immd-prod/visa"]?.requests).toBe(5);
  });

  it("refuses a store it cannot read rather than starting it again from zero", () => {
    expect(readTrafficStore({ months: "{not json" })).toBeInstanceOf(Error);
    expect(readTrafficStore({ months: '{"2026-12":{"a/b":{"requests":-1}}}' })).toBeInstanceOf(Error);
    expect(readTrafficStore(undefined)).toEqual({ months: {}, baselines: {} });
  });
});

describe("reports", () => {
  it("estimates a percentile inside its bucket, as Prometheus' histogram_quantile does", () => {
    // 100 requests: 90 within 50 ms, 10 more within 100 ms.
    const buckets = { "0.025": 40, "0.05": 90, "0.1": 100, "+Inf": 100 };
    expect(latencyQuantile(buckets, 0.95)).toEqual({ milliseconds: 75, bucket: { lower: 50, upper: 100 } });
    expect(latencyQuantile(buckets, 0.4)?.milliseconds).toBeCloseTo(25);
    expect(latencyQuantile({ "0.1": 0, "+Inf": 5 }, 0.95)).toEqual({
      milliseconds: 100,
      bucket: { lower: 100, upper: null },
    });
    expect(latencyQuantile({}, 0.95)).toBeUndefined();
  });

  it("states each target as met, missed by how much, or not measured and why", () => {
    const figures = performanceFigures({
      requests: 200,
      serverErrors: 2,
      started: 40,
      completed: 30,
      latency: { "0.05": 190, "0.1": 200, "+Inf": 200 },
    });
    expect(figures).toMatchObject({
      completionRatePercent: 75,
      serverErrorRatePercent: 1,
      p95Milliseconds: 50,
    });
    const statuses = targetStatuses(
      {
        monthlyCompletedTransactions: 50,
        completionRatePercent: 70,
        p95ResponseMilliseconds: 40,
        satisfactionPercent: 80,
      },
      figures,
    );
    expect(statuses).toEqual([
      { target: "monthlyCompletedTransactions", goal: 50, actual: 30, status: "missed", difference: -20 },
      { target: "completionRatePercent", goal: 70, actual: 75, status: "met", difference: 5 },
      expect.objectContaining({ target: "satisfactionPercent", status: "not-measured", actual: null }),
      { target: "p95ResponseMilliseconds", goal: 40, actual: 50, status: "missed", difference: 10 },
    ]);
    expect(costFigures(12_345, "HKD", false, 30).perCompletedTransactionMinor).toBeCloseTo(411.5);
    expect(costFigures(12_345, "HKD", false, 0).perCompletedTransactionMinor).toBeNull();
  });

  it("measures digital take-up against the transactions the department reported through its other channels", () => {
    const counts = { requests: 500, serverErrors: 0, started: 320, completed: 300, latency: {} };
    const targets = { digitalTakeUpPercent: 80 };
    // 300 online of 300 + 100 by counter, phone and post: 75 %, 5 points short of the goal.
    const reported = eserviceReport({
      environment: "prod",
      eservice: "visa",
      targets,
      counts,
      otherChannelTransactions: 100,
    });
    expect(reported.figures).toMatchObject({ otherChannelTransactions: 100, digitalTakeUpPercent: 75 });
    expect(reported.targets).toEqual([
      { target: "digitalTakeUpPercent", goal: 80, actual: 75, status: "missed", difference: -5 },
    ]);
    // Not reported: not measured, and the reason says what is missing and where to send it.
    const unreported = eserviceReport({ environment: "prod", eservice: "visa", targets, counts });
    expect(unreported.figures).toMatchObject({ otherChannelTransactions: null, digitalTakeUpPercent: null });
    expect(unreported.targets[0]).toMatchObject({ status: "not-measured", actual: null });
    expect(unreported.targets[0]?.reason).toContain("PUT .../other-channels/{period}");
    // Reported as none, and nothing online either: no share to give.
    const none = eserviceReport({
      environment: "prod",
      eservice: "visa",
      targets,
      counts: { ...counts, started: 0, completed: 0 },
      otherChannelTransactions: 0,
    });
    expect(none.targets[0]).toMatchObject({
      status: "not-measured",
      reason: "no transaction was completed through any channel in the period",
    });
    // Everything online: 100 %, the goal met.
    const allOnline = eserviceReport({
      environment: "prod",
      eservice: "visa",
      targets,
      counts,
      otherChannelTransactions: 0,
    });
    expect(allOnline.targets[0]).toMatchObject({ status: "met", actual: 100, difference: 20 });
  });

  it("scores a department's month: the e-service missing its targets first, with exactly which and by how much", () => {
    const counts = (started: number, completed: number, fastWithin: number) => ({
      requests: 1000,
      serverErrors: 0,
      started,
      completed,
      latency: { "0.1": fastWithin, "0.5": 1000, "+Inf": 1000 },
    });
    const statement = {
      currency: "HKD",
      finalized: true,
      lines: [
        { environment: "prod", eservice: "visa", amountMinor: 30_000 },
        { environment: "prod", eservice: "visa", amountMinor: 6_000 },
        { environment: "prod", eservice: "permits", amountMinor: 9_000 },
        { environment: "uat", eservice: "visa", amountMinor: 500 },
        { environment: "prod", amountMinor: 70_000 },
      ],
    };
    const card = scorecard([
      eserviceReport({
        environment: "prod",
        eservice: "visa",
        targets: { monthlyCompletedTransactions: 400, p95ResponseMilliseconds: 200 },
        counts: counts(500, 450, 990),
        statement,
      }),
      eserviceReport({
        environment: "prod",
        eservice: "permits",
        targets: {
          monthlyCompletedTransactions: 400,
          completionRatePercent: 80,
          p95ResponseMilliseconds: 200,
        },
        counts: counts(500, 300, 900),
        statement,
      }),
      eserviceReport({ environment: "prod", eservice: "library", counts: counts(0, 0, 1000), statement }),
    ]);
    expect(card.summary).toEqual({
      eservices: 3,
      missingTargets: 1,
      meetingEveryMeasuredTarget: 1,
      withoutTargets: 1,
    });
    expect(card.rows.map((r) => [r.eservice, r.verdict])).toEqual([
      ["permits", "misses-targets"],
      ["visa", "meets-every-measured-target"],
      ["library", "no-targets"],
    ]);
    // permits: 300 completed of 400 (-100), 60% of 80% (-20), p95 inside the 100-500 ms bucket: 100 of its
    // 1,000 requests are above 100 ms, so the 95th percentile is half way: 300 ms (+100).
    expect(card.rows[0]?.missed).toEqual([
      { target: "monthlyCompletedTransactions", goal: 400, actual: 300, difference: -100 },
      { target: "completionRatePercent", goal: 80, actual: 60, difference: -20 },
      { target: "p95ResponseMilliseconds", goal: 200, actual: 300, difference: 100 },
    ]);
    expect(card.rows[0]?.cost).toEqual({
      currency: "HKD",
      amountMinor: 9_000,
      perCompletedTransactionMinor: 30,
      statementFinalized: true,
    });
    expect(card.rows[1]?.cost?.amountMinor).toBe(36_000);
    expect(card.rows[1]?.cost?.perCompletedTransactionMinor).toBe(80);
    expect(card.rows[1]?.missed).toEqual([]);
    // Without a statement (a caller who may not read them), no cost.
    expect(eserviceReport({ environment: "prod", eservice: "visa" }).cost).toBeNull();
  });
});

import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import type { ChargebackStatement } from "../../controller/api/chargeback.ts";
import { eserviceReport, scorecard } from "../../lib/performance/report.ts";
import { scorecardCsv } from "../../portal-api/routes/performance.ts";
import { csvCell, statementCsv } from "../../portal-api/routes/statements.ts";

describe("statement CSV cells (OWASP CSV injection)", () => {
  it("neutralises every cell a spreadsheet would read as a formula", () => {
    for (const text of ["=1+2", "+1+2", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\t=1", "\r=1", "-", "+"])
      expect(csvCell(text).replace(/^"/, "")).toMatch(/^'/);
  });

  it("keeps plain numbers, negative ones included, as numbers", () => {
    expect(csvCell(-1250)).toBe("-1250");
    expect(csvCell("-12.5")).toBe("-12.5");
    expect(csvCell(0)).toBe("0");
    expect(csvCell("cpu")).toBe("cpu");
  });

  it("quotes cells with commas, quotes and line breaks (RFC 4180)", () => {
    expect(csvCell('a,"b"')).toBe('"a,""b"""');
    expect(csvCell("a\nb")).toBe('"a\nb"');
    expect(csvCell("\r=HYPERLINK()")).toBe(`"'\r=HYPERLINK()"`);
  });
});

describe("statement CSV export (csv-stringify)", () => {
  const awkward = 'Records plan "gold",\r\nline two\rafter a lone CR\nafter a lone LF';
  const statement: ChargebackStatement = {
    apiVersion: "govhost.io/v1alpha1",
    kind: "ChargebackStatement",
    metadata: { name: "immd-2026-11" },
    spec: {
      department: "immd",
      period: "2026-11",
      timeZone: "Asia/Hong_Kong",
      currency: "HKD",
      lines: [
        {
          environment: "prod",
          item: awkward,
          resource: "shared-service",
          quantity: "1",
          unit: "plan-month",
          unitPriceMinor: "150000",
          amountMinor: 150000,
          priceVersion: "govhost-default@2026-01-01",
        },
        {
          environment: "dev",
          eservice: "=cmd|' /C calc'!A0",
          item: "a lone\rcarriage return",
          resource: "cpu",
          quantity: "-12.5",
          unit: "core-hour",
          unitPriceMinor: "25",
          amountMinor: -313,
          priceVersion: "govhost-default@2026-01-01",
        },
      ],
      totalMinor: 149687,
      finalized: true,
    },
  };

  it("quotes every cell with a CR, LF, quote or comma, so a parser reads back exactly the values", () => {
    const text = statementCsv(statement);
    expect(text.endsWith("\r\n")).toBe(true);
    // Every record ends in CRLF; a CR or LF inside a value is always within quotes.
    expect(text).toContain(`"${awkward.replaceAll('"', '""')}"`);
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatchObject({
      department: "immd",
      period: "2026-11",
      currency: "HKD",
      environment: "prod",
      item: awkward,
      amountMinor: "150000",
    });
    expect(rows[1]).toMatchObject({
      eservice: "'=cmd|' /C calc'!A0",
      quantity: "-12.5",
      amountMinor: "-313",
    });
    expect(rows[2]).toMatchObject({ resource: "total", amountMinor: "149687", item: "", quantity: "" });
  });

  it("quotes a cell holding only a lone carriage return or line feed", () => {
    expect(csvCell("a\rb")).toBe('"a\rb"');
    expect(csvCell("a\nb")).toBe('"a\nb"');
  });
});

describe("scorecard CSV", () => {
  it("has one row per e-service with each target's goal, actual and status in its own columns", () => {
    const counts = { requests: 1000, serverErrors: 0, started: 500, completed: 300, latency: {} };
    const statement = {
      currency: "HKD",
      finalized: false,
      lines: [{ environment: "prod", eservice: "permits", amountMinor: 9_000 }],
    };
    const card = scorecard([
      eserviceReport({
        environment: "prod",
        eservice: "permits",
        targets: { monthlyCompletedTransactions: 400, satisfactionPercent: 70, availabilityPercent: 99.5 },
        counts,
        probes: { up: 990, down: 10, last: { at: "2026-12-03T10:00:00.000Z", up: true, result: "HTTP 200" } },
        statement,
      }),
      eserviceReport({ environment: "prod", eservice: "library" }),
    ]);
    const rows = parse(scorecardCsv({ department: "immd", period: "2026-12", ...card }), {
      columns: true,
    }) as Record<string, string>[];
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      department: "immd",
      period: "2026-12",
      eservice: "permits",
      verdict: "misses-targets",
      started: "500",
      completed: "300",
      completionRatePercent: "60",
      currency: "HKD",
      costMinor: "9000",
      costPerCompletedTransactionMinor: "30",
      "monthlyCompletedTransactions.goal": "400",
      "monthlyCompletedTransactions.actual": "300",
      "monthlyCompletedTransactions.status": "missed",
      "satisfactionPercent.goal": "70",
      "satisfactionPercent.actual": "",
      "satisfactionPercent.status": "not-measured",
      "p95ResponseMilliseconds.goal": "",
      probes: "1000",
      probesDown: "10",
      availabilityPercent: "99",
      "availabilityPercent.goal": "99.5",
      "availabilityPercent.actual": "99",
      "availabilityPercent.status": "missed",
    });
    expect(rows[1]).toMatchObject({
      eservice: "library",
      verdict: "no-targets",
      costMinor: "",
      requests: "0",
      probes: "0",
      availabilityPercent: "",
    });
  });
});

import { describe, expect, it } from "vitest";
import { forecastMinor, meteringSnapshot } from "../../controller/metering/snapshot.ts";
import { periodBounds } from "../../lib/chargeback/calendar.ts";
import { type AllocationChange, type PriceVersion, seriesOf } from "../../lib/chargeback/engine.ts";
import { parseDecimal } from "../../lib/chargeback/rational.ts";

const tz = "Asia/Hong_Kong";
const october = periodBounds("2026-10", tz);
const november = periodBounds("2026-11", tz);
const hour = 3_600_000;
const price = parseDecimal("35");
const versions: PriceVersion[] = [
  {
    id: "v1",
    validFrom: october.start - hour,
    prices: {
      cpu: price,
      memory: parseDecimal("4.5"),
      storage: parseDecimal("80"),
      "public-endpoint": price,
      eservice: price,
    },
  },
];
const at = (base: number, hours: number) => base + hours * hour;
const change = (t: number, amount: bigint, subject = "pod/a"): AllocationChange => ({
  at: t,
  subject,
  department: "immd",
  environment: "prod",
  resource: "cpu",
  amount,
});

describe("metering snapshot", () => {
  const changes = [
    change(at(october.end, -2), 1000n), // 2 h in October, 3 h in November
    change(at(november.start, 3), 0n),
    change(at(november.start, 4), 2000n, "pod/b"), // still running
  ];
  const now = at(november.start, 10);
  const snapshot = meteringSnapshot(seriesOf(changes), versions, tz, now);

  it("accumulates usage across months up to now and knows what is allocated now", () => {
    // a: 5 core-hours; b: 2 cores x 6 h = 12 core-hours -> 17 core-hours = 61,200 core-seconds.
    expect(Number(snapshot.usageAmountMs.get("prod|cpu")) / 1e6).toBe(61_200);
    expect(snapshot.allocated.get("prod|cpu")).toBe(2000n);
  });

  it("adds up billed cost over every month, and this month's total separately", () => {
    expect(snapshot.costMinor.get("cpu")).toBe(17 * 35);
    expect(snapshot.monthTotalMinor).toBe(15 * 35);
  });

  it("forecasts the month linearly from what was spent so far", () => {
    const monthHours = (november.end - november.start) / hour;
    expect(forecastMinor(snapshot)).toBe(Math.round((15 * 35 * monthHours) / 10));
  });
});

import { describe, expect, it } from "vitest";
import { periodBounds } from "../../lib/chargeback/calendar.ts";
import {
  type AllocationChange,
  integrate,
  type PriceVersion,
  statementLines,
} from "../../lib/chargeback/engine.ts";
import { usage } from "../../lib/chargeback/usage.ts";
import { parseWindow } from "../../portal-api/routes/usage.ts";
import { flatPriceVersion } from "../fixtures/prices.ts";

const tz = "Asia/Hong_Kong";
const versions: PriceVersion[] = [flatPriceVersion("card@2026", Date.parse("2026-01-01T00:00:00Z"))];
const nov = periodBounds("2026-11", tz);
const dec = periodBounds("2026-12", tz);
const hour = 3_600_000;
const change = (
  at: number,
  subject: string,
  resource: AllocationChange["resource"],
  amount: bigint,
  environment = "prod",
) => ({
  at,
  subject,
  department: "immd",
  environment,
  resource,
  amount,
});

describe("usage queries", () => {
  it("splits a window into steps whose sum is the whole window, exactly", () => {
    const changes = [
      change(nov.start, "pod/a", "cpu", 1500n),
      change(nov.start + 3 * hour, "pod/a", "cpu", 0n),
    ];
    const hourly = usage([{ department: "immd", changes }], versions, {
      start: nov.start,
      end: nov.start + 4 * hour,
      stepMs: hour,
      aggregate: "department",
      timeZone: tz,
    });
    expect(hourly.map((i) => i.quantities.cpu?.quantity)).toEqual(["1.5", "1.5", "1.5"]);
    expect(hourly.map((i) => i.costMinor)).toEqual([53, 53, 53]); // 1.5 core-hours x 35 = 52.5 each, rounded per step
    const whole = usage([{ department: "immd", changes }], versions, {
      start: nov.start,
      end: nov.start + 4 * hour,
      aggregate: "department",
      timeZone: tz,
    });
    expect(whole[0]?.quantities.cpu).toEqual({ quantity: "4.5", unit: "core-hour" });
    expect(whole[0]?.costMinor).toBe(158); // 157.5 rounded once for the whole window
  });

  it("prices monthly units by each month's length across a month boundary, matching the statements", () => {
    const changes = [change(nov.start, "pvc/a", "storage", 10n * 2n ** 30n)];
    const items = usage([{ department: "immd", changes }], versions, {
      start: nov.start,
      end: dec.end,
      aggregate: "resource",
      timeZone: tz,
    });
    expect(items).toEqual([
      expect.objectContaining({
        key: "storage",
        quantities: { storage: { quantity: "20", unit: "GiB-month" } },
        costMinor: 1600,
      }),
    ]);
    const novemberStatement = statementLines(integrate(changes, versions, nov), versions);
    expect(novemberStatement.totalMinor).toBe(800);
  });

  it("aggregates by environment and by e-service", () => {
    const ledgers = [
      {
        department: "immd",
        changes: [
          { ...change(nov.start, "pod/a", "cpu", 1000n, "prod"), eservice: "visa" },
          change(nov.start, "pod/b", "cpu", 1000n, "dev"),
        ],
      },
    ];
    const query = { start: nov.start, end: nov.start + hour, timeZone: tz };
    expect(usage(ledgers, versions, { ...query, aggregate: "environment" }).map((i) => i.key)).toEqual([
      "immd/dev",
      "immd/prod",
    ]);
    expect(usage(ledgers, versions, { ...query, aggregate: "eservice" }).map((i) => i.key)).toEqual([
      "immd/dev/(not an e-service)",
      "immd/prod/visa",
    ]);
  });
});

describe("usage windows", () => {
  const now = Date.parse("2026-11-23T03:30:00Z"); // 11:30 in Hong Kong
  it("understands today, month, lastmonth, durations and explicit ranges", () => {
    expect(parseWindow("today", now, tz)).toEqual({ start: Date.parse("2026-11-22T16:00:00Z"), end: now });
    expect(parseWindow("month", now, tz)).toEqual({ start: nov.start, end: now });
    expect(parseWindow("lastmonth", now, tz)).toEqual(periodBounds("2026-10", tz));
    expect(parseWindow("7d", now, tz)).toEqual({ start: now - 7 * 24 * hour, end: now });
    expect(parseWindow("2026-11-01T00:00:00Z,2026-11-02T00:00:00Z", now, tz)).toEqual({
      start: Date.parse("2026-11-01T00:00:00Z"),
      end: Date.parse("2026-11-02T00:00:00Z"),
    });
  });

  it("names the field and the fix for a window it does not understand", () => {
    expect(() => parseWindow("fortnight", now, tz)).toThrow(/not understood/);
    const reversed = (() => {
      try {
        parseWindow("2026-11-02T00:00:00Z,2026-11-01T00:00:00Z", now, tz);
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(reversed).toMatchObject({
      problem: { field: "query.window", fix: expect.stringContaining("RFC 3339") },
    });
  });
});

import { Value } from "typebox/value";
import { describe, expect, it } from "vitest";
import {
  ChannelCounts,
  channelsStoreData,
  oldestKeptMonth,
  otherChannelTotal,
  readChannelsStore,
  withChannelReport,
} from "../../lib/performance/channel-store.ts";

describe("the other-channel transactions store", () => {
  const report = (counter: number) => ({ channels: { counter }, reportedAt: "2026-12-01T00:00:00.000Z" });

  it("keeps one report per e-service and month, the latest replacing the earlier, and two years of months", () => {
    let months = withChannelReport(
      {},
      { month: "2026-11", eservice: "immd-prod/visa", report: report(5), currentMonth: "2026-12" },
    );
    months = withChannelReport(months, {
      month: "2026-11",
      eservice: "immd-prod/permits",
      report: report(7),
      currentMonth: "2026-12",
    });
    months = withChannelReport(months, {
      month: "2026-11",
      eservice: "immd-prod/visa",
      report: report(9),
      currentMonth: "2026-12",
    });
    expect(months).toEqual({ "2026-11": { "immd-prod/visa": report(9), "immd-prod/permits": report(7) } });
    // Round trip through the ConfigMap's data.
    expect(readChannelsStore(channelsStoreData(months))).toEqual(months);
    // 25 months: the current and the 24 before it; older ones are dropped at the next report.
    expect(oldestKeptMonth("2026-12")).toBe("2024-12");
    expect(oldestKeptMonth("2027-01")).toBe("2025-01");
    const later = withChannelReport(
      { "2024-12": { "immd-prod/visa": report(1) }, "2024-11": { "immd-prod/visa": report(1) } },
      { month: "2026-12", eservice: "immd-prod/visa", report: report(2), currentMonth: "2026-12" },
    );
    expect(Object.keys(later).sort()).toEqual(["2024-12", "2026-12"]);
  });

  it("adds the channels up, and refuses counts that are not whole, negative, huge or of an unknown channel", () => {
    expect(otherChannelTotal({ counter: 120, phone: 30, post: 0, email: 7, other: 3 })).toBe(160);
    expect(otherChannelTotal({})).toBe(0);
    expect(Value.Check(ChannelCounts, { counter: 1, phone: 2 })).toBe(true);
    for (const bad of [{ counter: 1.5 }, { counter: -1 }, { counter: 2_000_000_000 }, { fax: 1 }])
      expect(Value.Check(ChannelCounts, bad), JSON.stringify(bad)).toBe(false);
  });

  it("reads a store it did not write as an error, not as no reports", () => {
    expect(readChannelsStore(undefined)).toEqual({});
    expect(readChannelsStore({ channels: "{not json" })).toBeInstanceOf(Error);
    expect(
      readChannelsStore({ channels: JSON.stringify({ "2026-11": { x: { channels: { counter: -3 } } } }) }),
    ).toBeInstanceOf(Error);
  });
});

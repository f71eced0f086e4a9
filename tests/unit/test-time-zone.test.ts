import { describe, expect, it } from "vitest";
import { calendarZoneAwayFromMonthEdges } from "../integration/support/test-time-zone.ts";

describe("the integration tests' calendar zone", () => {
  it("is Hong Kong's mid-month and UTC around a Hong Kong month edge", () => {
    expect(calendarZoneAwayFromMonthEdges(Date.parse("2026-11-15T12:00:00Z"))).toBe("Asia/Hong_Kong");
    // 00:48 on 1 December in Hong Kong; 16:48 on 30 November in UTC.
    expect(calendarZoneAwayFromMonthEdges(Date.parse("2026-11-30T16:48:00Z"))).toBe("UTC");
    // 23:30 on 30 November in Hong Kong: too close to its month's end.
    expect(calendarZoneAwayFromMonthEdges(Date.parse("2026-11-30T15:30:00Z"))).toBe("UTC");
  });
});

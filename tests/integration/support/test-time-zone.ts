import { periodBounds, periodOf } from "../../../lib/chargeback/calendar.ts";

const hour = 3_600_000;

/**
 * A calendar for tests that backdate pods or assert one month's statement: the platform's default zone, or
 * UTC when a month boundary in Hong Kong is within `marginMs` of now (the two zones' boundaries are 8 h
 * apart, so one of them always leaves room). Such tests run their controller with GOVHOST_TIMEZONE set to it,
 * so that every fixture window lies inside one statement month whatever the time of day the suite runs.
 */
export function calendarZoneAwayFromMonthEdges(now = Date.now(), marginMs = 2 * hour): string {
  for (const zone of ["Asia/Hong_Kong", "UTC"]) {
    const { start, end } = periodBounds(periodOf(now, zone), zone);
    if (now - start >= marginMs && end - now >= marginMs) return zone;
  }
  throw new Error(
    `no test calendar zone leaves ${marginMs} ms to a month edge at ${new Date(now).toISOString()}`,
  );
}

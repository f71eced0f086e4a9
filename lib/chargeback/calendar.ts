// Calendar months in a configurable time zone (default Asia/Hong_Kong), as UTC instants in milliseconds.

const formats = new Map<string, Intl.DateTimeFormat>();

function formatIn(timeZone: string): Intl.DateTimeFormat {
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formats.set(timeZone, format);
  }
  return format;
}

function offsetMs(instant: number, timeZone: string): number {
  const parts = formatIn(timeZone).formatToParts(new Date(instant));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(
    get("year"),
    get("month") - 1,
    get("day"),
    get("hour"),
    get("minute"),
    get("second"),
  );
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/** The UTC instant of local midnight on the first day of `year`-`month` (1-12) in `timeZone`. */
export function monthStart(year: number, month: number, timeZone: string): number {
  const local = Date.UTC(year, month - 1, 1);
  let guess = local - offsetMs(local, timeZone);
  guess = local - offsetMs(guess, timeZone); // a second pass settles offsets that change near the instant
  return guess;
}

/** [start, end) of a `YYYY-MM` period in `timeZone`, in epoch milliseconds. */
export function periodBounds(period: string, timeZone: string): { start: number; end: number } {
  const match = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(period);
  if (!match) throw new Error(`period "${period}" must be YYYY-MM`);
  const year = Number(match[1]);
  const month = Number(match[2]);
  const next = month === 12 ? { year: year + 1, month: 1 } : { year, month: month + 1 };
  return { start: monthStart(year, month, timeZone), end: monthStart(next.year, next.month, timeZone) };
}

/** The `YYYY-MM` period containing `instant` in `timeZone`. */
export function periodOf(instant: number, timeZone: string): string {
  const local = new Date(instant + offsetMs(instant, timeZone));
  return `${local.getUTCFullYear()}-${String(local.getUTCMonth() + 1).padStart(2, "0")}`;
}

/** The `YYYY-MM-DD` day containing `instant` in `timeZone`. */
export function dayOf(instant: number, timeZone: string): string {
  return `${periodOf(instant, timeZone)}-${String(new Date(instant + offsetMs(instant, timeZone)).getUTCDate()).padStart(2, "0")}`;
}

const quarterHour = 900_000;
const dayStarts = new Map<string, Map<number, number>>();

/**
 * The UTC instant of local midnight starting the day that contains `instant` in `timeZone`. Every UTC
 * offset and transition falls on a quarter hour, so the answer is the same within one and is cached.
 */
export function dayStart(instant: number, timeZone: string): number {
  let cache = dayStarts.get(timeZone);
  if (!cache) {
    cache = new Map();
    dayStarts.set(timeZone, cache);
  }
  const quarter = Math.floor(instant / quarterHour);
  let start = cache.get(quarter);
  if (start === undefined) {
    if (cache.size > 100_000) cache.clear();
    start = computeDayStart(instant, timeZone);
    cache.set(quarter, start);
  }
  return start;
}

function computeDayStart(instant: number, timeZone: string): number {
  const day = 86_400_000;
  const localMidnight = Math.floor((instant + offsetMs(instant, timeZone)) / day) * day;
  let guess = localMidnight - offsetMs(localMidnight, timeZone);
  guess = localMidnight - offsetMs(guess, timeZone);
  return guess;
}

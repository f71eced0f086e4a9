import Type, { type Static } from "typebox";
import { parseStoreField } from "./traffic-store.ts";

// The transactions a department made through its other channels (counter, phone, post, email, other) in a
// month, per e-service, as the department reports them through the API: the denominator's other half of
// digital take-up (docs/performance.md, "Digital take-up"). Kept by the portal API beside the citizens'
// ratings, in its own namespace, one small ConfigMap per department; every report is an audited write.

export const channelsStoreName = (department: string): string => `govhost-channels-${department}`;

export const channelNames = ["counter", "phone", "post", "email", "other"] as const;
export type ChannelName = (typeof channelNames)[number];

/** The most a channel may report for one e-service in a month (well past any real service's volume). */
export const maxChannelTransactions = 1_000_000_000;

/** Months kept: the current one and the 24 before it (two years of comparisons). */
export const channelMonthsKept = 25;

const storeKey = "channels";

const Count = Type.Integer({ minimum: 0, maximum: maxChannelTransactions });

export const ChannelCounts = Type.Object(
  Object.fromEntries(channelNames.map((channel) => [channel, Type.Optional(Count)])) as Record<
    ChannelName,
    Type.TOptional<typeof Count>
  >,
  { additionalProperties: false },
);
export type ChannelCounts = Static<typeof ChannelCounts>;

export const ChannelReport = Type.Object({
  channels: ChannelCounts,
  /** When the department last reported the month (RFC 3339). */
  reportedAt: Type.String(),
});
export type ChannelReport = Static<typeof ChannelReport>;

/** Month (YYYY-MM) → e-service (`<namespace>/<name>`) → the month's report. */
export const ChannelMonths = Type.Record(Type.String(), Type.Record(Type.String(), ChannelReport));
export type ChannelMonths = Static<typeof ChannelMonths>;

export function readChannelsStore(data: Record<string, string> | undefined): ChannelMonths | Error {
  return parseStoreField(data?.[storeKey], ChannelMonths, "other-channels store");
}

export function channelsStoreData(months: ChannelMonths): Record<string, string> {
  return { [storeKey]: JSON.stringify(months) };
}

/** The transactions through every other channel together. */
export function otherChannelTotal(channels: ChannelCounts): number {
  return channelNames.reduce((sum, channel) => sum + (channels[channel] ?? 0), 0);
}

/** The first month still kept when `current` is the current month (YYYY-MM). */
export function oldestKeptMonth(current: string): string {
  const [year, month] = current.split("-").map(Number) as [number, number];
  const index = year * 12 + (month - 1) - (channelMonthsKept - 1);
  return `${String(Math.floor(index / 12)).padStart(4, "0")}-${String((index % 12) + 1).padStart(2, "0")}`;
}

/**
 * The stored months with `report` as the e-service's for `month` (replacing any earlier one), and months
 * older than those kept dropped. A copy: the input is not changed.
 */
export function withChannelReport(
  months: ChannelMonths,
  change: { month: string; eservice: string; report: ChannelReport; currentMonth: string },
): ChannelMonths {
  const oldest = oldestKeptMonth(change.currentMonth);
  const kept = Object.fromEntries(Object.entries(months).filter(([month]) => month >= oldest));
  return { ...kept, [change.month]: { ...kept[change.month], [change.eservice]: change.report } };
}

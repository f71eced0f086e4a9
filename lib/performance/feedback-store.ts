import Type, { type Static } from "typebox";
import { parseStoreField } from "./traffic-store.ts";

// Citizens' ratings of e-services (1–5) and the comments that came with them, as the portal API keeps them,
// per department in its own namespace (`govhost-feedback`, which holds nothing else but the departments'
// other-channel counts; docs/performance.md): the ratings in one small ConfigMap (what reports and the
// public catalogue read), the comments in another (read by the department only). Nothing about the person
// is kept: no address, no identifier, and a comment's day, not its time.

export const feedbackNamespace = "govhost-feedback";

export const ratingsStoreName = (department: string): string => `govhost-ratings-${department}`;
export const commentsStoreName = (department: string): string => `govhost-comments-${department}`;

/** The label that tells the ratings stores apart (the controller lists them for the public figures). */
export const ratingsComponent = { "govhost.io/component": "ratings" } as const;
/** The label of the comments stores (the controller lists them to drop expired comments). */
export const commentsComponent = { "govhost.io/component": "comments" } as const;

const ratingsKey = "ratings";
const commentsKey = "comments";

const Count = Type.Integer({ minimum: 0 });

/** How many ratings of 1, 2, 3, 4 and 5. */
export const RatingCounts = Type.Array(Count, { minItems: 5, maxItems: 5 });
export type RatingCounts = Static<typeof RatingCounts>;

/** Month (YYYY-MM) → e-service (`<namespace>/<name>`) → ratings. */
export const RatingMonths = Type.Record(Type.String(), Type.Record(Type.String(), RatingCounts));
export type RatingMonths = Static<typeof RatingMonths>;

export const maxCommentLength = 1000;

export const StoredComment = Type.Object({
  eservice: Type.String(),
  /** The day it was sent (YYYY-MM-DD, platform time zone). */
  day: Type.String({ pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$" }),
  rating: Type.Integer({ minimum: 1, maximum: 5 }),
  text: Type.String({ maxLength: maxCommentLength }),
});
export type StoredComment = Static<typeof StoredComment>;

const StoredComments = Type.Array(StoredComment);

export function readRatingsStore(data: Record<string, string> | undefined): RatingMonths | Error {
  return parseStoreField(data?.[ratingsKey], RatingMonths, "ratings store");
}

export function ratingsStoreData(ratings: RatingMonths): Record<string, string> {
  return { [ratingsKey]: JSON.stringify(ratings) };
}

export function readCommentsStore(data: Record<string, string> | undefined): StoredComment[] | Error {
  if (data?.[commentsKey] === undefined) return [];
  return parseStoreField(data[commentsKey], StoredComments, "comments store");
}

export function commentsStoreData(comments: StoredComment[]): Record<string, string> {
  return { [commentsKey]: JSON.stringify(comments) };
}

export interface FeedbackLimits {
  /** Comments are kept this many days, then dropped. */
  retentionDays: number;
  /** At most this many comments per e-service and day are kept (the rating counts beyond it). */
  commentsPerEServiceAndDay: number;
  /** The comments of a department together stay under this many UTF-8 bytes (oldest dropped first). */
  commentBytes: number;
}

export const defaultFeedbackLimits: FeedbackLimits = {
  retentionDays: 90,
  commentsPerEServiceAndDay: 200,
  commentBytes: 600 * 1024,
};

export interface Feedback {
  eservice: string;
  month: string;
  day: string;
  rating: number;
  comment?: string;
}

/** The ratings with one more (a copy: the input is not changed). */
export function addRating(ratings: RatingMonths, feedback: Feedback): RatingMonths {
  const month = { ...ratings[feedback.month] };
  const counts = [...(month[feedback.eservice] ?? [0, 0, 0, 0, 0])];
  counts[feedback.rating - 1] = (counts[feedback.rating - 1] ?? 0) + 1;
  month[feedback.eservice] = counts;
  return { ...ratings, [feedback.month]: month };
}

/**
 * The comments with this one added if it may be kept (the e-service's comments for the day are not full),
 * and those past their retention or over the size bound dropped, oldest first. A copy.
 */
export function addComment(
  comments: readonly StoredComment[],
  feedback: Feedback & { comment: string },
  limits: FeedbackLimits,
): { comments: StoredComment[]; kept: boolean } {
  const current = retained(comments, feedback.day, limits.retentionDays);
  const sameDay = current.filter((c) => c.eservice === feedback.eservice && c.day === feedback.day).length;
  if (sameDay >= limits.commentsPerEServiceAndDay) return { comments: current, kept: false };
  const added = {
    eservice: feedback.eservice,
    day: feedback.day,
    rating: feedback.rating,
    text: feedback.comment,
  };
  return { comments: withinBytes([...current, added], limits.commentBytes), kept: true };
}

/** The comments sent on or after `today` minus `days` (days as calendar dates, YYYY-MM-DD). */
export function retained(comments: readonly StoredComment[], today: string, days: number): StoredComment[] {
  const oldest = new Date(Date.parse(`${today}T00:00:00Z`) - days * 86_400_000).toISOString().slice(0, 10);
  return comments.filter((c) => c.day >= oldest);
}

function withinBytes(comments: StoredComment[], bytes: number): StoredComment[] {
  let size = Buffer.byteLength(JSON.stringify(comments));
  let first = 0;
  while (size > bytes && first < comments.length) {
    size -= Buffer.byteLength(JSON.stringify(comments[first])) + 1;
    first++;
  }
  return comments.slice(first);
}

export interface Satisfaction {
  ratings: number;
  /** Ratings of 4 or 5 ÷ ratings × 100 (satisfied or very satisfied); null with none. */
  satisfiedPercent: number | null;
  /** How many of each rating, 1 to 5. */
  distribution: RatingCounts;
}

export function satisfactionOf(counts: RatingCounts | undefined): Satisfaction {
  const distribution = counts ?? [0, 0, 0, 0, 0];
  const ratings = distribution.reduce((sum, n) => sum + n, 0);
  const satisfied = (distribution[3] ?? 0) + (distribution[4] ?? 0);
  return { ratings, satisfiedPercent: ratings > 0 ? (100 * satisfied) / ratings : null, distribution };
}

import { describe, expect, it } from "vitest";
import { dayOf } from "../../lib/chargeback/calendar.ts";
import {
  addComment,
  addRating,
  commentsStoreData,
  defaultFeedbackLimits,
  type Feedback,
  type RatingMonths,
  ratingsStoreData,
  readCommentsStore,
  readRatingsStore,
  retained,
  type StoredComment,
  satisfactionOf,
} from "../../lib/performance/feedback-store.ts";
import { eserviceReport } from "../../lib/performance/report.ts";
import { commentProblem } from "../../portal-api/routes/feedback.ts";

const visa = "immd-prod/visa";
const feedback = (rating: number, day = "2026-12-03"): Feedback => ({
  eservice: visa,
  month: day.slice(0, 7),
  day,
  rating,
});

describe("the feedback stores", () => {
  it("count each rating in its month, and read back what they store", () => {
    const none: RatingMonths = {};
    let ratings = none;
    for (const rating of [5, 4, 1]) ratings = addRating(ratings, feedback(rating));
    ratings = addRating(ratings, feedback(5, "2026-11-30"));
    expect(ratings).toEqual({
      "2026-12": { [visa]: [1, 0, 0, 1, 1] },
      "2026-11": { [visa]: [0, 0, 0, 0, 1] },
    });
    expect(none).toEqual({});
    expect(readRatingsStore(ratingsStoreData(ratings))).toEqual(ratings);
  });

  it("keep a comment with its day and rating only, drop comments past their retention, and cap a day's", () => {
    const old = { eservice: visa, day: "2026-09-03", rating: 3, text: "old" };
    const kept = { eservice: visa, day: "2026-09-04", rating: 3, text: "kept" };
    // 90 days before 2026-12-03 is 2026-09-04.
    expect(retained([old, kept], "2026-12-03", 90)).toEqual([kept]);
    const added = addComment([old, kept], { ...feedback(4), comment: "new" }, defaultFeedbackLimits);
    expect(added).toEqual({
      kept: true,
      comments: [kept, { eservice: visa, day: "2026-12-03", rating: 4, text: "new" }],
    });
    expect(readCommentsStore(commentsStoreData(added.comments))).toEqual(added.comments);

    const limits = { ...defaultFeedbackLimits, commentsPerEServiceAndDay: 2 };
    let comments: StoredComment[] = [];
    const kepts: boolean[] = [];
    for (const text of ["a", "b", "c"]) {
      const result = addComment(comments, { ...feedback(2), comment: text }, limits);
      comments = result.comments;
      kepts.push(result.kept);
    }
    expect(kepts).toEqual([true, true, false]);
    expect(comments.map((c) => c.text)).toEqual(["a", "b"]);
  });

  it("keep a department's comments under their size bound by dropping the oldest", () => {
    const limits = { ...defaultFeedbackLimits, commentBytes: 1_000 };
    let comments: StoredComment[] = [];
    for (let i = 0; i < 20; i++)
      comments = addComment(
        comments,
        { ...feedback(3), comment: `${i} ${"x".repeat(100)}` },
        limits,
      ).comments;
    // The newest comments, as many as fit: one more (the next older) would not.
    const kept = comments.map((c) => Number(c.text.split(" ")[0]));
    const first = kept[0] as number;
    expect(kept).toEqual(Array.from({ length: 20 - first }, (_, i) => first + i));
    expect(Buffer.byteLength(JSON.stringify(comments))).toBeLessThanOrEqual(1_000);
    const older = { ...(comments[0] as StoredComment), text: `${first - 1} ${"x".repeat(100)}` };
    expect(Buffer.byteLength(JSON.stringify([older, ...comments]))).toBeGreaterThan(1_000);
  });

  it("refuse a store that is not their own shape rather than overwrite it", () => {
    expect(String(readRatingsStore({ ratings: "[" }))).toContain("not JSON");
    expect(
      String(readRatingsStore({ ratings: JSON.stringify({ "2026-12": { [visa]: [1, 2, 3] } }) })),
    ).toContain("does not match");
    expect(String(readCommentsStore({ comments: '[{"eservice":"x"}]' }))).toContain("does not match");
    expect(readRatingsStore(undefined)).toEqual({});
    expect(readCommentsStore(undefined)).toEqual([]);
  });
});

describe("a comment's day", () => {
  it("is the calendar day in the platform's time zone, on both sides of its midnight", () => {
    // 15:59:59 UTC is 23:59:59 in Hong Kong (UTC+8); a second later it is the next day there.
    expect(dayOf(Date.parse("2026-12-31T15:59:59Z"), "Asia/Hong_Kong")).toBe("2026-12-31");
    expect(dayOf(Date.parse("2026-12-31T16:00:00Z"), "Asia/Hong_Kong")).toBe("2027-01-01");
    expect(dayOf(Date.parse("2026-03-01T04:00:00Z"), "America/New_York")).toBe("2026-02-28");
    expect(dayOf(Date.parse("2026-03-09T05:00:00Z"), "UTC")).toBe("2026-03-09");
  });
});

describe("satisfaction", () => {
  it("is the share of ratings of 4 or 5 (satisfied or very satisfied)", () => {
    expect(satisfactionOf([1, 0, 1, 1, 1])).toEqual({
      ratings: 4,
      satisfiedPercent: 50,
      distribution: [1, 0, 1, 1, 1],
    });
    expect(satisfactionOf(undefined)).toEqual({
      ratings: 0,
      satisfiedPercent: null,
      distribution: [0, 0, 0, 0, 0],
    });
  });

  it("is judged against the e-service's target, or said not measured with no rating", () => {
    const rated = eserviceReport({
      environment: "prod",
      eservice: "visa",
      targets: { satisfactionPercent: 75 },
      ratings: [0, 1, 0, 1, 2],
    });
    expect(rated.figures).toMatchObject({ ratings: 4, satisfactionPercent: 75 });
    expect(rated.targets).toEqual([
      { target: "satisfactionPercent", goal: 75, actual: 75, status: "met", difference: 0 },
    ]);
    const unrated = eserviceReport({
      environment: "prod",
      eservice: "visa",
      targets: { satisfactionPercent: 75 },
    });
    expect(unrated.targets[0]).toMatchObject({
      status: "not-measured",
      reason: "no citizen rated the e-service in the period",
    });
  });
});

describe("what a comment may hold", () => {
  it("takes plain text in any language with line breaks, refuses control and text-direction characters and link lists", () => {
    expect(commentProblem("申請很順利。\nThank you!\tSee https://www.gov.hk/en")).toBeUndefined();
    expect(commentProblem("bell \u0007")).toContain("control");
    expect(commentProblem("reversed \u202e text")).toContain("text-direction");
    expect(commentProblem("http://a.example www.b.example")).toBeUndefined();
    expect(commentProblem("http://a.example www.b.example HTTPS://c.example")).toContain("more than 2 links");
  });
});

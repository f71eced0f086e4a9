import { labels } from "../controller/api/group.ts";
import type { KubeClient } from "../lib/kube/client.ts";
import {
  addComment,
  addRating,
  commentsComponent,
  commentsStoreData,
  commentsStoreName,
  type Feedback,
  type FeedbackLimits,
  type RatingMonths,
  ratingsComponent,
  ratingsStoreData,
  ratingsStoreName,
  readCommentsStore,
  readRatingsStore,
  retained,
  type StoredComment,
} from "../lib/performance/feedback-store.ts";
import { readStore, updateStore } from "./api-store.ts";

// Adds one citizen's rating (then its comment) to its department's stores (portal-api/api-store.ts: written
// conditionally, so no rating is lost or counted twice).

export async function readRatings(kube: KubeClient, department: string): Promise<RatingMonths> {
  return readStore(kube, ratingsStoreName(department), readRatingsStore);
}

export async function readComments(kube: KubeClient, department: string): Promise<StoredComment[]> {
  return readStore(kube, commentsStoreName(department), readCommentsStore);
}

/**
 * Stores the rating, then the comment, dropping comments past their retention on the way (so they are
 * deleted at the department's next feedback after they expire, and never shown after it either). A
 * comment that cannot be stored once the rating is leaves the rating counted: the citizen is told the
 * comment was not kept, so sending again would not rate twice.
 */
export async function storeFeedback(
  kube: KubeClient,
  log: { warn(fields: object, message: string): void },
  department: string,
  feedback: Feedback,
  limits: FeedbackLimits,
): Promise<{ commentKept: boolean }> {
  const departmentLabel = { [labels.department]: department };
  await updateStore(
    kube,
    ratingsStoreName(department),
    { ...departmentLabel, ...ratingsComponent },
    readRatingsStore,
    (ratings) => ({ data: ratingsStoreData(addRating(ratings, feedback)) }),
  );
  const { comment } = feedback;
  let commentKept = false;
  try {
    await updateStore(
      kube,
      commentsStoreName(department),
      { ...departmentLabel, ...commentsComponent },
      readCommentsStore,
      (comments) => {
        if (comment) {
          const added = addComment(comments, { ...feedback, comment }, limits);
          commentKept = added.kept;
          if (added.kept) return { data: commentsStoreData(added.comments) };
        }
        const kept = retained(comments, feedback.day, limits.retentionDays);
        return kept.length < comments.length ? { data: commentsStoreData(kept) } : undefined;
      },
    );
  } catch (error) {
    commentKept = false;
    log.warn({ err: error, department }, "the comments could not be updated; the rating was stored");
  }
  return { commentKept };
}

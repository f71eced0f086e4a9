import { labels } from "../controller/api/group.ts";
import { KubeApiError, type KubeClient, type KubeObject } from "../lib/kube/client.ts";
import { resources } from "../lib/kube/resources.ts";
import {
  addComment,
  addRating,
  commentsStoreData,
  commentsStoreName,
  type Feedback,
  type FeedbackLimits,
  feedbackNamespace,
  type RatingMonths,
  ratingsComponent,
  ratingsStoreData,
  ratingsStoreName,
  readCommentsStore,
  readRatingsStore,
  retained,
  type StoredComment,
} from "../lib/performance/feedback-store.ts";

// Adds one citizen's rating (then its comment) to its department's stores: read, add, write conditionally
// (resourceVersion); two API replicas writing at once make one of them read again and retry, so no rating
// is lost or counted twice.

type StoreObject = KubeObject & { data?: Record<string, string> };

const attempts = 5;

export class FeedbackStoreUnreadable extends Error {}

async function find(kube: KubeClient, name: string): Promise<StoreObject | undefined> {
  return kube.find<StoreObject>(resources.configMap, name, feedbackNamespace);
}

export async function readRatings(kube: KubeClient, department: string): Promise<RatingMonths> {
  const ratings = readRatingsStore((await find(kube, ratingsStoreName(department)))?.data);
  if (ratings instanceof Error) throw new FeedbackStoreUnreadable(ratings.message);
  return ratings;
}

export async function readComments(kube: KubeClient, department: string): Promise<StoredComment[]> {
  const comments = readCommentsStore((await find(kube, commentsStoreName(department)))?.data);
  if (comments instanceof Error) throw new FeedbackStoreUnreadable(comments.message);
  return comments;
}

/** Read, change, write conditionally; again from the read when another writer came first. */
async function update<T>(
  kube: KubeClient,
  name: string,
  extraLabels: Record<string, string>,
  read: (data: Record<string, string> | undefined) => T | Error,
  change: (value: T) => { data: Record<string, string> } | undefined,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    const current = await find(kube, name);
    const value = read(current?.data);
    // A store that does not parse is left for an operator: overwriting it would lose what it holds.
    if (value instanceof Error) throw new FeedbackStoreUnreadable(value.message);
    const changed = change(value);
    if (!changed) return false;
    try {
      if (current) await kube.replace<StoreObject>({ ...current, data: changed.data });
      else
        await kube.create<StoreObject>({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: {
            name,
            namespace: feedbackNamespace,
            labels: { [labels.managedBy]: "govhost", ...extraLabels },
          },
          data: changed.data,
        });
      return true;
    } catch (error) {
      // Written meanwhile (409 on replace, or on create when another replica created it): read again.
      if (attempt >= attempts || !(error instanceof KubeApiError && error.code === 409)) throw error;
    }
  }
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
  await update(
    kube,
    ratingsStoreName(department),
    { ...departmentLabel, ...ratingsComponent },
    readRatingsStore,
    (ratings) => ({ data: ratingsStoreData(addRating(ratings, feedback)) }),
  );
  const { comment } = feedback;
  let commentKept = false;
  try {
    await update(kube, commentsStoreName(department), departmentLabel, readCommentsStore, (comments) => {
      if (comment) {
        const added = addComment(comments, { ...feedback, comment }, limits);
        commentKept = added.kept;
        if (added.kept) return { data: commentsStoreData(added.comments) };
      }
      const kept = retained(comments, feedback.day, limits.retentionDays);
      return kept.length < comments.length ? { data: commentsStoreData(kept) } : undefined;
    });
  } catch (error) {
    commentKept = false;
    log.warn({ err: error, department }, "the comments could not be updated; the rating was stored");
  }
  return { commentKept };
}

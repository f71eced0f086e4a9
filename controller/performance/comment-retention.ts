import type { Logger } from "pino";
import { Counter, type Registry } from "prom-client";
import { dayOf } from "../../lib/chargeback/calendar.ts";
import { KubeApiError, type KubeClient, type KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import {
  commentsComponent,
  commentsStoreData,
  feedbackNamespace,
  readCommentsStore,
  retained,
} from "../../lib/performance/feedback-store.ts";

// Citizens' comments are kept a stated number of days (docs/performance.md, "Satisfaction"). The portal API
// drops expired ones when a department gets feedback; this loop drops them from every department's store,
// so a quiet department's comments go on time too. Stores are read a few at a time (one can be 600 KiB).

type StoreObject = KubeObject & { data?: Record<string, string> };

const pageSize = 10;

export interface CommentRetentionSettings {
  retentionDays: number;
  timeZone: string;
}

/** The loop the leader runs: one pass each interval, counted (the passes and the comments deleted). */
export class CommentRetention {
  private readonly passes: Counter;
  private readonly deleted: Counter;
  private readonly settings: CommentRetentionSettings;
  private readonly deps: { client: KubeClient; log: Pick<Logger, "warn" | "info">; registry: Registry };

  constructor(
    settings: CommentRetentionSettings,
    deps: { client: KubeClient; log: Pick<Logger, "warn" | "info">; registry: Registry },
  ) {
    this.settings = settings;
    this.deps = deps;
    this.passes = new Counter({
      name: "govhost_feedback_retention_passes_total",
      help: "Passes over every department's feedback comments to delete those past their retention, by outcome",
      labelNames: ["outcome"],
      registers: [deps.registry],
    });
    this.deleted = new Counter({
      name: "govhost_feedback_comments_expired_total",
      help: "Feedback comments deleted because they were past their retention",
      registers: [deps.registry],
    });
  }

  async pruneOnce(): Promise<void> {
    try {
      const deleted = await pruneExpiredComments(this.deps.client, this.deps.log, this.settings);
      this.deleted.inc(deleted);
      this.passes.inc({ outcome: "done" });
      if (deleted > 0) this.deps.log.info({ deleted }, "feedback comments past their retention deleted");
    } catch (error) {
      this.passes.inc({ outcome: "failed" });
      throw error;
    }
  }
}

/** One pass over every comments store; resolves to how many comments it deleted. */
export async function pruneExpiredComments(
  client: KubeClient,
  log: Pick<Logger, "warn">,
  settings: CommentRetentionSettings,
  now = Date.now(),
): Promise<number> {
  const today = dayOf(now, settings.timeZone);
  const selector = Object.entries(commentsComponent)
    .map(([key, value]) => `${key}=${value}`)
    .join(",");
  let pruned = 0;
  let next: string | undefined;
  do {
    const page = await client.list<StoreObject>(resources.configMap, {
      namespace: feedbackNamespace,
      labelSelector: selector,
      limit: pageSize,
      ...(next ? { continue: next } : {}),
    });
    for (const store of page.items) {
      const comments = readCommentsStore(store.data);
      if (comments instanceof Error) {
        log.warn({ store: store.metadata?.name, err: comments }, "comments store unreadable: left as it is");
        continue;
      }
      const kept = retained(comments, today, settings.retentionDays);
      if (kept.length === comments.length) continue;
      try {
        // Conditional (the listed resourceVersion): a comment added meanwhile is never overwritten; the
        // next pass, or that feedback's own write, drops the expired ones then.
        await client.replace<StoreObject>({ ...store, data: commentsStoreData(kept) });
        pruned += comments.length - kept.length;
      } catch (error) {
        if (!(error instanceof KubeApiError && error.code === 409)) throw error;
      }
    }
    next = page.metadata.continue || undefined;
  } while (next);
  return pruned;
}

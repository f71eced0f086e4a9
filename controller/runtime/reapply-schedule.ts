import { fnv1a } from "../../lib/fnv1a.ts";

/**
 * When a reconcile must apply every child even if its caches say they are as applied (applied-digest.ts): at
 * least once per `everyMs` for each key, as a backstop for changes the cache cannot show. The first due
 * time of each key is spread over the period by a hash of the key, so a controller that starts with
 * thousands of keys does not re-apply them all at once.
 */
export class ReapplySchedule {
  private readonly lastFull = new Map<string, number>();
  private readonly everyMs: number;
  private readonly now: () => number;

  constructor(everyMs: number, now: () => number = Date.now) {
    this.everyMs = everyMs;
    this.now = now;
  }

  /** Whether this reconcile of `key` must apply everything. */
  due(key: string): boolean {
    const now = this.now();
    let last = this.lastFull.get(key);
    if (last === undefined) {
      last = now - (fnv1a(key) % this.everyMs);
      this.lastFull.set(key, last);
    }
    return now - last >= this.everyMs;
  }

  /** Records a full apply of `key` that succeeded. */
  applied(key: string): void {
    this.lastFull.set(key, this.now());
  }

  forget(key: string): void {
    this.lastFull.delete(key);
  }
}

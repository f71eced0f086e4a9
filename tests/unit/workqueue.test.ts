import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { WorkQueue } from "../../controller/runtime/workqueue.ts";

describe("WorkQueue delays", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("a retry after an error is not swallowed by a pending long requeue (#17 finding 16)", async () => {
    const calls: number[] = [];
    let fail = false;
    const queue = new WorkQueue(
      async () => {
        calls.push(Date.now());
        if (fail) throw new Error("API server unavailable");
        return { requeueAfterMs: 24 * 3_600_000 };
      },
      { baseRetryMs: 200 },
    );
    queue.start();
    queue.add("immd-prod/visa-status");
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(1);
    // A watch event runs it again while the one-day requeue is pending; this time it fails.
    fail = true;
    queue.add("immd-prod/visa-status");
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(2);
    // The 200 ms retry runs although a requeue a day later was already waiting.
    fail = false;
    await vi.advanceTimersByTimeAsync(250);
    expect(calls).toHaveLength(3);
    await queue.stop();
  });

  it("keeps the earlier deadline when a later one is asked for", async () => {
    const calls: number[] = [];
    const queue = new WorkQueue(async () => {
      calls.push(Date.now());
      return undefined;
    });
    queue.start();
    const start = Date.now();
    queue.add("k", 1_000);
    queue.add("k", 60_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls.map((t) => t - start)).toEqual([1_000]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(1);
    await queue.stop();
  });
});

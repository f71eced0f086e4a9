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

describe("WorkQueue guarantees", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("deduplicates waiting keys, never runs one key twice at once, and re-runs a key changed meanwhile", async () => {
    const running = new Set<string>();
    const runs: string[] = [];
    let overlap = false;
    const release: (() => void)[] = [];
    const queue = new WorkQueue(
      async (key) => {
        if (running.has(key)) overlap = true;
        running.add(key);
        runs.push(key);
        await new Promise<void>((resolve) => release.push(resolve));
        running.delete(key);
        return undefined;
      },
      { concurrency: 4 },
    );
    queue.add("a");
    queue.add("a");
    queue.add("b");
    expect(queue.depth).toBe(2);
    queue.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toEqual(["a", "b"]);
    // "a" changes while it is being reconciled: it runs again afterwards, not alongside.
    queue.add("a");
    queue.add("a");
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toEqual(["a", "b"]);
    for (const done of release.splice(0)) done();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toEqual(["a", "b", "a"]);
    for (const done of release.splice(0)) done();
    await vi.advanceTimersByTimeAsync(0);
    expect(overlap).toBe(false);
    await queue.stop();
  });

  it("retries failures with exponential backoff up to the maximum, and forgets them on success", async () => {
    const at: number[] = [];
    let failures = 5;
    const retries: number[] = [];
    const queue = new WorkQueue(
      async () => {
        at.push(Date.now());
        if (failures-- > 0) throw new Error("conflict");
        return undefined;
      },
      { baseRetryMs: 100, maxRetryMs: 500, onError: (_key, _error, retryInMs) => retries.push(retryInMs) },
    );
    queue.start();
    queue.add("k");
    await vi.advanceTimersByTimeAsync(10_000);
    expect(retries).toEqual([100, 200, 400, 500, 500]);
    expect(at).toHaveLength(6);
    // A later failure starts again from the base delay.
    failures = 1;
    queue.add("k");
    await vi.advanceTimersByTimeAsync(1_000);
    expect(retries.at(-1)).toBe(100);
    await queue.stop();
  });

  it("stop waits for the reconciles in flight and starts no new ones", async () => {
    let finished = 0;
    let started = 0;
    const queue = new WorkQueue(
      async () => {
        started++;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        finished++;
        return undefined;
      },
      { concurrency: 1 },
    );
    queue.start();
    queue.add("a");
    queue.add("b");
    await vi.advanceTimersByTimeAsync(0);
    const stopped = queue.stop();
    await vi.advanceTimersByTimeAsync(1_000);
    await stopped;
    expect(finished).toBe(1);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(started).toBe(1);
  });
});

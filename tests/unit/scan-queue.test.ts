import { describe, expect, it } from "vitest";
import type { ScanResult } from "../../controller/accessibility/findings.ts";
import type { ScanTarget } from "../../controller/accessibility/scanner.ts";
import { ScanQueue } from "../../controller/eservice/scan-queue.ts";

const target = (baseUrl: string): ScanTarget => ({
  baseUrl,
  paths: ["/"],
  standard: "WCAG21-AA",
  clientRendered: false,
  languages: ["en"],
});

const result = (digest: string): ScanResult => ({
  findings: [],
  lookAndFeel: [],
  errors: [],
  tiers: ["jsdom"],
  contentDigest: digest,
});

/** A scanner whose scans finish when the test says so; it records starts, aborts and what runs now. */
function controlledScanner() {
  const started: string[] = [];
  const running = new Set<string>();
  const aborted: string[] = [];
  const finishers = new Map<string, () => void>();
  let peak = 0;
  const scanner = {
    scan: (t: ScanTarget, signal?: AbortSignal) =>
      new Promise<ScanResult>((resolve) => {
        started.push(t.baseUrl);
        running.add(t.baseUrl);
        peak = Math.max(peak, running.size);
        signal?.addEventListener("abort", () => aborted.push(t.baseUrl));
        finishers.set(t.baseUrl, () => {
          running.delete(t.baseUrl);
          resolve(result(t.baseUrl));
        });
      }),
  };
  const finish = async (baseUrl: string) => {
    const done = finishers.get(baseUrl);
    if (!done) throw new Error(`${baseUrl} is not running`);
    finishers.delete(baseUrl);
    done();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { scanner, started, running, aborted, finish, peak: () => peak };
}

const department = (key: string) => key.split("/")[0]?.split("-")[0] ?? key;

describe("scan queue: fair between departments, capped, bounded in time", () => {
  it("runs at most one scan per department and the global cap in all", async () => {
    const s = controlledScanner();
    const done: string[] = [];
    const queue = new ScanQueue(s.scanner, (key) => done.push(key), {
      concurrency: 2,
      departmentOf: department,
    });
    for (const key of ["a-prod/1", "a-prod/2", "a-dev/3", "b-prod/1", "c-prod/1"])
      queue.request(key, "k", target(`http://${key}`));
    // a's first and b's first; a's others wait for a, c waits for a slot.
    expect(s.started).toEqual(["http://a-prod/1", "http://b-prod/1"]);
    expect(queue.running).toBe(2);
    expect(queue.depth).toBe(5);
    await s.finish("http://a-prod/1");
    // a's second request was waiting before c asked at all: a goes next, c right after b.
    expect(s.started.at(-1)).toBe("http://a-prod/2");
    await s.finish("http://b-prod/1");
    expect(s.started.at(-1)).toBe("http://c-prod/1");
    expect(s.running).toEqual(new Set(["http://a-prod/2", "http://c-prod/1"]));
    await s.finish("http://a-prod/2");
    expect(s.started.at(-1)).toBe("http://a-dev/3");
    await s.finish("http://c-prod/1");
    await s.finish("http://a-dev/3");
    expect(s.peak()).toBe(2);
    expect(done).toEqual(["a-prod/1", "b-prod/1", "a-prod/2", "c-prod/1", "a-dev/3"]);
    expect(queue.depth).toBe(0);
  });

  it("lets a department that asks for many scans have one turn in each round, not all the slots", async () => {
    const s = controlledScanner();
    const queue = new ScanQueue(s.scanner, () => {}, { concurrency: 3, departmentOf: department });
    for (let i = 0; i < 10; i++) queue.request(`noisy-prod/${i}`, "k", target(`http://noisy/${i}`));
    queue.request("quiet-prod/x", "k", target("http://quiet/x"));
    queue.request("calm-prod/y", "k", target("http://calm/y"));
    // Ten requests from one department take one slot; the other two departments are not behind them.
    expect(s.started).toEqual(["http://noisy/0", "http://quiet/x", "http://calm/y"]);
    await s.finish("http://noisy/0");
    expect(s.started.at(-1)).toBe("http://noisy/1");
    expect(s.running.size).toBe(3);
  });

  it("fails a scan that misses its deadline, aborts it, and gives the slot to the next in turn", async () => {
    const s = controlledScanner();
    const done: string[] = [];
    let slowDone: () => void = () => {};
    const slowFailed = new Promise<void>((resolve) => {
      slowDone = resolve;
    });
    const queue = new ScanQueue(
      s.scanner,
      (key) => {
        done.push(key);
        if (key === "slow-prod/hang") slowDone();
      },
      { concurrency: 1, scanTimeoutMs: 50, departmentOf: department },
    );
    queue.request("slow-prod/hang", "k", target("http://slow/hang"));
    queue.request("fast-prod/ok", "k", target("http://fast/ok"));
    expect(s.started).toEqual(["http://slow/hang"]);
    await slowFailed;
    expect(s.aborted).toEqual(["http://slow/hang"]);
    expect(done).toEqual(["slow-prod/hang"]);
    const outcome = queue.request("slow-prod/hang", "k", target("http://slow/hang"));
    expect(outcome).toMatchObject({
      state: "done",
      result: {
        findings: [],
        errors: [{ path: "*", message: expect.stringContaining("did not finish within 0.1 s") }],
      },
    });
    // The next department's scan started as soon as the slot was free.
    expect(s.started).toEqual(["http://slow/hang", "http://fast/ok"]);
    await s.finish("http://fast/ok");
    expect(done).toEqual(["slow-prod/hang", "fast-prod/ok"]);
  });

  it("reports a scanner that throws as a failed scan", async () => {
    const done: string[] = [];
    const queue = new ScanQueue(
      { scan: () => Promise.reject(new Error("Chromium is not installed")) },
      (key) => done.push(key),
    );
    queue.request("a-prod/x", "k", target("http://a"));
    await new Promise((r) => setTimeout(r, 0));
    expect(queue.request("a-prod/x", "k", target("http://a"))).toMatchObject({
      state: "done",
      result: { errors: [{ path: "*", message: "Chromium is not installed" }] },
    });
    expect(done).toEqual(["a-prod/x"]);
  });

  it("keeps only the newest key per object: a newer request waits for its department's turn", async () => {
    const s = controlledScanner();
    const done: string[] = [];
    const queue = new ScanQueue(s.scanner, (key) => done.push(key), {
      concurrency: 2,
      departmentOf: department,
    });
    queue.request("a-prod/x", "k1", target("http://v1"));
    expect(queue.request("a-prod/x", "k1", target("http://v1")).state).toBe("running");
    queue.request("a-prod/x", "k2", target("http://v2"));
    // Department a is busy with k1: k2 does not run beside it, even with a free slot.
    expect(s.started).toEqual(["http://v1"]);
    await s.finish("http://v1");
    expect(done).toEqual([]);
    expect(s.started).toEqual(["http://v1", "http://v2"]);
    await s.finish("http://v2");
    expect(done).toEqual(["a-prod/x"]);
    const outcome = queue.request("a-prod/x", "k2", target("http://v2"));
    expect(outcome.state === "done" && outcome.result.contentDigest).toBe("http://v2");
    queue.forget("a-prod/x", "k2");
    expect(queue.request("a-prod/x", "k2", target("http://v2")).state).toBe("queued");
  });

  it("groups by namespace when no department mapping is given, and stop() aborts what runs", async () => {
    const s = controlledScanner();
    const queue = new ScanQueue(s.scanner, () => {});
    queue.request("ns1/a", "k", target("http://ns1/a"));
    queue.request("ns1/b", "k", target("http://ns1/b"));
    queue.request("ns2/a", "k", target("http://ns2/a"));
    // Default cap 2, one per namespace.
    expect(s.started).toEqual(["http://ns1/a", "http://ns2/a"]);
    queue.stop();
    expect(s.aborted.sort()).toEqual(["http://ns1/a", "http://ns2/a"]);
    await s.finish("http://ns1/a");
    expect(s.started).toHaveLength(2);
  });
});

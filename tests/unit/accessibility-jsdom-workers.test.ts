import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { ScanTimeoutError } from "../../controller/accessibility/deadline.ts";
import { JsdomWorkers } from "../../controller/accessibility/jsdom-tier.ts";

const page = (body: string) => ({
  url: "http://portal.immd-prod.svc/",
  path: "/",
  html: `<!doctype html><html lang="en"><head><title>Permits</title></head><body><main><h1>Permits</h1>${body}</main></body></html>`,
});
const options = { tags: ["wcag2a", "wcag2aa"], languages: ["en"] };

describe("jsdom tier in worker processes", () => {
  const workers = new JsdomWorkers({ maxIdle: 1 });
  afterAll(() => workers.close());

  it("runs none of the page's code: scripts and handler attributes that forge axe change nothing", async () => {
    const forge =
      "window.axe = { run: () => Promise.resolve({ violations: [] }) }; Array.prototype.filter = () => [];";
    const result = await workers.scan(
      page(`<script>${forge}</script><img src="x.png" onerror="${forge}"><svg onload="${forge}"></svg>`),
      options,
      { timeoutMs: 30_000 },
    );
    expect(result.findings.map((f) => f.id)).toContain("image-alt");
  });

  it("fails a page past its time limit, and the next page gets a working worker", async () => {
    await expect(workers.scan(page("<p>slow</p>"), options, { timeoutMs: 1 })).rejects.toThrow(
      new ScanTimeoutError("the DOM rules did not finish on the page within 0 s"),
    );
    const result = await workers.scan(page('<img src="a.png">'), options, { timeoutMs: 30_000 });
    expect(result.findings.map((f) => f.id)).toEqual(["image-alt"]);
  });

  it("reuses a worker, and retires one whose heap has grown past the bound", async () => {
    const reusing = new JsdomWorkers({ maxIdle: 1 });
    const retiring = new JsdomWorkers({ maxIdle: 1, retireAboveMb: 1 });
    try {
      for (let i = 0; i < 3; i++) {
        await reusing.scan(page('<img src="a.png">'), options, { timeoutMs: 30_000 });
        const result = await retiring.scan(page('<img src="a.png">'), options, { timeoutMs: 30_000 });
        expect(result.findings.map((f) => f.id)).toEqual(["image-alt"]);
      }
      expect(reusing.started).toBe(1);
      expect(retiring.started).toBe(3);
    } finally {
      await Promise.all([reusing.close(), retiring.close()]);
    }
  }, 120_000);

  it("collects the closed windows of earlier pages: the heap does not grow page after page", async () => {
    const collecting = new JsdomWorkers({ maxIdle: 1, collectAboveMb: 0 });
    try {
      const heapAfter: number[] = [];
      for (let i = 0; i < 20; i++) {
        await collecting.scan(page(`<p>page ${i}</p>`), options, { timeoutMs: 30_000 });
        heapAfter.push(collecting.lastHeap.usedBytes);
      }
      expect(collecting.started).toBe(1);
      // Without collecting, each page's window (about 3.5 MiB) stays: 15 more pages hold about 50 MiB more.
      const grown = ((heapAfter[19] as number) - (heapAfter[4] as number)) / 1024 / 1024;
      expect(grown).toBeLessThan(16);
    } finally {
      await collecting.close();
    }
  }, 120_000);

  it("runs each page in a process of its own, with none of the controller's environment, which ends on close", async () => {
    const isolated = new JsdomWorkers({ maxIdle: 1 });
    let pid = 0;
    try {
      await isolated.scan(page('<img src="a.png">'), options, { timeoutMs: 30_000 });
      expect(isolated.pids).toHaveLength(1);
      pid = isolated.pids[0] as number;
      expect(pid).not.toBe(process.pid);
      // Only what Node sets for the channel to the controller.
      const environment = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter(Boolean);
      expect(environment.map((v) => v.split("=")[0]).sort()).toEqual([
        "NODE_CHANNEL_FD",
        "NODE_CHANNEL_SERIALIZATION_MODE",
      ]);
      // Its memory is its own: the worker's resident memory is reported, and is not this process's.
      expect(isolated.lastHeap.rssBytes).toBeGreaterThan(0);
    } finally {
      await isolated.close();
    }
    expect(isolated.pids).toEqual([]);
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  }, 120_000);

  it("names a page too large for a worker's heap, and the next page gets a working worker", async () => {
    const small = new JsdomWorkers({ maxIdle: 1, maxHeapMb: 64 });
    try {
      const huge = page("<p><a href='#'>link</a></p>".repeat(50_000));
      await expect(small.scan(huge, options, { timeoutMs: 60_000 })).rejects.toThrow(
        "the page's DOM is too large to check",
      );
      const result = await small.scan(page('<img src="a.png">'), options, { timeoutMs: 30_000 });
      expect(result.findings.map((f) => f.id)).toEqual(["image-alt"]);
      expect(small.started).toBe(2);
    } finally {
      await small.close();
    }
  }, 120_000);

  it("stops when the scan is aborted", async () => {
    const controller = new AbortController();
    const scanning = workers.scan(page("<p>x</p>"), options, {
      timeoutMs: 30_000,
      signal: controller.signal,
    });
    controller.abort(new Error("the scan did not finish within 180 s"));
    await expect(scanning).rejects.toThrow("the scan did not finish within 180 s");
  });
});

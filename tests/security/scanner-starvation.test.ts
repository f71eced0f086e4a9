// Issue #17, finding 5: one department's pages that never finish scanning (a script that spins forever
// after load, a response that never ends, more hanging pages than a scan may take time for) must not keep
// another department's e-service waiting. Every step of a scan is bounded, a scan that runs out of time
// fails with a reason, and the queue runs at most one scan per department under a global cap.
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ScanResult } from "../../controller/accessibility/findings.ts";
import { AccessibilityScanner, type ScanTarget } from "../../controller/accessibility/scanner.ts";
import { ScanQueue } from "../../controller/eservice/scan-queue.ts";
import { requireChromium } from "../integration/support/chromium.ts";

const html = (title: string, extra = "") =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><main><h1>${title}</h1><p>Opening hours: 9:00 to 17:00.</p>${extra}</main></body></html>`;

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`),
    ),
  );
}

describe("scanner: a hanging tenant cannot starve other departments", () => {
  let hostile: Server;
  let fair: Server;
  let hostileUrl = "";
  let fairUrl = "";
  const scanner = new AccessibilityScanner({
    browserOptions: { navigationTimeoutMs: 6_000, axeTimeoutMs: 6_000, settleMs: 500 },
    fetchTimeoutMs: 6_000,
  });

  beforeAll(async () => {
    requireChromium();
    hostile = createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      if (req.url?.startsWith("/never")) {
        // Headers and half a page, then nothing: the load event never comes.
        res.write("<!doctype html><html lang='en'><head><title>Never</title></head><body><main>");
        return;
      }
      // The renderer's main thread spins as soon as the page has loaded: nothing else can run there.
      res.end(
        html(
          "Spin",
          "<script>addEventListener('load', () => setTimeout(() => { for (;;) {} }, 0));</script>",
        ),
      );
    });
    fair = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(html("Library opening hours", '<img src="data:," >'));
    });
    hostileUrl = await listen(hostile);
    fairUrl = await listen(fair);
  });

  afterAll(async () => {
    await scanner.close();
    hostile?.closeAllConnections();
    hostile?.close();
    fair?.close();
  });

  it("another department's scan completes first and promptly; the hung scans fail with a reason", async () => {
    const started = performance.now();
    const finished = new Map<string, number>();
    let allDone: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      allDone = resolve;
    });
    const keys = ["slow-prod/spin", "slow-prod/never", "slow-dev/many", "fast-prod/portal"];
    const queue = new ScanQueue(
      scanner,
      (key) => {
        finished.set(key, performance.now() - started);
        if (finished.size === keys.length) allDone();
      },
      {
        concurrency: 2,
        scanTimeoutMs: 15_000,
        // Both slow-* namespaces belong to department "slow".
        departmentOf: (key) => key.split("-")[0] ?? key,
      },
    );
    const target = (baseUrl: string, paths: string[], clientRendered: boolean): ScanTarget => ({
      baseUrl,
      paths,
      standard: "WCAG21-AA",
      clientRendered,
      languages: ["en"],
    });
    // The hostile department asks first, three times over.
    queue.request("slow-prod/spin", "k", target(hostileUrl, ["/spin"], true));
    queue.request("slow-prod/never", "k", target(hostileUrl, ["/never"], false));
    queue.request(
      "slow-dev/many",
      "k",
      target(hostileUrl, ["/never-1", "/never-2", "/never-3", "/never-4"], true),
    );
    queue.request("fast-prod/portal", "k", target(fairUrl, ["/"], true));

    await done;
    const result = (key: string): ScanResult => {
      const outcome = queue.request(key, "k", target(fairUrl, ["/"], true));
      if (outcome.state !== "done") throw new Error(`${key} is ${outcome.state}`);
      return outcome.result;
    };
    // The fair department did not wait for any of the hostile scans.
    const fast = finished.get("fast-prod/portal") as number;
    expect(fast).toBeLessThan(15_000);
    for (const key of keys.slice(0, 3)) expect(fast).toBeLessThan(finished.get(key) as number);
    expect(result("fast-prod/portal").errors).toEqual([]);
    expect(result("fast-prod/portal").findings.map((f) => f.id)).toContain("image-alt");

    // Each hung scan ended with a reason that says which limit it hit; none has findings to pass on.
    expect(result("slow-prod/spin").errors).toEqual([
      // The first step that asks the spinning page anything is the size check before axe.
      { path: "/spin", message: "the page did not answer within 6 s (the page kept the browser busy)" },
    ]);
    expect(result("slow-prod/never").errors).toEqual([
      { path: "/never", message: expect.stringMatching(/did not arrive in full within 6 s/) },
    ]);
    expect(result("slow-dev/many").errors).toEqual([
      { path: "*", message: expect.stringMatching(/did not finish within 15 s/) },
    ]);
    // One hostile scan at a time, each bounded: all three are over well before a minute.
    expect(Math.max(...finished.values())).toBeLessThan(45_000);
  }, 90_000);
});

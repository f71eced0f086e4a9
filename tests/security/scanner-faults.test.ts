// Issue #18, faults: the accessibility scanner given a 50 MB page and a redirect loop, in both ways a page is
// scanned. Each scan ends (the test's timeout is the bound) with an error that names the page and what was
// wrong, and the healthy page beside them is still scanned. The fetch reads at most the page cap (5 MiB) and
// Chromium's copy of the page is refused above it; the test process's RSS growth is printed for the record
// (it includes the first scan's start-up: jsdom's worker, axe).
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccessibilityScanner } from "../../controller/accessibility/scanner.ts";
import { requireChromium } from "../integration/support/chromium.ts";

const html = (title: string, body = "") =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><main><h1>${title}</h1>${body}</main></body></html>`;

const fiftyMegabytes = 50 * 1024 * 1024;

describe("scanner: oversized and looping pages end in a clear finding", () => {
  let site: Server;
  let origin = "";
  const scanner = new AccessibilityScanner({
    browserOptions: { navigationTimeoutMs: 20_000, axeTimeoutMs: 20_000, settleMs: 200 },
    fetchTimeoutMs: 20_000,
  });

  beforeAll(async () => {
    requireChromium();
    const chunk = `<p>${"x".repeat(1022)}</p>`;
    site = createServer((req, res) => {
      if (req.url === "/loop") {
        res.writeHead(302, { location: "/loop-again" });
        return res.end();
      }
      if (req.url === "/loop-again") {
        res.writeHead(302, { location: "/loop" });
        return res.end();
      }
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      if (req.url !== "/huge") return res.end(html("Opening hours", "<p>9:00 to 17:00.</p>"));
      // A valid page of 50 MB, streamed (the server does not hold it either).
      res.write(`<!doctype html><html lang="en"><head><title>Huge</title></head><body><main><h1>Huge</h1>`);
      let sent = 0;
      const more = () => {
        while (sent < fiftyMegabytes) {
          sent += chunk.length * 64;
          if (!res.write(chunk.repeat(64))) return void res.once("drain", more);
        }
        res.end("</main></body></html>");
      };
      more();
    });
    await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await scanner.close();
    site?.closeAllConnections();
    site?.close();
  });

  for (const clientRendered of [false, true]) {
    it(`${clientRendered ? "client-rendered (Chromium only)" : "server-rendered (fetch and jsdom, then Chromium)"}: names the oversized page and the loop, and scans the healthy page`, async () => {
      const rssBefore = process.memoryUsage().rss;
      const result = await scanner.scan({
        baseUrl: origin,
        paths: ["/huge", "/loop", "/"],
        standard: "WCAG21-AA",
        clientRendered,
        languages: ["en"],
      });
      const grew = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
      process.stderr.write(
        `scanner faults (${clientRendered ? "client" : "server"}-rendered): test process RSS grew ${grew.toFixed(0)} MiB; errors: ${JSON.stringify(result.errors)}\n`,
      );
      const message = (path: string) => result.errors.find((e) => e.path === path)?.message ?? "";
      expect(result.errors.map((e) => e.path).sort()).toEqual(["/huge", "/loop"]);
      expect(message("/huge")).toMatch(/larger than \d+ bytes/);
      expect(message("/loop")).toMatch(/redirect/i);
      // The healthy page was scanned: a tier counts only once a page got through it.
      expect(result.tiers).toEqual(clientRendered ? ["chromium"] : ["chromium", "jsdom"]);
    }, 180_000);
  }
});

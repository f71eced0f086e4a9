// Issue #17, finding 4 (first half): a broken page must not be able to forge its accessibility result.
// The page below fails three blocking rules (an image without a text alternative, a field without a
// label, low-contrast text) and tries every trick its own JavaScript has: it traps `window.axe` so an
// injected axe is replaced by one that reports nothing, patches the built-ins axe and the driver rely on
// (Array, JSON, Promise, Object, DOM prototypes, getComputedStyle), and its event handler attributes try
// the same in the jsdom tier. Both tiers must still report the violations.
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccessibilityScanner } from "../../controller/accessibility/scanner.ts";
import { requireChromium } from "../integration/support/chromium.ts";

const forge = `
  const fake = { version: "4.14.1", run: () => Promise.resolve({ violations: [], passes: [] }), configure() {}, reset() {} };
  Object.defineProperty(window, "axe", { get: () => fake, set: () => {}, configurable: false });
  const empty = () => [];
  Array.prototype.filter = empty;
  Array.prototype.map = function () { return []; };
  Array.prototype.push = function () { return 0; };
  JSON.stringify = () => "[]";
  JSON.parse = () => [];
  const then = Promise.prototype.then;
  Promise.prototype.then = function (ok, ko) {
    return then.call(this, (v) => (ok ? ok(v && typeof v === "object" && "violations" in v ? { ...v, violations: [] } : v) : v), ko);
  };
  Object.keys = () => [];
  Element.prototype.getAttribute = function (name) { return name === "alt" || name === "aria-label" ? "described" : null; };
  Element.prototype.hasAttribute = () => true;
  Object.defineProperty(HTMLImageElement.prototype, "alt", { get: () => "described" });
  window.getComputedStyle = () => new Proxy({}, { get: (_, p) => (p === "getPropertyValue" ? () => "rgb(0, 0, 0)" : "rgb(0, 0, 0)") });
  document.querySelectorAll = () => [];
  window.__forged = true;
`;

const brokenPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Apply for a permit</title>
<script>${forge}</script></head>
<body onload="${forge.replace(/"/g, "&quot;").replace(/\n/g, " ")}">
<main><h1>Apply for a permit</h1>
<p style="color: #b5b5b5; background: #ffffff">Read the conditions before you apply.</p>
<img src="/pixel.png" onerror="window.axe = { run: () => Promise.resolve({ violations: [] }) }">
<form><input type="text" name="passport"></form>
</main></body></html>`;

const pixel = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);

describe("scanner: a broken page cannot forge a passing accessibility result", () => {
  let site: Server;
  let origin = "";
  const scanner = new AccessibilityScanner();

  beforeAll(async () => {
    requireChromium();
    site = createServer((req, res) => {
      if (req.url === "/pixel.png") {
        res.writeHead(200, { "content-type": "image/png" });
        return res.end(pixel);
      }
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(brokenPage);
    });
    await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await scanner.close();
    site?.close();
  });

  const failed = (result: Awaited<ReturnType<AccessibilityScanner["scan"]>>) =>
    result.findings.map((f) => `${f.tier}:${f.id}`).sort();

  it("client-rendered: every rule runs in Chromium, out of the page's reach", async () => {
    const result = await scanner.scan({
      baseUrl: origin,
      paths: ["/"],
      standard: "WCAG21-AA",
      clientRendered: true,
      languages: ["en"],
    });
    expect(result.errors).toEqual([]);
    expect(failed(result)).toEqual(
      expect.arrayContaining(["chromium:color-contrast", "chromium:image-alt", "chromium:label"]),
    );
    const imageAlt = result.findings.find((f) => f.id === "image-alt");
    expect(imageAlt).toMatchObject({ impact: "critical", nodes: 1, targets: ["img"] });
  });

  it("server-rendered: the jsdom tier runs none of the page's code, the layout tier none that reaches axe", async () => {
    const result = await scanner.scan({
      baseUrl: origin,
      paths: ["/"],
      standard: "WCAG21-AA",
      clientRendered: false,
      languages: ["en"],
    });
    expect(result.errors).toEqual([]);
    expect(failed(result)).toEqual(
      expect.arrayContaining(["chromium:color-contrast", "jsdom:image-alt", "jsdom:label"]),
    );
  });

  it("a page that shadows document.documentElement with a named element is still seen whole", async () => {
    const clobbering = await new Promise<Server>((resolve) => {
      const server = createServer((_req, res) => {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end(
          `<!doctype html><html lang="en"><head><title>Clobbered</title></head><body><main><h1>Clobbered</h1><img name="documentElement" src="data:,"><img src="data:,"><form name="querySelectorAll"></form></main></body></html>`,
        );
      });
      server.listen(0, "127.0.0.1", () => resolve(server));
    });
    try {
      const base = `http://127.0.0.1:${(clobbering.address() as { port: number }).port}`;
      for (const clientRendered of [true, false]) {
        const result = await scanner.scan({
          baseUrl: base,
          paths: ["/"],
          standard: "WCAG21-AA",
          clientRendered,
          languages: ["en"],
        });
        // In the page's own world document.documentElement is the first <img>, and axe saw nothing.
        expect(result.errors).toEqual([]);
        expect(result.findings.find((f) => f.id === "image-alt")).toMatchObject({
          tier: clientRendered ? "chromium" : "jsdom",
          nodes: 2,
        });
      }
    } finally {
      clobbering.close();
    }
  }, 120_000);
});

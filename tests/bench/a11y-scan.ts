// Benchmark: accessibility scan time per page, per tier, on a realistic government page (header, 40-link
// navigation, breadcrumbs, long article with headings and a 25-row table, a 12-field form, footer with 40
// links; about 17 KB of HTML). The page is served on localhost; Chromium is Debian's, driven by playwright-core.
//   npm run bench -- a11y-scan [--runs 30]
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { BrowserTier } from "../../controller/accessibility/browser-tier.ts";
import { JsdomWorkers, scanWithJsdom } from "../../controller/accessibility/jsdom-tier.ts";
import { fetchPage } from "../../controller/accessibility/page-fetch.ts";
import { AccessibilityScanner } from "../../controller/accessibility/scanner.ts";
import { browserOnlyRules, tagsFor } from "../../controller/accessibility/standards.ts";
import { formatMs, report, summarize } from "./_stats.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "30" } } });
const runs = Number(values.runs);

function realisticPage(): string {
  const links = (n: number, prefix: string) =>
    Array.from({ length: n }, (_, i) => `<li><a href="/${prefix}/${i}">${prefix} service ${i}</a></li>`).join(
      "",
    );
  const paragraphs = Array.from(
    { length: 40 },
    (_, i) =>
      `<h3>Section ${i}</h3><p>Applicants must submit the form together with supporting documents. Processing of section ${i} takes ten working days; <a href="/faq/${i}">read the frequently asked questions</a> for details on fees, exemptions and appeals.</p>`,
  ).join("");
  const rows = Array.from(
    { length: 25 },
    (_, i) =>
      `<tr><th scope="row">Fee item ${i}</th><td>HK$${(i + 1) * 45}</td><td>${i % 3 ? "Online" : "Counter"}</td></tr>`,
  ).join("");
  const fields = Array.from(
    { length: 12 },
    (_, i) =>
      `<div><label for="f${i}">Field ${i}</label><input id="f${i}" name="f${i}" type="text" autocomplete="off"></div>`,
  ).join("");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Apply for a permit | Department of Examples</title>
<style>body{font-family:sans-serif;color:#1b1b1b;background:#fff;max-width:70rem;margin:auto} nav li{display:inline-block;margin:4px} a{color:#0b4f9c} .muted{color:#767676} table{border-collapse:collapse} td,th{padding:6px;border:1px solid #ccc}</style></head>
<body><a href="#content">Skip to main content</a>
<header><img src="/logo.svg" alt="Department of Examples"><a href="/zh-hk/" hreflang="zh-HK" lang="zh-HK">繁體中文</a>
<nav aria-label="Main"><ul>${links(40, "nav")}</ul></nav></header>
<nav aria-label="Breadcrumb"><ol><li><a href="/">Home</a></li><li><a href="/permits">Permits</a></li><li aria-current="page">Apply</li></ol></nav>
<main id="content"><h1>Apply for a permit</h1><p class="muted">Last reviewed 1 November 2026</p>${paragraphs}
<h2>Fees</h2><table><caption>Fees by item</caption><thead><tr><th scope="col">Item</th><th scope="col">Fee</th><th scope="col">Channel</th></tr></thead><tbody>${rows}</tbody></table>
<h2>Application form</h2><form>${fields}<button type="submit">Submit application</button></form></main>
<footer><ul>${links(40, "footer")}</ul><p>© 2026 Department of Examples</p></footer></body></html>`;
}

const html = realisticPage();
const server = createServer((req, res) => {
  if (req.url?.endsWith(".svg")) return void res.writeHead(204).end();
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html);
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
const tags = tagsFor("WCAG22-AA");

async function measure(name: string, fn: () => Promise<string[]>): Promise<void> {
  await fn(); // warm-up (axe parse, browser launch)
  const samples: number[] = [];
  let findings: string[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    findings = await fn();
    samples.push(performance.now() - started);
  }
  const s = summarize(samples);
  report(`${name} (${runs} runs, ${Math.round(html.length / 1024)} KB page)`, {
    p50: formatMs(s.p50),
    p95: formatMs(s.p95),
    max: formatMs(s.max),
    "pages/s (one core)": (1000 / s.mean).toFixed(1),
    "failed rules": findings.join(", ") || "none",
    "rss after": `${Math.round(process.memoryUsage().rss / 1048576)} MiB (controller process; Chromium is separate)`,
  });
}

await measure("jsdom tier: fetch + DOM rules (in-process)", async () => {
  const page = await fetchPage(url, { timeoutMs: 10_000, maxBytes: 5 << 20 });
  const result = await scanWithJsdom(
    { url: page.url, html: page.html, path: "/" },
    { tags, languages: ["en", "zh-HK"] },
  );
  return [...result.findings.map((f) => f.id), ...result.lookAndFeel.map((f) => f.id)];
});

const workers = new JsdomWorkers();
await measure("jsdom tier: fetch + DOM rules in a worker process (what the scanner runs)", async () => {
  const page = await fetchPage(url, { timeoutMs: 10_000, maxBytes: 5 << 20 });
  const result = await workers.scan(
    { url: page.url, html: page.html, path: "/" },
    { tags, languages: ["en", "zh-HK"] },
    { timeoutMs: 30_000 },
  );
  return [...result.findings.map((f) => f.id), ...result.lookAndFeel.map((f) => f.id)];
});

await workers.close();

const browser = new BrowserTier();
await measure("chromium: start and stop a confined browser (once per scan)", async () => {
  const session = await browser.open(url);
  await session.close();
  return [];
});
const session = await browser.open(url);
await measure("chromium tier: layout rules, per page", async () => {
  const result = await session.scan({ url, path: "/" }, { tags, rules: browserOnlyRules });
  return result.findings.map((f) => f.id);
});
await measure("chromium, all rules (client-rendered sites), per page", async () => {
  const result = await session.scan({ url, path: "/" }, { tags });
  return result.findings.map((f) => f.id);
});
await session.close();
const scanner = new AccessibilityScanner({ browser });
await measure("whole scan of one server-rendered page (both tiers, browser start included)", async () => {
  const result = await scanner.scan({
    baseUrl: url,
    paths: ["/"],
    standard: "WCAG22-AA",
    clientRendered: false,
    languages: ["en", "zh-HK"],
  });
  return [...result.findings.map((f) => f.id), ...result.errors.map((e) => `error: ${e.message}`)];
});
await scanner.close();
server.close();

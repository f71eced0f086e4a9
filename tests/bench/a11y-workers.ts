// Benchmark: the jsdom tier's worker processes over many pages. One page of the demo site is scanned
// `--pages` times through JsdomWorkers, one at a time, as the scanner does; prints the time per page and,
// every `--every` pages, the resident memory of this process (the controller's side) and of the worker that
// answered, with how many workers were started (a worker is retired once resident past `--retire-above` MiB
// after a page, and collects its garbage past `--collect-above` MiB of heap in use).
//   npm run bench -- a11y-workers [--pages 1000] [--every 100] [--retire-above 320] [--collect-above 128]
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { JsdomWorkers } from "../../controller/accessibility/jsdom-tier.ts";
import { demoSitePages } from "../../tools/demo-site.ts";
import { report } from "./_stats.ts";

const { values } = parseArgs({
  options: {
    pages: { type: "string", default: "1000" },
    every: { type: "string", default: "100" },
    "retire-above": { type: "string", default: "320" },
    "collect-above": { type: "string", default: "128" },
  },
});
const pages = Number(values.pages);
const every = Number(values.every);
const html = demoSitePages.fixed["/"] as string;
const workers = new JsdomWorkers({
  maxIdle: 1,
  retireAboveMb: Number(values["retire-above"]),
  collectAboveMb: Number(values["collect-above"]),
});
const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);
const rows: Record<string, string> = {};
const t0 = performance.now();
for (let i = 1; i <= pages; i++) {
  await workers.scan(
    { url: "http://portal.bench-prod.svc/", path: "/", html },
    { tags: ["wcag2a", "wcag2aa"], languages: ["en"] },
    { timeoutMs: 60_000 },
  );
  if (i % every === 0)
    rows[`after ${i} pages`] =
      `this process ${mib(process.memoryUsage.rss())} MiB resident; the worker ${mib(workers.lastHeap.rssBytes)} MiB resident, heap in use ${mib(workers.lastHeap.usedBytes)} of ${mib(workers.lastHeap.totalBytes)} MiB; workers started ${workers.started}`;
}
const perPage = (performance.now() - t0) / pages;
await workers.close();
await sleep(1_000);
report(`jsdom workers: ${pages} pages, one at a time`, {
  ...rows,
  "time per page": `${perPage.toFixed(0)} ms`,
  "this process after the workers ended": `${mib(process.memoryUsage.rss())} MiB resident`,
});

// Benchmark: time to first byte of the finance overview page (/costs) and of one statement page, signed in
// as finance, with many departments and a year of monthly statements each (default 200 × 12). The portal
// API runs as its own process with its service account against a fresh local control plane; the session is
// a real one (the local OpenID provider's sign-in, in Chromium); the statements are written directly, as
// the metering controller would (lines per environment, e-service and resource).
//   npm run bench -- finance-pages [--departments 200] [--months 12] [--requests 60] [--concurrency 4]

import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { labels } from "../../controller/api/group.ts";
import { resources } from "../../lib/kube/resources.ts";
import { projectRoot } from "../../lib/local-state.ts";
import { freePort } from "../../tools/cluster/ports.ts";
import { startLocalProvider } from "../../tools/oidc/provider.ts";
import { apiClient, webClient } from "../../tools/oidc/users.ts";
import { departmentManifest } from "../fixtures/departments.ts";
import { signInAtProvider } from "../integration/support/browser-sign-in.ts";
import { requireChromium } from "../integration/support/chromium.ts";
import { withBenchCluster } from "./_cluster.ts";
import { formatMs, report, summarize } from "./_stats.ts";

const { values } = parseArgs({
  options: {
    departments: { type: "string", default: "200" },
    months: { type: "string", default: "12" },
    requests: { type: "string", default: "60" },
    concurrency: { type: "string", default: "4" },
  },
});
const departmentCount = Number(values.departments);
const months = Number(values.months);
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);
const audience = "https://api.govhost.bench";

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  failure: () => string | undefined = () => undefined,
  timeoutMs = 120_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const failed = failure();
    if (failed) throw new Error(failed);
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

/** The `count` calendar months up to and including this one, oldest first (YYYY-MM). */
function periods(count: number): string[] {
  const now = new Date();
  return Array.from({ length: count }, (_, i) => {
    const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - (count - 1 - i), 1));
    return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
  });
}

/** A month's lines as metering writes them: three environments × two e-services × four resources. */
function statementLines(seed: number) {
  const lines = [];
  for (const environment of ["dev", "staging", "prod"])
    for (const eservice of ["forms", "lookup"])
      for (const [resource, unit, price] of [
        ["cpu", "core-hour", "35.5"],
        ["memory", "GiB-hour", "4.2"],
        ["storage", "GiB-month", "80"],
        ["public-endpoint", "endpoint-month", "50000"],
      ] as const) {
        const quantity = ((seed % 97) + 3) * 7;
        lines.push({
          environment,
          eservice,
          resource,
          quantity: String(quantity),
          unit,
          unitPriceMinor: price,
          amountMinor: Math.round(quantity * Number(price)),
          priceVersion: "default@2026-01-01T00:00:00Z",
        });
      }
  return lines;
}

/** TTFB of GET `url` with the session cookie: `requests` samples, `concurrency` at a time. */
async function timeToFirstByte(url: string, cookie: string) {
  const samples: number[] = [];
  let next = 0;
  let failures = 0;
  const worker = async () => {
    while (next < requests) {
      next++;
      const start = performance.now();
      const response = await fetch(url, { headers: { cookie }, redirect: "manual" });
      samples.push(performance.now() - start); // fetch resolves when the status line and headers arrive
      if (response.status !== 200) failures++;
      await response.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ...summarize(samples), failures };
}

await withBenchCluster("finance-pages", async ({ admin, portalApiKubeconfig, root }) => {
  const months_ = periods(months);
  const names = Array.from({ length: departmentCount }, (_, i) => `dept${String(i).padStart(4, "0")}`);
  const setupStart = performance.now();
  for (let i = 0; i < names.length; i += 20)
    await Promise.all(
      names.slice(i, i + 20).map(async (name, j) => {
        const department = departmentManifest(name);
        department.spec.monthlyBudget = { amount: 500_000, currency: "HKD" };
        await admin.create(department);
        // The budget as the controller reports it (no controller runs here).
        await admin.mergePatch(
          resources.department,
          name,
          {
            status: {
              budget: {
                currency: "HKD",
                limitMinor: 50_000_000,
                spentMinor: 1_000_000 * (j + 1),
                forecastMinor: 2_000_000 * (j + 1),
                usedRatio: (j + 1) / 50,
              },
            },
          },
          { subresource: "status" },
        );
        for (const [m, period] of months_.entries()) {
          const lines = statementLines(i + j + m);
          await admin.create({
            apiVersion: "govhost.io/v1alpha1",
            kind: "ChargebackStatement",
            metadata: {
              name: `${name}-${period}`,
              labels: { [labels.department]: name, "govhost.io/period": period },
            },
            spec: {
              department: name,
              period,
              timeZone: "Asia/Hong_Kong",
              currency: "HKD",
              lines,
              totalMinor: lines.reduce((sum, line) => sum + line.amountMinor, 0),
              finalized: m < months_.length - 1,
            },
          });
        }
      }),
    );
  const setupSeconds = (performance.now() - setupStart) / 1000;

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const identity = await startLocalProvider({ audience, webRedirectUris: [`${url}/auth/callback`] });
  const child: ChildProcess = spawn(process.execPath, ["portal-api/main.ts"], {
    cwd: projectRoot,
    env: {
      ...process.env,
      KUBECONFIG: portalApiKubeconfig,
      GOVHOST_OIDC_ISSUER: identity.issuer,
      GOVHOST_OIDC_AUDIENCE: audience,
      GOVHOST_OIDC_CLIENT_ID: apiClient.id,
      GOVHOST_OIDC_CLIENT_SECRET: apiClient.secret,
      GOVHOST_OIDC_ALLOW_HTTP: "true",
      GOVHOST_API_PORT: String(port),
      GOVHOST_API_RATE_LIMIT: "10000000",
      GOVHOST_AUDIT_LOG: join(root, "audit.log"),
      GOVHOST_WEB_URL: url,
      GOVHOST_WEB_CLIENT_ID: webClient.id,
      GOVHOST_WEB_CLIENT_SECRET: webClient.secret,
      GOVHOST_SESSION_KEY: randomBytes(32).toString("base64"),
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  let exited: string | undefined;
  child.on("exit", (code, signal) => {
    exited = `the portal API exited (${signal ?? code})`;
  });
  const browser = await chromium.launch({ executablePath: requireChromium() });
  try {
    await waitFor(
      "the portal API",
      async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined),
      () => exited,
    );
    // A real sign-in as finance at the local provider (any password), in a browser.
    const page = await browser.newPage();
    await page.goto(`${url}/costs`);
    await signInAtProvider(page, "finance", url);
    const session = (await page.context().cookies(url)).find((c) => c.name === "govhost_session");
    if (!session) throw new Error(`no session after sign-in (at ${page.url()})`);
    const cookie = `govhost_session=${session.value}`;
    const overview = await fetch(`${url}/costs?period=${months_.at(-2)}`, { headers: { cookie } });
    const html = await overview.text();
    const shown = (html.match(/<tr>/g) ?? []).length;
    await browser.close();
    // Timing an error page would measure the wrong thing: the overview must list every department.
    if (overview.status !== 200 || shown < departmentCount)
      throw new Error(
        `the overview answered ${overview.status} with ${shown} rows for ${departmentCount} departments`,
      );

    const costs = await timeToFirstByte(`${url}/costs?period=${months_.at(-2)}`, cookie);
    const statement = await timeToFirstByte(`${url}/costs/${names[0]}/${months_.at(-2)}`, cookie);
    if (costs.failures || statement.failures)
      throw new Error(
        `non-200 answers while timing: overview ${costs.failures}, statement ${statement.failures}`,
      );
    const row = (s: typeof costs) =>
      `p50 ${formatMs(s.p50)}, p95 ${formatMs(s.p95)}, p99 ${formatMs(s.p99)}, max ${formatMs(s.max)} (${s.count} requests, ${concurrency} at a time, non-200: ${s.failures})`;
    const rss = await fetch(`${url}/metrics`).then((r) => r.text());
    const memory = /govhost_api_process_resident_memory_bytes (\d+)/.exec(rss)?.[1];
    report(
      `finance pages, signed in as finance: ${departmentCount} departments × ${months} monthly statements (${statementLines(0).length} lines each)`,
      {
        "setup (objects written)": `${departmentCount * (months + 1)} objects in ${setupSeconds.toFixed(1)} s`,
        "overview rows rendered (incl. headers)": String(shown),
        "TTFB /costs (overview)": row(costs),
        "TTFB /costs/<dept>/<month> (statement)": row(statement),
        "portal API resident memory after": memory ? `${Math.round(Number(memory) / 1048576)} MiB` : "n/a",
      },
    );
  } finally {
    await browser.close().catch(() => undefined);
    child.kill("SIGTERM");
    await identity.close();
  }
});

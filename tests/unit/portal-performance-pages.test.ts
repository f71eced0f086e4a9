import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { periodOf } from "../../lib/chargeback/calendar.ts";
import type { Answer } from "../../portal-api/pages/department-views.ts";
import { formatNumber, formatPercent } from "../../portal-api/pages/i18n.ts";
import { performancePages } from "../../portal-api/pages/performance-pages.ts";
import { pageContentSecurityPolicy } from "../../portal-api/pages/render.ts";
import type { SignedInKit } from "../../portal-api/pages/signed-in.ts";

// The service-performance pages (portal-api/pages/performance-pages.ts) from fixed API answers, in both
// languages: exactly which figures and words they show, in the API's order, and the refusal and CSV routes.
// The routes behind them are tested in tests/integration/portal-api.test.ts; the pages in a real browser,
// signed in, with axe, in tests/integration/portal-pages.test.ts.

const timeZone = "Asia/Hong_Kong";

/** A scorecard as GET /api/v1/departments/immd/scorecard?period=2026-11 answers it. */
const scorecard = {
  department: "immd",
  period: "2026-11",
  rows: [
    {
      environment: "prod",
      eservice: "visa-status",
      figures: {
        requests: 1234,
        serverErrors: 2,
        serverErrorRatePercent: (100 * 2) / 1234,
        started: 10,
        completed: 7,
        completionRatePercent: 70,
        p95Milliseconds: 123.45,
        p95BucketMilliseconds: { lower: 100, upper: 250 },
        probes: 1440,
        probesDown: 3,
        availabilityPercent: (100 * 1437) / 1440,
        ratings: 3,
        satisfactionPercent: (100 * 2) / 3,
        otherChannelTransactions: 3,
        digitalTakeUpPercent: 70,
      },
      lastProbe: { at: "2026-11-30T02:00:00.000Z", up: true, result: "HTTP 200" },
      cost: {
        currency: "HKD",
        amountMinor: 123456,
        perCompletedTransactionMinor: 123456 / 7,
        statementFinalized: false,
      },
      targets: [
        { target: "monthlyCompletedTransactions", goal: 10, actual: 7, status: "missed", difference: -3 },
        { target: "completionRatePercent", goal: 80, actual: 70, status: "missed", difference: -10 },
        {
          target: "availabilityPercent",
          goal: 99.9,
          actual: (100 * 1437) / 1440,
          status: "missed",
          difference: (100 * 1437) / 1440 - 99.9,
        },
        {
          target: "p95ResponseMilliseconds",
          goal: 800,
          actual: 123.45,
          status: "met",
          difference: 123.45 - 800,
        },
      ],
      missed: [{}, {}, {}],
      verdict: "misses-targets",
    },
    {
      environment: "dev",
      eservice: "permits",
      figures: {
        requests: 40,
        serverErrors: 0,
        serverErrorRatePercent: 0,
        started: 5,
        completed: 5,
        completionRatePercent: 100,
        p95Milliseconds: null,
        p95BucketMilliseconds: null,
        probes: 0,
        probesDown: 0,
        availabilityPercent: null,
        ratings: 0,
        satisfactionPercent: null,
        otherChannelTransactions: null,
        digitalTakeUpPercent: null,
      },
      lastProbe: null,
      cost: {
        currency: "HKD",
        amountMinor: 5000,
        perCompletedTransactionMinor: 1000,
        statementFinalized: true,
      },
      targets: [
        { target: "monthlyCompletedTransactions", goal: 1, actual: 5, status: "met", difference: 4 },
        {
          target: "satisfactionPercent",
          goal: 75,
          actual: null,
          status: "not-measured",
          difference: null,
          reason: "no citizen rated the e-service in the period",
          reasonCode: "not-rated",
        },
        {
          target: "digitalTakeUpPercent",
          goal: 60,
          actual: null,
          status: "not-measured",
          difference: null,
          // A reason without a code this page knows (an API newer than the page).
          reason: "a reason the pages have no translation of",
        },
      ],
      missed: [],
      verdict: "meets-every-measured-target",
    },
    {
      environment: "dev",
      eservice: "lookup",
      figures: {
        requests: 0,
        serverErrors: 0,
        serverErrorRatePercent: null,
        started: 0,
        completed: 0,
        completionRatePercent: null,
        p95Milliseconds: null,
        p95BucketMilliseconds: null,
        probes: 0,
        probesDown: 0,
        availabilityPercent: null,
        ratings: 0,
        satisfactionPercent: null,
        otherChannelTransactions: null,
        digitalTakeUpPercent: null,
      },
      lastProbe: null,
      cost: null,
      targets: [],
      missed: [],
      verdict: "no-targets",
    },
  ],
  summary: { eservices: 3, missingTargets: 1, meetingEveryMeasuredTarget: 1, withoutTargets: 1 },
};

/** The central office's month as GET /api/v1/scorecards?period=2026-11 answers it. */
const ranking = {
  period: "2026-11",
  departments: [
    {
      rank: 1,
      department: "lcsd",
      eservices: 2,
      targetsMeasured: 4,
      targetsMet: 4,
      scorePercent: 100,
      missingTargets: 0,
      withoutTargets: 1,
    },
    {
      rank: 2,
      department: "immd",
      eservices: 3,
      targetsMeasured: 6,
      targetsMet: 4,
      scorePercent: (100 * 4) / 6,
      missingTargets: 1,
      withoutTargets: 1,
    },
    {
      rank: null,
      department: "newdept",
      eservices: 1,
      targetsMeasured: 0,
      targetsMet: 0,
      scorePercent: null,
      missingTargets: 0,
      withoutTargets: 1,
    },
    {
      rank: null,
      department: "broken",
      eservices: 0,
      targetsMeasured: 0,
      targetsMet: 0,
      scorePercent: null,
      missingTargets: 0,
      withoutTargets: 0,
      unavailable: "traffic store field months is not JSON",
    },
  ],
  serviceClusters: [
    {
      cluster: "culture-and-leisure",
      eservices: 2,
      departments: 1,
      requests: 5000,
      started: 100,
      completed: 90,
      completionRatePercent: 90,
      probes: 2880,
      probesDown: 0,
      availabilityPercent: 100,
      otherChannelTransactions: 0,
      digitalTakeUpPercent: null,
      missingTargets: 0,
    },
    {
      cluster: "travel-and-immigration",
      eservices: 4,
      departments: 2,
      requests: 12345,
      started: 10,
      completed: 7,
      completionRatePercent: 70,
      probes: 1440,
      probesDown: 3,
      availabilityPercent: (100 * 1437) / 1440,
      otherChannelTransactions: 3,
      digitalTakeUpPercent: 70,
      missingTargets: 1,
    },
  ],
};

const departments = {
  items: [
    { name: "immd", spec: { displayName: { en: "Immigration Department", zhHant: "入境事務處" } } },
    {
      name: "lcsd",
      spec: { displayName: { en: "Leisure <b>and</b> Cultural Services", zhHant: "康樂及文化事務署" } },
    },
  ],
};

/** The API's answers by URL (anything else: 404), and the URLs the pages asked for. */
let answers = new Map<string, Answer>();
let asked: string[] = [];
let downloads: { url: string; accept: string | undefined }[] = [];
let app: FastifyInstance | undefined;

const kit: SignedInKit = {
  signedIn: async () => ({ accessToken: "token", name: "Olivia Operator", username: "olivia", expiresAt: 0 }),
  context: (_session, _reply, locale) => ({
    locale,
    signedIn: { name: "Olivia Operator", csrfToken: "csrf" },
  }),
  call: async (_session, url) => {
    asked.push(url);
    return answers.get(url) ?? { status: 404, body: { status: 404 } };
  },
  permissions: async () => () => true,
  may: async () => true,
  download: async (_session, url, accept) => {
    downloads.push({ url, accept });
    return url === "/api/v1/departments/immd/scorecard?period=2026-11" && accept === "text/csv"
      ? {
          status: 200,
          body: undefined,
          text: "department,period\r\nimmd,2026-11\r\n",
          disposition: 'attachment; filename="immd-scorecard-2026-11.csv"',
        }
      : { status: 403, body: undefined, text: "" };
  },
};

async function get(url: string) {
  if (!app) {
    app = Fastify().withTypeProvider<TypeBoxTypeProvider>();
    await app.register(performancePages(kit, { timeZone }));
  }
  return app.inject({ url, headers: { accept: "text/html" } });
}

afterEach(async () => {
  await app?.close();
  app = undefined;
  answers = new Map();
  asked = [];
  downloads = [];
});

const given = (entries: [string, unknown][]) => {
  answers = new Map(entries.map(([url, body]) => [url, { status: 200, body }]));
};

/** The table row whose header cell is `name` (the page's markup, whitespace collapsed). */
function row(html: string, name: string): string {
  const rows = html.replace(/\s+/g, " ").match(/<tr>.*?<\/tr>/g) ?? [];
  return rows.find((r) => r.includes(name)) ?? `no row ${name}`;
}

/** A row's cells as text, tags removed. */
const cells = (html: string) =>
  [...html.matchAll(/<t[hd][^>]*>(.*?)<\/t[hd]>/g)].map((m) => (m[1] ?? "").replace(/<[^>]+>/g, "").trim());

/** The section of the page about one e-service (its heading to the next section). */
function section(html: string, heading: string): string {
  const flat = html.replace(/\s+/g, " ");
  const start = flat.indexOf(`">${heading}</h2>`);
  expect(start, heading).toBeGreaterThan(0);
  return flat.slice(start, flat.indexOf("</section>", start));
}

/** A definition list's terms and descriptions, in order. */
const definitions = (html: string) =>
  [...html.matchAll(/<dt[^>]*>(.*?)<\/dt> <dd[^>]*>(.*?)<\/dd>/g)].map((m) => [m[1], m[2]]);

describe("the service-performance ranking page", () => {
  it("ranks the departments the API gives, with their names, scores and clusters, in English", async () => {
    given([
      ["/api/v1/scorecards?period=2026-11", ranking],
      ["/api/v1/departments", departments],
    ]);
    const page = await get("/performance?period=2026-11");
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-security-policy"]).toBe(pageContentSecurityPolicy);
    expect(page.headers["cache-control"]).toBe("no-store");
    const html = page.body;
    expect(html).toContain("<h1>Service performance</h1>");
    expect(html).toContain(
      '<input class="usa-input" id="period" name="period" type="month" value="2026-11">',
    );
    expect(html).toContain('<form class="usa-form margin-bottom-4" method="get" action="/performance">');
    expect(html).toContain("<caption>Departments ranked by targets met, November 2026</caption>");
    // In the API's order: ranked first, then the unranked with why.
    expect(cells(row(html, "/performance/lcsd/2026-11"))).toEqual([
      "1",
      "Leisure &lt;b&gt;and&lt;/b&gt; Cultural Services",
      "100%",
      "4 of 4",
      "2",
      "0",
      "1",
    ]);
    expect(cells(row(html, "/performance/immd/2026-11"))).toEqual([
      "2",
      "Immigration Department",
      "66.66%",
      "4 of 6",
      "3",
      "1",
      "1",
    ]);
    expect(cells(row(html, "/performance/newdept/2026-11"))).toEqual([
      "Not ranked",
      "newdept",
      "No target measured in the month",
      "0 of 0",
      "1",
      "0",
      "1",
    ]);
    // Its measurements could not be read: listed, not linked to a scorecard that would fail.
    expect(html).not.toContain("/performance/broken/");
    expect(cells(row(html, ">broken<"))).toEqual([
      "Not ranked",
      "broken",
      "Its measurements could not be read: traffic store field months is not JSON",
      "—",
      "—",
      "—",
      "—",
    ]);
    const order = ["/lcsd/2026-11", "/immd/2026-11", "/newdept/2026-11", ">broken<"].map((d) =>
      html.indexOf(d),
    );
    expect(order).toEqual([...order].sort((a, b) => a - b));
    // The chart: the ranked departments' scores out of 100%, named by the heading and described.
    expect(html).toContain('role="img" aria-labelledby="ranking-title chart-desc"');
    expect([...html.matchAll(/<rect [^>]*width="(\d+)"/g)].map((m) => m[1])).toEqual(["460", "307"]);
    expect(html).toContain('font-size="16" fill="#1b1b1b">66.66%</text>');
    expect(html).not.toContain("<b>and</b>");
    // Each service cluster, by its name.
    expect(cells(row(html, "Travel and immigration"))).toEqual([
      "Travel and immigration",
      "4",
      "2",
      "12,345",
      "10",
      "7",
      "70%",
      "99.79% (1,437 of 1,440 checks answered)",
      "70%",
      "1",
    ]);
    expect(cells(row(html, "Culture, recreation and sport")).slice(6)).toEqual([
      "90%",
      "100% (2,880 of 2,880 checks answered)",
      "Not measured",
      "0",
    ]);
    // The navigation offers the page, and the language switch keeps the month.
    expect(html).toContain('<a class="margin-x-2" href="/performance">Performance</a>');
    expect(html).toContain('hreflang="zh-Hant" href="/zh-Hant/performance?period=2026-11"');
    expect(html).not.toContain("<script");
  });

  it("is in Traditional Chinese at /zh-Hant/performance, the API's own reason marked as English", async () => {
    given([
      ["/api/v1/scorecards?period=2026-11", ranking],
      ["/api/v1/departments", departments],
    ]);
    const page = await get("/zh-Hant/performance?period=2026-11");
    expect(page.statusCode).toBe(200);
    const html = page.body;
    expect(html).toContain('<html lang="zh-Hant">');
    expect(html).toContain("<h1>服務表現</h1>");
    expect(html).toContain("<caption>2026年11月各部門按達標情況排名</caption>");
    expect(cells(row(html, "/zh-Hant/performance/immd/2026-11"))).toEqual([
      "2",
      "入境事務處",
      "66.66%",
      "6 項中 4 項",
      "3",
      "1",
      "1",
    ]);
    expect(cells(row(html, "/zh-Hant/performance/newdept/2026-11")).slice(0, 3)).toEqual([
      "未有排名",
      "newdept",
      "該月沒有已量度的目標",
    ]);
    expect(row(html, ">broken<")).toContain(
      '未能讀取其量度數據：<span lang="en">traffic store field months is not JSON</span>',
    );
    expect(cells(row(html, "旅遊及入境")).slice(6, 8)).toEqual([
      "70%",
      "99.79%（1,440 次檢查中 1,437 次有回應）",
    ]);
    expect(html).toContain('<a class="margin-x-2" href="/zh-Hant/performance">服務表現</a>');
    expect(html).toContain('action="/zh-Hant/performance"');
  });

  it("asks for the current month in the platform's time zone when none is given", async () => {
    const before = periodOf(Date.now(), timeZone);
    await get("/performance");
    const after = periodOf(Date.now(), timeZone);
    expect([`/api/v1/scorecards?period=${before}`, `/api/v1/scorecards?period=${after}`]).toContain(asked[0]);
  });

  it("shows a department by its identifier when the names cannot be read, and says when there is nothing", async () => {
    answers = new Map([
      ["/api/v1/scorecards?period=2026-11", { status: 200, body: { ...ranking, serviceClusters: [] } }],
      ["/api/v1/departments", { status: 403, body: {} }],
    ]);
    const named = await get("/performance?period=2026-11");
    expect(named.statusCode).toBe(200);
    expect(cells(row(named.body, "/performance/immd/2026-11"))[1]).toBe("immd");
    expect(named.body).toContain("<p>There are no departments&#39; e-services to show for the month.</p>");
    given([
      ["/api/v1/scorecards?period=2026-12", { period: "2026-12", departments: [], serviceClusters: [] }],
    ]);
    const empty = await get("/performance?period=2026-12");
    expect(empty.statusCode).toBe(200);
    expect(empty.body).not.toContain("<table");
    expect(empty.body).not.toContain("<svg");
  });

  it("is the refusal page when the API refuses the person (finance reads no e-services)", async () => {
    answers = new Map([["/api/v1/scorecards?period=2026-11", { status: 403, body: { status: 403 } }]]);
    const page = await get("/performance?period=2026-11");
    expect(page.statusCode).toBe(403);
    expect(page.body).toContain("<h1>Not allowed</h1>");
    expect(page.body).not.toContain("<table");
    const zh = await get("/zh-Hant/performance?period=2026-11");
    expect(zh.statusCode).toBe(403);
    expect(zh.body).toContain("<h1>不獲准許</h1>");
  });
});

describe("a department's scorecard page", () => {
  const immd = {
    name: "immd",
    spec: { displayName: { en: "Immigration Department", zhHant: "入境事務處" } },
  };

  it("shows the summary, then each e-service in the API's order with its targets in words, in English", async () => {
    given([
      ["/api/v1/departments/immd", immd],
      ["/api/v1/departments/immd/scorecard?period=2026-11", scorecard],
    ]);
    const page = await get("/performance/immd/2026-11");
    expect(page.statusCode).toBe(200);
    const html = page.body;
    expect(html).toContain("<h1>Immigration Department: service performance in November 2026</h1>");
    expect(html).toContain(
      '<a class="usa-breadcrumb__link" href="/performance?period=2026-11">Service performance</a>',
    );
    const flat = html.replace(/\s+/g, " ");
    expect(definitions(flat.slice(flat.indexOf("<h2>Summary</h2>"), flat.indexOf("</dl>")))).toEqual([
      ["E-services", "3"],
      ["Missing at least one target", "1"],
      ["Meeting every measured target", "1"],
      ["Without targets", "1"],
    ]);
    expect(html).toContain(
      '<a class="usa-button usa-button--outline" href="/performance/immd/2026-11/scorecard.csv" download>Download as CSV (spreadsheet)</a>',
    );
    // The one missing its targets first, as the API orders them.
    const headings = [...flat.matchAll(/<h2 id="eservice-\d+">(.*?)<\/h2>/g)].map((m) => m[1]);
    expect(headings).toEqual(["visa-status in prod", "permits in dev", "lookup in dev"]);

    const visa = section(html, "visa-status in prod");
    expect(visa).toContain("<p>Status: <strong>Misses 3 targets</strong></p>");
    expect(visa).toContain("<caption>Targets of visa-status in prod</caption>");
    // A miss is in words and bold; never by colour alone.
    expect(cells(row(visa, "Completed transactions in the month"))).toEqual([
      "Completed transactions in the month",
      "at least 10",
      "7",
      "Missed by 3 transactions",
    ]);
    expect(row(visa, "Completed transactions in the month")).toContain(
      "<strong>Missed by 3 transactions</strong>",
    );
    expect(cells(row(visa, "Completion rate"))).toEqual([
      "Completion rate",
      "at least 80%",
      "70%",
      "Missed by 10 percentage points",
    ]);
    // 99.7916…% is shown rounded down, the miss rounded up: 99.9 − 99.79 = 0.11.
    expect(cells(row(visa, '<th scope="row" data-label="Target">Availability'))).toEqual([
      "Availability",
      "at least 99.9%",
      "99.79%",
      "Missed by 0.11 percentage points",
    ]);
    expect(cells(row(visa, "Response time (95th percentile)"))).toEqual([
      "Response time (95th percentile)",
      "at most 800 ms",
      "123.45 ms",
      "Met",
    ]);
    expect(definitions(visa)).toEqual([
      ["Requests", "1,234"],
      ["Server errors", "2 (0.17% of requests)"],
      ["Transactions started", "10"],
      ["Transactions completed", "7"],
      ["Completion rate", "70%"],
      ["Response time (95th percentile)", "123.45 ms"],
      ["Availability", "99.79% (1,437 of 1,440 checks answered)"],
      ["Satisfaction", "66.66% of 3 ratings satisfied or very satisfied"],
      ["Transactions through other channels", "3"],
      ["Digital take-up", "70%"],
      ["Cost in the month", "HK$1,234.56 (draft statement: it may still change)"],
      // 123456 ÷ 7 = 17636.57 cents, to the cent.
      ["Cost per completed transaction", "HK$176.37"],
    ]);

    const permits = section(html, "permits in dev");
    expect(permits).toContain("<p>Status: <strong>Meets every measured target</strong></p>");
    expect(cells(row(permits, "Completed transactions in the month"))).toEqual([
      "Completed transactions in the month",
      "at least 1",
      "5",
      "Met",
    ]);
    expect(cells(row(permits, "Satisfaction"))).toEqual([
      "Satisfaction",
      "at least 75%",
      "Not measured",
      "Not measured: no citizen rated the e-service in the period",
    ]);
    expect(row(permits, "Digital take-up")).toContain(
      "Not measured: a reason the pages have no translation of</td>",
    );
    // Not reported for the month: said so, and take-up not measured.
    expect(definitions(permits)).toContainEqual([
      "Transactions through other channels",
      "Not reported by the department",
    ]);
    expect(definitions(permits)).toContainEqual(["Digital take-up", "Not measured"]);
    expect(definitions(permits)).toContainEqual(["Cost in the month", "HK$50.00 (finalized statement)"]);
    expect(definitions(permits)).toContainEqual(["Availability", "Not measured"]);

    const lookup = section(html, "lookup in dev");
    expect(lookup).toContain("<p>Status: <strong>No targets set</strong></p>");
    expect(lookup).not.toContain("<table");
    // A caller who may not read statements gets no cost: the page shows none.
    expect(definitions(lookup).map(([name]) => name)).toEqual([
      "Requests",
      "Server errors",
      "Transactions started",
      "Transactions completed",
      "Completion rate",
      "Response time (95th percentile)",
      "Availability",
      "Satisfaction",
      "Transactions through other channels",
      "Digital take-up",
    ]);
    expect(definitions(lookup)[4]).toEqual(["Completion rate", "Not measured"]);
  });

  it("is in Traditional Chinese, with the known reasons translated and an unknown one marked as English", async () => {
    given([
      ["/api/v1/departments/immd", immd],
      ["/api/v1/departments/immd/scorecard?period=2026-11", scorecard],
    ]);
    const page = await get("/zh-Hant/performance/immd/2026-11");
    expect(page.statusCode).toBe(200);
    const html = page.body;
    expect(html).toContain("<h1>入境事務處：2026年11月服務表現</h1>");
    const visa = section(html, "prod 環境的 visa-status");
    expect(visa).toContain("<p>狀態: <strong>3 項目標未達</strong></p>");
    expect(cells(row(visa, "該月完成的交易"))).toEqual([
      "該月完成的交易",
      "最少 10",
      "7",
      "未達標：差 3 宗交易",
    ]);
    expect(cells(row(visa, "完成率"))).toEqual(["完成率", "最少 80%", "70%", "未達標：差 10 個百分點"]);
    expect(cells(row(visa, "回應時間"))).toEqual([
      "回應時間（第 95 百分位）",
      "最多 800 毫秒",
      "123.45 毫秒",
      "已達標",
    ]);
    expect(definitions(visa)).toContainEqual(["可用率", "99.79%（1,440 次檢查中 1,437 次有回應）"]);
    expect(definitions(visa)).toContainEqual(["滿意度", "3 個評分中 66.66% 表示滿意或非常滿意"]);
    expect(definitions(visa)).toContainEqual(["該月費用", "HK$1,234.56（結算表仍為草稿，或會變動）"]);
    const permits = section(html, "dev 環境的 permits");
    expect(cells(row(permits, "滿意度"))).toEqual([
      "滿意度",
      "最少 75%",
      "未能量度",
      "未能量度：期內沒有市民為此電子服務評分",
    ]);
    expect(row(permits, "數碼使用率")).toContain(
      '未能量度：<span lang="en">a reason the pages have no translation of</span>',
    );
    expect(html).toContain('hreflang="en" href="/performance/immd/2026-11"');
  });

  it("is the refusal page for a department the person may not read, and the not-found page for none", async () => {
    answers = new Map([
      ["/api/v1/departments/other", { status: 200, body: { ...immd, name: "other" } }],
      ["/api/v1/departments/other/scorecard?period=2026-11", { status: 403, body: {} }],
    ]);
    const refused = await get("/performance/other/2026-11");
    expect(refused.statusCode).toBe(403);
    expect(refused.body).toContain("<h1>Not allowed</h1>");
    expect(refused.body).not.toContain("Immigration Department");
    const missing = await get("/zh-Hant/performance/nope/2026-11");
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toContain("<h1>找不到網頁</h1>");
  });

  it("downloads the API's CSV, asked for as text/csv, as the signed-in person", async () => {
    const csv = await get("/performance/immd/2026-11/scorecard.csv");
    expect(csv.statusCode).toBe(200);
    expect(csv.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(csv.headers["content-disposition"]).toBe('attachment; filename="immd-scorecard-2026-11.csv"');
    expect(csv.headers["cache-control"]).toBe("no-store");
    expect(csv.body).toBe("department,period\r\nimmd,2026-11\r\n");
    expect(downloads).toEqual([
      { url: "/api/v1/departments/immd/scorecard?period=2026-11", accept: "text/csv" },
    ]);
    const refused = await get("/performance/other/2026-11/scorecard.csv");
    expect(refused.statusCode).toBe(403);
    expect(refused.headers["content-type"]).toBe("text/html; charset=utf-8");
  });
});

describe("the figures' rounding", () => {
  it("never shows a share better than measured, nor a miss as zero", () => {
    expect(formatPercent(99.999, "en", { digits: 2, mode: "floor" })).toBe("99.99%");
    // 12.34 is stored as 12.3399…: still 12.34.
    expect(formatPercent(12.34, "en", { digits: 2, mode: "floor" })).toBe("12.34%");
    expect(formatNumber(0.001, "en", { digits: 2, mode: "expand" })).toBe("0.01");
    expect(formatNumber(123.451, "zh-Hant", { digits: 2, mode: "ceil" })).toBe("123.46");
    expect(formatNumber(1234567, "en")).toBe("1,234,567");
    // Without a mode, as before.
    expect(formatPercent(66.66666, "en")).toBe("66.7%");
  });
});

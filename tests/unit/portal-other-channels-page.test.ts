import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import type { Answer } from "../../portal-api/pages/department-views.ts";
import { channelsBody, otherChannelsPage } from "../../portal-api/pages/other-channels-page.ts";
import type { SignedInKit } from "../../portal-api/pages/signed-in.ts";

// The form for a department's other-channel transactions (portal-api/pages/other-channels-page.ts) from fixed
// API answers: what it shows to someone who may report and to someone who may only read, in both languages,
// and the body it sends. Saving through the real API, in a browser, with axe: tests/integration/portal-pages.test.ts.

const apiPath = "/api/v1/departments/immd/environments/prod/eservices/visa/other-channels/2026-11";
const report = {
  channels: { counter: 120, post: 4 },
  totalTransactions: 124,
  reportedAt: "2026-11-30T02:15:00.000Z",
};

let answer: Answer = { status: 200, body: report };
let mayWrite = true;
let app: FastifyInstance | undefined;

const kit: SignedInKit = {
  signedIn: async () => ({ accessToken: "token", name: "Ada Admin", username: "ada", expiresAt: 0 }),
  context: (_session, _reply, locale) => ({ locale, signedIn: { name: "Ada Admin", csrfToken: "csrf" } }),
  call: async (_session, url) => (url === apiPath ? answer : { status: 404, body: { status: 404 } }),
  permissions: async () => () => mayWrite,
  may: async (_session, action, department) =>
    action === "eservice:write" && department === "immd" && mayWrite,
  download: async () => ({ status: 404, body: undefined, text: "" }),
};

async function get(url: string) {
  if (!app) {
    app = Fastify().withTypeProvider<TypeBoxTypeProvider>();
    // The form route needs the CSRF hook the signed-in plugin provides; the GET pages are what is tested here.
    app.decorate("csrfProtection", (_request: unknown, _reply: unknown, done: () => void) => done());
    await app.register(otherChannelsPage(kit, { timeZone: "Asia/Hong_Kong" }));
  }
  return app.inject({ url, headers: { accept: "text/html" } });
}

afterEach(async () => {
  await app?.close();
  app = undefined;
  answer = { status: 200, body: report };
  mayWrite = true;
});

const flat = (html: string) => html.replace(/\s+/g, " ");

describe("the other channels' transactions form", () => {
  it("offers the month's report as a form, each channel prefilled, to someone who may report", async () => {
    const page = await get("/performance/immd/2026-11/prod/visa/other-channels");
    expect(page.statusCode).toBe(200);
    const html = flat(page.body);
    expect(html).toContain("<h1>visa: transactions through other channels in November 2026</h1>");
    expect(html).toContain("Last reported 30 November 2026 at 10:15 am.");
    expect(html).toContain('method="post" action="/performance/immd/2026-11/prod/visa/other-channels"');
    expect(html).toContain('<input type="hidden" name="_csrf" value="csrf">');
    for (const [id, label, value] of [
      ["counter", "At a counter", "120"],
      ["phone", "By phone", ""],
      ["post", "By post", "4"],
      ["email", "By email", ""],
      ["other", "Other channels", ""],
    ]) {
      expect(html).toContain(`<label class="usa-label" for="${id}">${label}</label>`);
      expect(html).toMatch(
        new RegExp(`id="${id}" name="${id}" type="text" inputmode="numeric" value="${value}"`),
      );
    }
    expect(html).toContain('href="/performance/immd/2026-11">Back to the scorecard</a>');
  });

  it("shows the report without a form to someone who may only read, in Traditional Chinese too", async () => {
    mayWrite = false;
    answer = { status: 200, body: { channels: {}, totalTransactions: 0, reportedAt: null } };
    const page = await get("/zh-Hant/performance/immd/2026-11/prod/visa/other-channels");
    expect(page.statusCode).toBe(200);
    const html = flat(page.body);
    expect(html).not.toContain('<form class="usa-form usa-form--large"');
    expect(html).toContain("本月尚未報告。");
    expect(html).toContain('<tr><th scope="row">櫃位</th><td>0</td></tr>');
    expect(html).toContain("只有部門的開發人員及管理員可報告這些數字。");
    expect(html).toContain('href="/zh-Hant/performance/immd/2026-11">返回成績表</a>');
  });

  it("is the refusal page when the API refuses the person", async () => {
    answer = { status: 403, body: { status: 403 } };
    const page = await get("/performance/immd/2026-11/prod/visa/other-channels");
    expect(page.statusCode).toBe(403);
    expect(page.body).not.toContain("At a counter");
  });

  it("sends the filled channels as numbers, leaves empty ones out, and passes anything else on for the API to refuse", () => {
    expect(channelsBody({ counter: " 20 ", phone: "", post: "0", email: "x1", other: "1.5" })).toEqual({
      channels: { counter: 20, post: 0, email: "x1", other: 1.5 },
    });
    expect(channelsBody({})).toEqual({ channels: {} });
  });
});

import type { FastifyInstance } from "fastify";
import { Registry } from "prom-client";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Department } from "../../controller/api/department.ts";
import type { EService } from "../../controller/api/eservice.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import type { ResourceType } from "../../lib/kube/resources.ts";
import {
  type PublicFigures,
  publicFiguresData,
  publicFiguresName,
} from "../../lib/performance/public-figures.ts";
import { AuditLog } from "../../portal-api/audit/store.ts";
import { defaultRoleSettings } from "../../portal-api/auth/principal.ts";
import { TokenVerifier } from "../../portal-api/auth/tokens.ts";
import { departmentRequest } from "../../portal-api/pages/department-new-page.ts";
import { wcagCriteria } from "../../portal-api/pages/eservice-pages.ts";
import { barChart } from "../../portal-api/pages/finance-pages.ts";
import { formatMoney, formatPrice } from "../../portal-api/pages/i18n.ts";
import { pageContentSecurityPolicy } from "../../portal-api/pages/render.ts";
import { directReads } from "../../portal-api/reads.ts";
import { versionInForce } from "../../portal-api/routes/rate-card.ts";
import { buildServer } from "../../portal-api/server.ts";
import { departmentManifest } from "../fixtures/departments.ts";
import { signingKeys } from "./support/signing-keys.ts";

// The public pages (portal-api/pages/) in process: what they show, in which language, what they hide, and
// the headers they are served with. Their accessibility is judged in a real browser by the project's own
// scanner in tests/integration/portal-pages.test.ts.

const issuer = "https://idp.gov.example";
const audience = "https://api.govhost.test";
let keys: Awaited<ReturnType<typeof signingKeys>>["keys"];
beforeAll(async () => {
  ({ keys } = await signingKeys(issuer, audience));
});

function eservice(
  namespace: string,
  name: string,
  options: {
    exposed?: boolean;
    exposure?: "public" | "internal";
    cluster?: string;
    en?: string;
    zh?: string;
  } = {},
): EService & KubeObject {
  return {
    apiVersion: "govhost.io/v1alpha1",
    kind: "EService",
    metadata: { name, namespace },
    spec: {
      image: "registry.gov.example/x/web:1.0.0",
      exposure: options.exposure ?? "public",
      serviceCluster: options.cluster ?? "travel-and-immigration",
      displayName: { en: options.en ?? "Visa status", zhHant: options.zh ?? "簽證申請進度" },
      accessibility: { standard: "WCAG22-AA" },
    } as EService["spec"],
    status: {
      url: `https://${name}.${namespace.split("-")[0]}.gov.example`,
      conditions:
        options.exposed === false
          ? []
          : [
              {
                type: "Exposed",
                status: "True",
                reason: "Published",
                message: "",
                lastTransitionTime: "2026-11-30T02:00:00Z",
              },
            ],
      accessibility: { standard: "WCAG22-AA", scannedAt: "2026-11-30T01:30:00Z" } as NonNullable<
        EService["status"]
      >["accessibility"],
    },
  };
}

const immd = departmentManifest("immd") as Department & KubeObject;
immd.spec.displayName = { en: "Immigration Department", zhHant: "入境事務處" };
const lcsd = departmentManifest("lcsd") as Department & KubeObject;
lcsd.spec.displayName = { en: "Leisure <b>and</b> Cultural Services", zhHant: "康樂及文化事務署" };

let eservices: (EService & KubeObject)[] = [];
/** The controller's public figures ConfigMap, as the directory reads it (undefined: none yet). */
let publicFigures: PublicFigures | undefined;
let app: FastifyInstance | undefined;

async function start(): Promise<FastifyInstance> {
  const kube = {
    list: async (type: ResourceType) => ({
      items: type.plural === "eservices" ? eservices : type.plural === "departments" ? [immd, lcsd] : [],
    }),
    find: async (type: ResourceType, name: string, namespace: string) =>
      type.plural === "configmaps" &&
      name === publicFiguresName &&
      namespace === "govhost-system" &&
      publicFigures
        ? { metadata: { name, namespace }, data: publicFiguresData(publicFigures) }
        : undefined,
  } as unknown as KubeClient;
  app = await buildServer(
    {
      kube,
      reads: directReads(kube),
      verifier: TokenVerifier.withKeys({ issuer, audience, clientId: "api" }, keys),
      roles: defaultRoleSettings,
      audit: await AuditLog.open(`/tmp/govhost-pages-unit-${process.pid}.log`),
      departments: () => [],
      registry: new Registry(),
      ready: () => true,
      timeZone: "Asia/Hong_Kong",
      rateCard: "govhost-default",
    },
    { logger: false, rateLimitPerMinute: 10_000, catalogueCacheMs: 0 },
  );
  return app;
}

afterEach(async () => {
  await app?.close();
  app = undefined;
  publicFigures = undefined;
});

const get = async (url: string, accept = "text/html") => {
  const server = app ?? (await start());
  return server.inject({ url, headers: { accept } });
};

describe("the public catalogue page", () => {
  it("lists exposed public e-services by service cluster, in English at /, with a strict CSP", async () => {
    eservices = [
      eservice("immd-prod", "visa-status"),
      eservice("lcsd-prod", "book-a-venue", {
        cluster: "culture-and-leisure",
        en: "Book a venue",
        zh: "預訂場地",
      }),
      eservice("immd-prod", "draft-form", { exposed: false, en: "Draft form" }),
      eservice("immd-dev", "staff-only", { exposure: "internal", en: "Staff only" }),
    ];
    const page = await get("/");
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["content-security-policy"]).toBe(pageContentSecurityPolicy);
    expect(page.headers["content-language"]).toBe("en");
    expect(page.body).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(page.body).toContain('<h2 id="cluster-travel-and-immigration">Travel and immigration</h2>');
    expect(page.body).toContain('<a href="/eservices/immd-prod/visa-status">Visa status</a>');
    expect(page.body).toContain("<p>Immigration Department</p>");
    expect(page.body).toContain('<a href="/eservices/lcsd-prod/book-a-venue">Book a venue</a>');
    expect(page.body).not.toContain("Draft form");
    expect(page.body).not.toContain("Staff only");
    // The language switch names the other language in that language and keeps the page.
    expect(page.body).toContain(
      '<a class="usa-button usa-button--outline" lang="zh-Hant" hreflang="zh-Hant" href="/zh-Hant">繁體中文</a>',
    );
    // No script at all: the pages work with JavaScript off.
    expect(page.body).not.toContain("<script");
    expect(page.body).not.toMatch(/ style=/);
  });

  it("is in Traditional Chinese at /zh-Hant, names and clusters included", async () => {
    eservices = [eservice("immd-prod", "visa-status")];
    const page = await get("/zh-Hant");
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-language"]).toBe("zh-Hant");
    expect(page.body).toContain('<html lang="zh-Hant">');
    expect(page.body).toContain("<h1>政府電子服務</h1>");
    expect(page.body).toContain(">旅遊及入境</h2>");
    expect(page.body).toContain('<a href="/zh-Hant/eservices/immd-prod/visa-status">簽證申請進度</a>');
    expect(page.body).toContain("<p>入境事務處</p>");
    expect(page.body).toContain('lang="en" hreflang="en" href="/">English</a>');
  });

  it("searches names, departments and clusters in either language, and escapes what was typed", async () => {
    eservices = [
      eservice("immd-prod", "visa-status"),
      eservice("lcsd-prod", "book-a-venue", {
        cluster: "culture-and-leisure",
        en: "Book a venue",
        zh: "預訂場地",
      }),
    ];
    const byWord = await get("/?q=VENUE");
    expect(byWord.body).toContain("Book a venue");
    expect(byWord.body).not.toContain("Visa status");
    expect(byWord.body).toContain("1 e-service found for “VENUE”");
    const byChineseDepartment = await get(`/zh-Hant?q=${encodeURIComponent("入境")}`);
    expect(byChineseDepartment.body).toContain("簽證申請進度");
    expect(byChineseDepartment.body).not.toContain("預訂場地");
    const byCluster = await get("/?q=travel%20immigration");
    expect(byCluster.body).toContain("Visa status");
    const markup = await get(`/?q=${encodeURIComponent('"><script>alert(1)</script>')}`);
    expect(markup.statusCode).toBe(200);
    expect(markup.body).not.toContain("<script>alert(1)</script>");
    expect(markup.body).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(markup.body).toContain("No e-service matches your search.");
  });

  it("renders a department name with markup as text", async () => {
    eservices = [eservice("lcsd-prod", "book-a-venue", { en: "Book <i>a</i> venue" })];
    const page = await get("/");
    expect(page.body).toContain("Leisure &lt;b&gt;and&lt;/b&gt; Cultural Services");
    expect(page.body).toContain("Book &lt;i&gt;a&lt;/i&gt; venue");
    expect(page.body).not.toContain("<b>and</b>");
  });

  it("files an e-service under the department of its namespace, whatever labels the department set", async () => {
    const forged = eservice("lcsd-prod", "fake-visa", { en: "Fake visa" });
    forged.metadata.labels = { "govhost.io/department": "immd" };
    eservices = [forged];
    const page = await get("/");
    expect(page.body).toContain("<p>Leisure &lt;b&gt;and&lt;/b&gt; Cultural Services</p>");
    expect(page.body).not.toContain("Immigration Department");
  });
});

describe("an e-service's page", () => {
  it("shows its department, cluster, address, standard and last scan, in both languages", async () => {
    eservices = [eservice("immd-prod", "visa-status")];
    const en = await get("/eservices/immd-prod/visa-status");
    expect(en.statusCode).toBe(200);
    expect(en.body).toContain("<h1>Visa status</h1>");
    expect(en.body).toContain("Immigration Department");
    expect(en.body).toContain("Travel and immigration");
    expect(en.body).toContain(
      '<a href="https://visa-status.immd.gov.example">https://visa-status.immd.gov.example</a>',
    );
    expect(en.body).toContain("WCAG 2.2 AA");
    // 01:30 UTC is 09:30 in Hong Kong.
    expect(en.body).toContain('<time datetime="2026-11-30T01:30:00Z">30 November 2026 at 9:30');
    expect(en.body).toContain('hreflang="zh-Hant" href="/zh-Hant/eservices/immd-prod/visa-status"');
    const zh = await get("/zh-Hant/eservices/immd-prod/visa-status");
    expect(zh.body).toContain("<h1>簽證申請進度</h1>");
    expect(zh.body).toContain("入境事務處");
    expect(zh.body).toContain("2026年11月30日");
    expect(zh.body).toContain('hreflang="en" href="/eservices/immd-prod/visa-status"');
  });

  it("shows this month's availability and satisfaction, or that they are not measured yet", async () => {
    eservices = [eservice("immd-prod", "visa-status"), eservice("immd-prod", "permits")];
    publicFigures = {
      "immd-prod/visa-status": {
        period: "2026-12",
        availabilityPercent: 99.8,
        satisfactionPercent: 66.6,
        ratings: 3,
      },
    };
    const en = await get("/eservices/immd-prod/visa-status");
    expect(en.body).toMatch(
      /<dt class="text-bold">Availability<\/dt>\s*<dd[^>]*>99\.8% of the platform&#39;s checks answered in December 2026<\/dd>/,
    );
    expect(en.body).toMatch(
      /<dt class="text-bold">Satisfaction<\/dt>\s*<dd[^>]*>66\.6% of 3 ratings satisfied or very satisfied in December 2026<\/dd>/,
    );
    const zh = await get("/zh-Hant/eservices/immd-prod/visa-status");
    expect(zh.body).toContain("2026年12月平台檢查的回應率為 99.8%");
    expect(zh.body).toContain("2026年12月共 3 個評分，其中 66.6% 表示滿意或非常滿意");
    const unprobed = await get("/eservices/immd-prod/permits");
    expect(unprobed.body).toMatch(
      /<dt class="text-bold">Availability<\/dt>\s*<dd[^>]*>Not measured yet<\/dd>/,
    );
  });

  it("is the same 404 page for an unknown, unexposed or internal e-service, in the path's language", async () => {
    eservices = [
      eservice("immd-prod", "draft-form", { exposed: false }),
      eservice("immd-dev", "staff-only", { exposure: "internal" }),
    ];
    for (const url of [
      "/eservices/immd-prod/nope",
      "/eservices/immd-prod/draft-form",
      "/eservices/immd-dev/staff-only",
    ]) {
      const page = await get(url);
      expect(page.statusCode, url).toBe(404);
      expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(page.body).toContain("<h1>Page not found</h1>");
      expect(page.body).not.toContain("draft");
      expect(page.body).not.toContain("staff");
    }
    const zh = await get("/zh-Hant/eservices/immd-prod/nope");
    expect(zh.statusCode).toBe(404);
    expect(zh.body).toContain("<h1>找不到網頁</h1>");
  });

  it("links an address only when it is http(s)", async () => {
    const odd = eservice("immd-prod", "visa-status");
    if (odd.status) odd.status.url = "javascript:alert(1)";
    eservices = [odd];
    const page = await get("/eservices/immd-prod/visa-status");
    expect(page.body).not.toContain('href="javascript:');
    expect(page.body).toContain("javascript:alert(1)");
  });
});

describe("around the pages", () => {
  it("answers a browser's unknown path with the 404 page, and programs and /api with problem+json", async () => {
    eservices = [];
    const browser = await get("/no-such-page");
    expect(browser.statusCode).toBe(404);
    expect(browser.headers["content-type"]).toBe("text/html; charset=utf-8");
    const program = await get("/no-such-page", "application/json");
    expect(program.statusCode).toBe(404);
    expect(program.headers["content-type"]).toContain("application/problem+json");
    const api = await get("/api/v1/no-such-route");
    expect(api.headers["content-type"]).toContain("application/problem+json");
  });

  it("serves the design system's CSS, fonts and images, and nothing else of the package", async () => {
    const css = await get("/assets/uswds/css/uswds.min.css", "text/css");
    expect(css.statusCode).toBe(200);
    expect(css.headers["content-type"]).toContain("text/css");
    const font = await get("/assets/uswds/fonts/source-sans-pro/sourcesanspro-regular-webfont.woff2", "*/*");
    expect(font.statusCode).toBe(200);
    for (const url of [
      "/assets/uswds/js/uswds.min.js",
      "/assets/uswds/../package.json",
      "/assets/uswds/%2e%2e/%2e%2e/package.json",
      "/assets/uswds/scss/_index.scss",
    ]) {
      const refused = await get(url, "*/*");
      expect(refused.statusCode, url).toBe(404);
    }
  });

  it("keeps the JSON catalogue's shape", async () => {
    eservices = [eservice("immd-prod", "visa-status")];
    const json = await get("/api/v1/service-clusters", "application/json");
    expect(JSON.parse(json.body)).toEqual({
      items: [
        {
          cluster: "travel-and-immigration",
          services: [
            {
              name: "visa-status",
              department: "immd",
              displayName: { en: "Visa status", zhHant: "簽證申請進度" },
              url: "https://visa-status.immd.gov.example",
            },
          ],
        },
      ],
    });
    publicFigures = { "immd-prod/visa-status": { period: "2026-12", availabilityPercent: 97.5 } };
    const probed = JSON.parse((await get("/api/v1/service-clusters", "application/json")).body) as {
      items: { services: { figures?: unknown }[] }[];
    };
    expect(probed.items[0]?.services[0]?.figures).toEqual({ period: "2026-12", availabilityPercent: 97.5 });
  });
});

describe("wcagCriteria", () => {
  it("reads success criteria from axe's tags and leaves out the level tags", () => {
    expect(wcagCriteria("wcag2aa,wcag143,cat.color")).toEqual(["1.4.3"]);
    expect(wcagCriteria("wcag2a,wcag111,wcag21aa,wcag1410")).toEqual(["1.1.1", "1.4.10"]);
    expect(wcagCriteria(undefined)).toEqual([]);
  });
});

describe("formatMoney", () => {
  it("writes minor units exactly, as each locale writes Hong Kong dollars", () => {
    expect(formatMoney(123456, "HKD", "en")).toBe("HK$1,234.56");
    expect(formatMoney(1, "HKD", "en")).toBe("HK$0.01");
    expect(formatMoney(-5, "HKD", "zh-Hant")).toBe("-HK$0.05");
    // The largest exact integer stays exact to the cent (formatted from a decimal string, never divided).
    expect(formatMoney(Number.MAX_SAFE_INTEGER, "HKD", "en")).toBe("HK$90,071,992,547,409.91");
  });
});

describe("formatPrice", () => {
  it("writes a unit price in minor units exactly, with the fractions of a cent it has", () => {
    expect(formatPrice("35.5", "HKD", "en")).toBe("HK$0.355");
    expect(formatPrice("150000", "HKD", "en")).toBe("HK$1,500.00");
    expect(formatPrice("7", "HKD", "zh-Hant")).toBe("HK$0.07");
    expect(formatPrice("0.0001", "HKD", "en")).toBe("HK$0.000001");
    expect(formatPrice("not a price", "HKD", "en")).toBe("not a price");
  });
});

describe("versionInForce", () => {
  it("picks the latest version whose start has passed, whatever the order", () => {
    const versions = [
      { validFrom: "2027-01-01T00:00:00Z" },
      { validFrom: "2026-01-01T00:00:00Z" },
      { validFrom: "2026-06-01T00:00:00+08:00" },
    ];
    expect(versionInForce(versions, Date.parse("2026-12-01T00:00:00Z"))).toBe(versions[2]);
    expect(versionInForce(versions, Date.parse("2025-12-31T00:00:00Z"))).toBeUndefined();
    expect(versionInForce(versions, Date.parse("2027-01-01T00:00:00Z"))).toBe(versions[0]);
  });
});

describe("departmentRequest", () => {
  it("makes the API's body from the form, passing what is not a number as typed so the API names the field", () => {
    const body = departmentRequest({
      name: "dof",
      displayNameEn: "Department of Forms",
      displayNameZh: "表格署",
      costCentre: "CC-1",
      admins: "dof-admins",
      developers: "",
      domain: "dof.gov.example",
      cpu: "8",
      memory: "32Gi",
      storage: "200Gi",
      pods: "many",
      eServices: "20",
      publicEndpoints: "10",
      budget: "50000.50",
      classification: "RESTRICTED",
    });
    expect(body).toEqual({
      name: "dof",
      spec: {
        displayName: { en: "Department of Forms", zhHant: "表格署" },
        costCentre: "CC-1",
        groups: { admins: ["dof-admins"], developers: [], viewers: [] },
        quota: {
          cpu: "8",
          memory: "32Gi",
          storage: "200Gi",
          pods: "many",
          eServices: 20,
          publicEndpoints: 10,
        },
        maxDataClassification: "RESTRICTED",
        domains: ["dof.gov.example"],
        monthlyBudget: { amount: 50000.5 },
      },
    });
    expect(departmentRequest({ name: "x" }).spec).not.toHaveProperty("domains");
    expect(departmentRequest({ name: "x" }).spec).not.toHaveProperty("monthlyBudget");
  });
});

describe("barChart", () => {
  it("scales bars to the largest value and keeps a zero a zero", () => {
    const chart = barChart([
      { label: "a", value: 200, text: "HK$2.00" },
      { label: "b", value: 50, text: "HK$0.50" },
      { label: "c", value: 0, text: "—" },
    ]);
    expect(chart.bars.map((bar) => bar.barWidth)).toEqual([460, 115, 0]);
    expect(chart.height).toBe(3 * 36 + 8);
  });
});

import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { axeSource } from "../../controller/accessibility/axe-source.ts";
import { AccessibilityScanner } from "../../controller/accessibility/scanner.ts";
import { tagsFor } from "../../controller/accessibility/standards.ts";
import { platformDefaults } from "../../controller/api/defaults.ts";
import type { EService } from "../../controller/api/eservice.ts";
import { platformGroups } from "../../controller/api/rbac.ts";
import { periodOf } from "../../lib/chargeback/calendar.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { projectRoot } from "../../lib/local-state.ts";
import type { RunningPortalApi } from "../../portal-api/app.ts";
import { formatPrice } from "../../portal-api/pages/i18n.ts";
import { pageContentSecurityPolicy } from "../../portal-api/pages/render.ts";
import { freePort } from "../../tools/cluster/ports.ts";
import { type FixtureSite, startFixtureSite } from "../../tools/demo-site.ts";
import { loginAs } from "../../tools/oidc/login.ts";
import { type LocalProvider, startLocalProvider } from "../../tools/oidc/provider.ts";
import { webClient } from "../../tools/oidc/users.ts";
import { signInAtProvider } from "./support/browser-sign-in.ts";
import { requireChromium } from "./support/chromium.ts";
import { type ControllerProcess, startController } from "./support/controller-process.ts";
import {
  client,
  departmentManifest,
  isReady,
  waitForDepartment,
  waitForQuotaToCount,
} from "./support/govhost.ts";
import { eventually, uniqueName } from "./support/kube.ts";
import { startTestPortalApi, testAudience } from "./support/portal-api.ts";

// Issue #19, the public pages: a citizen finds an e-service that the real controller exposed (its pages
// scanned and passed), in English and Traditional Chinese, in a real browser; and the project's own
// accessibility scanner (axe-core in jsdom and Chromium, WCAG 2.2 AA, plus the look-and-feel rules) finds
// nothing wrong with any of the pages, in either language.

type EServiceObject = EService & KubeObject;

const dept = uniqueName("pages");
/** A department the demo user immd-admin has no part in. */
const other = uniqueName("other");
const ns = `${dept}-prod`;
/** The department an operator creates with the form. */
const created = uniqueName("made");
let site: FixtureSite;
let admin: KubeClient;
let controller: ControllerProcess;
let provider: LocalProvider;
let api: RunningPortalApi;
let browser: Browser;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "govhost-pages-"));
  site = await startFixtureSite("fixed");
  admin = await client();
  controller = await startController({
    // Draft statements are recomputed every 2 s here, so finance sees this run's costs at once.
    env: { GOVHOST_A11Y_PREVIEW_HOSTS: new URL(site.url).host, GOVHOST_METERING_REFRESH_MS: "2000" },
  });
  const department = departmentManifest(dept, {
    domains: [`${dept}.gov.example`],
    groups: { admins: ["immd-admins"], developers: ["immd-developers"], viewers: [] },
  });
  // A display name with markup: the pages must show it as text.
  department.spec.displayName = { en: "Pages <em>Test</em> Department", zhHant: "網頁測試部" };
  await admin.create(department);
  await waitForDepartment(admin, dept, isReady, "ready");
  await waitForQuotaToCount(admin, ns, "count/eservices.govhost.io");
  // A public e-service with a preview is an operator's decision (GH-PUB-001, GH-A11Y-002).
  const operator = await client({ user: "olivia", groups: [platformGroups.operator] });
  try {
    await operator.create({
      apiVersion: "govhost.io/v1alpha1",
      kind: "EService",
      metadata: { name: "visa-status", namespace: ns },
      spec: {
        image: "registry.gov.example/immd/visa-status:1.0.0",
        exposure: "public",
        serviceCluster: "travel-and-immigration",
        displayName: { en: "Visa application status", zhHant: "簽證申請進度" },
        accessibility: { previewUrl: site.url, paths: ["/", "/contact"], languages: ["en", "zh-HK"] },
      },
    });
    // Pages with known WCAG failures: the department sees the findings on the e-service's page.
    await operator.create({
      apiVersion: "govhost.io/v1alpha1",
      kind: "EService",
      metadata: { name: "permit-form", namespace: ns },
      spec: {
        image: "registry.gov.example/immd/permit-form:1.0.0",
        exposure: "public",
        displayName: { en: "Permit form", zhHant: "許可證表格" },
        accessibility: {
          previewUrl: site.url.replace(/\/site$/, "/broken"),
          paths: ["/", "/contact"],
          languages: ["en", "zh-HK"],
        },
      },
    });
  } finally {
    operator.close();
  }
  await eventually(
    "the broken pages to be judged",
    async () => {
      const es = await admin.get<EServiceObject>(resources.eservice, "permit-form", ns);
      return es.status?.conditions?.some((c) => c.type === "AccessibilityBaseline" && c.status === "False")
        ? es
        : undefined;
    },
    120_000,
  );
  await eventually(
    "the e-service to be exposed",
    async () => {
      const es = await admin.get<EServiceObject>(resources.eservice, "visa-status", ns);
      return es.status?.conditions?.some((c) => c.type === "Exposed" && c.status === "True") ? es : undefined;
    },
    120_000,
  );
  await admin.create(departmentManifest(other));
  // Sign-in to the pages: the provider sends people back to the API's address, so the port comes first.
  const port = await freePort();
  const webUrl = `http://127.0.0.1:${port}`;
  provider = await startLocalProvider({
    audience: testAudience,
    webRedirectUris: [`${webUrl}/auth/callback`],
  });
  api = await startTestPortalApi(provider.issuer, join(dir, "audit.log"), 100_000, {
    port,
    web: {
      baseUrl: webUrl,
      clientId: webClient.id,
      clientSecret: webClient.secret,
      sessionKey: randomBytes(32),
    },
  });
  browser = await chromium.launch({ executablePath: requireChromium() });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await provider?.close();
  await admin?.delete(resources.department, dept);
  await admin?.delete(resources.department, other);
  await admin?.delete(resources.department, created);
  await controller?.stop();
  admin?.close();
  await site?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const pagePaths = [
  "/",
  "/zh-Hant",
  `/eservices/${ns}/visa-status`,
  `/zh-Hant/eservices/${ns}/visa-status`,
  "/?q=visa",
  `/zh-Hant?q=${encodeURIComponent("沒有這項服務")}`,
];

describe("the public pages in a real browser", () => {
  it("lead a citizen from the catalogue to the e-service and its address, in both languages, with JavaScript off", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const refusedByCsp: string[] = [];
    try {
      const page = await context.newPage();
      page.on("console", (message) => {
        if (/Content Security Policy/i.test(message.text())) refusedByCsp.push(message.text());
      });
      const home = await page.goto(api.url);
      await screenshot(page, "catalogue");
      expect(home?.headers()["content-security-policy"]).toBe(pageContentSecurityPolicy);
      // The design system's stylesheet loaded under that policy: its font is the body's.
      expect(await page.evaluate(() => getComputedStyle(document.body).fontFamily)).toContain(
        "Source Sans Pro",
      );
      // Search with the form (a plain GET: no script needed).
      await page.getByLabel("Search e-services").fill("visa");
      await page.getByRole("button", { name: "Search" }).click();
      await expect.poll(() => page.url()).toContain("?q=visa");
      await page.getByRole("link", { name: "Visa application status" }).click();
      expect(new URL(page.url()).pathname).toBe(`/eservices/${ns}/visa-status`);
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Visa application status");
      await screenshot(page, "eservice");
      // The department's name is text, markup and all.
      expect(await page.locator("main").textContent()).toContain("Pages <em>Test</em> Department");
      expect(await page.locator("main em").count()).toBe(0);
      const es = await admin.get<EServiceObject>(resources.eservice, "visa-status", ns);
      expect(es.status?.url).toMatch(new RegExp(`^https://visa-status\\.${dept}\\.gov\\.example/?$`));
      expect(await page.getByRole("link", { name: "Use this e-service" }).getAttribute("href")).toBe(
        es.status?.url,
      );
      // The language switch keeps the page.
      await page.getByRole("link", { name: "繁體中文" }).click();
      expect(new URL(page.url()).pathname).toBe(`/zh-Hant/eservices/${ns}/visa-status`);
      expect(await page.locator("html").getAttribute("lang")).toBe("zh-Hant");
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("簽證申請進度");
      expect(await page.locator("main").textContent()).toContain("網頁測試部");
      await page.getByRole("link", { name: "English" }).click();
      expect(new URL(page.url()).pathname).toBe(`/eservices/${ns}/visa-status`);
      expect(refusedByCsp).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it("pass the project's own accessibility scanner (WCAG 2.2 AA and look and feel) with zero findings, in both languages", async () => {
    const scanner = new AccessibilityScanner();
    try {
      const result = await scanner.scan({
        baseUrl: api.url,
        paths: pagePaths,
        standard: "WCAG22-AA",
        clientRendered: false,
        languages: ["en", "zh-Hant"],
      });
      expect(result.errors).toEqual([]);
      expect([...result.tiers].sort()).toEqual(["chromium", "jsdom"]);
      expect(result.findings).toEqual([]);
      expect(result.lookAndFeel).toEqual([]);
    } finally {
      await scanner.close();
    }
  }, 180_000);

  it("serve a 404 page that axe (WCAG 2.2 AA) finds nothing wrong with, in both languages", async () => {
    // The scanner judges pages that answer 200; the 404 page is judged by axe in the browser directly.
    const context = await browser.newContext({ bypassCSP: true });
    try {
      const page = await context.newPage();
      for (const path of [`/eservices/${ns}/no-such-service`, "/zh-Hant/no-such-page"]) {
        const response = await page.goto(`${api.url}${path}`);
        expect(response?.status(), path).toBe(404);
        expect(await axeViolations(page), path).toEqual([]);
      }
    } finally {
      await context.close();
    }
  });
});

/** Signs in at the local provider's login and consent pages (development interactions: any password). */
async function signIn(page: Page, user: string): Promise<void> {
  await signInAtProvider(page, user, api.url);
  expect(page.url().startsWith(api.url), page.url()).toBe(true);
}

/**
 * With GOVHOST_UPDATE_SCREENSHOTS=1 (`npm run screenshots`), the page as the README shows it, written to
 * docs/screenshots/ (a normal run writes nothing into the checkout).
 */
async function screenshot(page: Page, name: string, scrollTo?: string): Promise<void> {
  if (process.env.GOVHOST_UPDATE_SCREENSHOTS !== "1") return;
  if (scrollTo)
    await page
      .getByRole("heading", { name: scrollTo })
      .evaluate((heading) => heading.scrollIntoView({ block: "start" }));
  await page.screenshot({ path: join(projectRoot, "docs", "screenshots", `${name}.png`) });
}

/** axe (WCAG 2.2 AA) on the page as it is: the ids of the rules it violates. */
async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(await axeSource());
  return page.evaluate(
    (tags) =>
      (
        globalThis as unknown as {
          axe: { run: (o: object) => Promise<{ violations: { id: string }[] }> };
        }
      ).axe
        .run({ runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] })
        .then((r) => r.violations.map((v) => v.id)),
    tagsFor("WCAG22-AA"),
  );
}

describe("signing in to the department pages", () => {
  it("signs a department admin in, shows their department, refuses another's, and signs out", async () => {
    // bypassCSP only so that axe can be injected; the pages' own CSP is checked above.
    const context = await browser.newContext({ bypassCSP: true });
    try {
      const page = await context.newPage();
      // Not signed in: the department pages send people to sign in first, then back.
      await page.goto(`${api.url}/departments/${dept}`);
      expect(page.url().startsWith(provider.issuer)).toBe(true);
      await signIn(page, "immd-admin");
      expect(new URL(page.url()).pathname).toBe(`/departments/${dept}`);
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe(
        "Pages <em>Test</em> Department",
      );
      expect(await page.locator("header").textContent()).toContain("Signed in as immd-admin");
      // Quota used against the limit, environments and the e-service's states.
      const quota = page.getByRole("table").first();
      expect(await quota.getByRole("row", { name: /E-services/ }).textContent()).toContain("1");
      expect(await page.getByRole("heading", { name: "E-services in prod" }).count()).toBe(1);
      const row = page.getByRole("row", { name: /Visa application status/ });
      expect(await row.textContent()).toMatch(/Yes/);
      expect(await axeViolations(page)).toEqual([]);
      await screenshot(page, "department");

      // An e-service's page: its findings, with the WCAG criterion and how to fix each.
      await page.getByRole("link", { name: "Permit form" }).click();
      expect(new URL(page.url()).pathname).toBe(
        `/departments/${dept}/environments/prod/eservices/permit-form`,
      );
      const contrast = page.getByRole("row", { name: /color-contrast/ }).first();
      expect(await contrast.textContent()).toContain("1.4.3");
      expect(await contrast.textContent()).toContain("serious");
      expect(await page.getByRole("link", { name: "More about color-contrast" }).count()).toBeGreaterThan(0);
      await screenshot(page, "eservice-findings");
      expect(await axeViolations(page)).toEqual([]);
      // Deploying a malformed image: the API's problem, field and fix, above the form; nothing changes.
      await page.getByLabel("Image", { exact: true }).fill("not an image");
      const refusedWrite = page.waitForResponse((r) => r.request().method() === "POST");
      await page.getByRole("button", { name: "Deploy" }).click();
      expect((await refusedWrite).status()).toBe(400);
      expect(await page.getByRole("alert").textContent()).toContain("There is a problem");
      expect(await page.locator("#image-error").textContent()).toMatch(/image/i);
      expect(await page.getByLabel("Image", { exact: true }).inputValue()).toBe("not an image");
      expect(await page.getByLabel("Image", { exact: true }).getAttribute("aria-describedby")).toContain(
        "image-error",
      );
      expect(await axeViolations(page)).toEqual([]);
      expect((await admin.get<EServiceObject>(resources.eservice, "permit-form", ns)).spec.image).toBe(
        "registry.gov.example/immd/permit-form:1.0.0",
      );
      // A good image is deployed, in the admin's own name.
      await page.getByLabel("Image", { exact: true }).fill("registry.gov.example/immd/permit-form:1.0.1");
      await page.getByRole("button", { name: "Deploy" }).click();
      expect(await page.getByRole("status").textContent()).toContain("Saved");
      expect((await admin.get<EServiceObject>(resources.eservice, "permit-form", ns)).spec.image).toBe(
        "registry.gov.example/immd/permit-form:1.0.1",
      );
      // Withdrawing it from the public.
      await page.getByRole("button", { name: "Withdraw from the public" }).click();
      expect(await page.getByRole("status").textContent()).toContain("Saved");
      expect((await admin.get<EServiceObject>(resources.eservice, "permit-form", ns)).spec.exposure).toBe(
        "internal",
      );
      await page.goto(`${api.url}/departments/${dept}`);

      // Creating an e-service with the form: a bad name is refused with the field's error and what was
      // typed kept; the corrected form creates it, in the admin's own name.
      await page.getByRole("link", { name: "Create an e-service in dev" }).click();
      await page.getByLabel("Name", { exact: true }).fill("Bad_Name");
      await page.getByLabel("Image", { exact: true }).fill("registry.gov.example/immd/lookup:1.0.0");
      const refusedCreate = page.waitForResponse((r) => r.request().method() === "POST");
      await page.getByRole("button", { name: "Create" }).click();
      expect((await refusedCreate).status()).toBe(400);
      expect(await page.locator("#name-error").textContent()).toContain("name");
      expect(await page.getByLabel("Image", { exact: true }).inputValue()).toBe(
        "registry.gov.example/immd/lookup:1.0.0",
      );
      expect(await axeViolations(page)).toEqual([]);
      await page.getByLabel("Name", { exact: true }).fill("lookup");
      await page.getByRole("button", { name: "Create" }).click();
      expect(new URL(page.url()).pathname).toBe(`/departments/${dept}/environments/dev/eservices/lookup`);
      expect(await page.getByRole("status").textContent()).toContain("Saved");
      expect((await admin.get<EServiceObject>(resources.eservice, "lookup", `${dept}-dev`)).spec.image).toBe(
        "registry.gov.example/immd/lookup:1.0.0",
      );
      await page.goto(`${api.url}/departments/${dept}`);

      // The session cookie: encrypted, HttpOnly, SameSite; Secure off only on this local http address.
      const cookies = await context.cookies(api.url);
      const session = cookies.find((c) => c.name === "govhost_session");
      expect(session).toMatchObject({ httpOnly: true, sameSite: "Lax", secure: false, path: "/" });
      // A JWE (direct AES-256-GCM): the access token inside cannot be read or changed by the browser.
      const [header, key, , ciphertext] = session?.value.split(".") ?? [];
      expect(JSON.parse(Buffer.from(header ?? "", "base64url").toString())).toEqual({
        alg: "dir",
        enc: "A256GCM",
      });
      expect(key).toBe("");
      expect(Buffer.from(ciphertext ?? "", "base64url").toString("latin1")).not.toContain("immd-admin");

      // The list of their departments, in Traditional Chinese too.
      await page.goto(`${api.url}/zh-Hant/my`);
      expect(await page.locator("html").getAttribute("lang")).toBe("zh-Hant");
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("您的部門");
      expect(await page.getByRole("link", { name: "網頁測試部" }).count()).toBe(1);
      expect(await page.locator("main").textContent()).not.toContain(other);
      expect(await axeViolations(page)).toEqual([]);

      // Another department's page: the API refuses the admin, so the page is a 403 that names nothing.
      const refused = await page.goto(`${api.url}/departments/${other}`);
      expect(refused?.status()).toBe(403);
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Not allowed");
      expect(await page.locator("main").textContent()).not.toContain(other);
      expect(await axeViolations(page)).toEqual([]);

      // A form post without the CSRF token is refused, and the session stays.
      const forged = await page.evaluate(
        (url) =>
          fetch(`${url}/sign-out`, { method: "POST", body: new URLSearchParams({}) }).then((r) => r.status),
        api.url,
      );
      expect(forged).toBe(403);
      expect((await context.cookies(api.url)).some((c) => c.name === "govhost_session")).toBe(true);

      // Signing out ends the session: the department pages ask for sign-in again.
      await page.goto(`${api.url}/my`);
      await page.getByRole("button", { name: "Sign out" }).click();
      await page.waitForLoadState();
      expect((await context.cookies(api.url)).some((c) => c.name === "govhost_session")).toBe(false);
      // ...at the provider too (RP-initiated logout: it asks to confirm, then sends people home).
      expect(page.url().startsWith(provider.issuer)).toBe(true);
      await page.locator('button[type="submit"], input[type="submit"]').first().click();
      await page.waitForURL(`${api.url}/`);
      await page.goto(`${api.url}/my`);
      expect(page.url().startsWith(provider.issuer)).toBe(true);
      expect(await page.locator('input[name="login"]').count()).toBe(1);
    } finally {
      await context.close();
    }
  });

  it("shows finance the cost by department, drills down to a resource line, and downloads a CSV with the same total", async () => {
    const context = await browser.newContext({ bypassCSP: true });
    try {
      const page = await context.newPage();
      await page.goto(`${api.url}/costs`);
      await signIn(page, "finance");
      expect(new URL(page.url()).pathname).toBe("/costs");
      const row = () => page.getByRole("row", { name: /Pages <em>Test<\/em> Department/ });
      // The month's draft statement appears once the meter has recorded this run's public endpoint.
      await expect
        .poll(
          async () => {
            await page.reload();
            return (await row().count()) > 0 && (await row().getByRole("cell").first().textContent()) !== "—";
          },
          { timeout: 90_000, interval: 2_000 },
        )
        .toBe(true)
        .catch(async (error) => {
          throw new Error(`${error}\n${(await page.locator("main").innerText()).slice(0, 1500)}`);
        });
      expect(await row().textContent()).toMatch(/HK\$[\d,]+\.\d{2}/);
      expect(await page.locator("svg[role=img]").count()).toBe(1);
      await screenshot(page, "costs");
      expect(await axeViolations(page)).toEqual([]);
      await row().getByRole("link").click();
      expect(new URL(page.url()).pathname).toMatch(new RegExp(`^/costs/${dept}/\\d{4}-\\d{2}$`));
      const total = (await page.locator("main p strong").nth(1).textContent()) ?? "";
      expect(await page.getByRole("cell", { name: "public-endpoint" }).count()).toBeGreaterThan(0);
      await screenshot(page, "statement");
      expect(await axeViolations(page)).toEqual([]);
      // The CSV: the API's own, as finance; its total row equals the statement's total on the page.
      const csvHref =
        (await page.getByRole("link", { name: "Download as CSV (spreadsheet)" }).getAttribute("href")) ?? "";
      const csv = await page.request.get(`${api.url}${csvHref}`);
      expect(csv.status()).toBe(200);
      expect(csv.headers()["content-type"]).toContain("text/csv");
      const records = parse(await csv.text(), { columns: true }) as Record<string, string>[];
      const totalRow = records.find((r) => r.resource === "total");
      const lineSum = records
        .filter((r) => r.resource !== "total")
        .reduce((sum, r) => sum + Number(r.amountMinor), 0);
      expect(Number(totalRow?.amountMinor)).toBe(lineSum);
      const shown = Number(total.replace(/[^\d]/g, ""));
      expect(shown).toBe(Number(totalRow?.amountMinor));
      // In Traditional Chinese too, with the same figure.
      await page.goto(`${api.url}/zh-Hant${new URL(page.url()).pathname}`);
      expect(await page.locator("html").getAttribute("lang")).toBe("zh-Hant");
      expect(await page.locator("main").textContent()).toContain(total);
      expect(await axeViolations(page)).toEqual([]);
    } finally {
      await context.close();
    }
  }, 150_000);

  it("shows an auditor the audit log with the chain's verdict, and refuses it to a department admin", async () => {
    const context = await browser.newContext({ bypassCSP: true });
    try {
      const page = await context.newPage();
      await page.goto(`${api.url}/audit`);
      await signIn(page, "auditor");
      expect(new URL(page.url()).pathname).toBe("/audit");
      expect(await page.getByRole("status").textContent()).toMatch(
        /The chain is intact: \d+ records verified/,
      );
      // The writes made through the pages earlier in this file, in the admin's name.
      const update = page.getByRole("row", { name: /eservice\.update/ }).first();
      expect(await update.textContent()).toContain("immd-admin");
      expect(await update.textContent()).toContain("permit-form");
      expect(await axeViolations(page)).toEqual([]);
    } finally {
      await context.close();
    }
    const admin = await browser.newContext();
    try {
      const page = await admin.newPage();
      await page.goto(`${api.url}/audit`);
      await signIn(page, "immd-admin");
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Not allowed");
      expect(await page.locator("main table").count()).toBe(0);
    } finally {
      await admin.close();
    }
  });

  it("lets a department admin create an e-service with the keyboard only", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${api.url}/my`);
      await signIn(page, "immd-admin");
      /** Presses Tab until the focused element is the one described, then returns (never clicks). */
      const tabTo = async (
        what: string,
        matches: (el: { tag: string; text: string; id: string }) => boolean,
      ) => {
        for (let presses = 0; presses < 80; presses++) {
          await page.keyboard.press("Tab");
          const focused = await page.evaluate(() => {
            const el = document.activeElement;
            return { tag: el?.tagName ?? "", text: el?.textContent?.trim() ?? "", id: el?.id ?? "" };
          });
          if (matches(focused)) return;
        }
        throw new Error(`${what} cannot be reached with Tab on ${page.url()}`);
      };
      await tabTo(
        "the department link",
        (el) => el.tag === "A" && el.text === "Pages <em>Test</em> Department",
      );
      await page.keyboard.press("Enter");
      await page.waitForURL(`${api.url}/departments/${dept}`);
      await tabTo("the create link", (el) => el.tag === "A" && el.text === "Create an e-service in dev");
      await page.keyboard.press("Enter");
      await page.waitForURL(`${api.url}/departments/${dept}/environments/dev/new-eservice`);
      await tabTo("the name field", (el) => el.id === "name");
      await page.keyboard.type("by-keyboard");
      await tabTo("the image field", (el) => el.id === "image");
      await page.keyboard.type("registry.gov.example/immd/by-keyboard:1.0.0");
      await tabTo("the create button", (el) => el.tag === "BUTTON" && el.text === "Create");
      await page.keyboard.press("Enter");
      await page.waitForURL(`${api.url}/departments/${dept}/environments/dev/eservices/by-keyboard?saved=1`);
      expect(await page.getByRole("status").textContent()).toContain("Saved");
      // The focused element is always visible: USWDS draws a focus outline.
      await tabTo("the deploy button", (el) => el.tag === "BUTTON" && el.text === "Deploy");
      const outline = await page.evaluate(
        () => getComputedStyle(document.activeElement as Element).outlineStyle,
      );
      expect(outline).not.toBe("none");
    } finally {
      await context.close();
    }
  });

  it("never sends people elsewhere after sign-in, whatever return address a link carries", async () => {
    for (const target of ["https://evil.example/", "//evil.example/x", "/\\evil.example"]) {
      const response = await fetch(`${api.url}/sign-in?return=${encodeURIComponent(target)}`, {
        redirect: "manual",
      });
      expect(response.status).toBe(303);
      expect(response.headers.get("location")?.startsWith(provider.issuer)).toBe(true);
    }
    // An answer from the provider that this browser's sign-in did not start is refused, with a page.
    const stray = await fetch(`${api.url}/auth/callback?code=forged&state=forged`);
    expect(stray.status).toBe(400);
    expect(await stray.text()).toContain("Sign-in expired");
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${api.url}/sign-in?return=${encodeURIComponent("//evil.example/x")}`);
      await signIn(page, "immd-admin");
      expect(new URL(page.url()).pathname).toBe("/my");
    } finally {
      await context.close();
    }
  });
});

type InstanceObject = KubeObject & {
  spec: { service: string; plan: string; parameters?: { legalHolds?: { id: string; placedBy: string }[] } };
};

/** A signed-in browser context for `user`, starting at `path`. */
async function signedInPage(user: string, path: string) {
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  await page.goto(`${api.url}${path}`);
  await signIn(page, user);
  return { context, page };
}

/** The text of the page's error summary, if it has one (to say why a form was refused). */
async function alertOf(page: Page): Promise<string> {
  const alert = page.getByRole("alert");
  return (await alert.count()) ? ((await alert.first().textContent()) ?? "").trim() : "";
}

/** axe on the page, and on its Traditional Chinese twin (the language switch keeps the page). */
async function axeBothLanguages(page: Page): Promise<void> {
  expect(await axeViolations(page), page.url()).toEqual([]);
  const url = page.url();
  await page.getByRole("link", { name: "繁體中文" }).click();
  expect(await page.locator("html").getAttribute("lang")).toBe("zh-Hant");
  expect(await axeViolations(page), page.url()).toEqual([]);
  await page.goto(url);
}

describe("shared-service subscriptions, records holds, policy reports, the rate card and new departments", () => {
  it("lets a department admin subscribe, change plan and cancel, with the API's field errors on the form", async () => {
    const { context, page } = await signedInPage("immd-admin", `/departments/${dept}`);
    try {
      expect(await page.getByRole("heading", { name: "Budget this month" }).count()).toBe(1);
      await page.getByRole("link", { name: "Shared services in dev" }).click();
      expect(new URL(page.url()).pathname).toBe(`/departments/${dept}/environments/dev/shared-services`);
      expect(await page.locator("main").textContent()).toContain("subscribes to no shared service");
      await axeBothLanguages(page);
      // A name the API refuses: its field error, and both choices kept.
      await page.getByLabel("Name of the subscription").fill("Team_Wiki");
      await page.getByLabel("Service and plan").selectOption("collaboration-workspace/team");
      const refused = page.waitForResponse((r) => r.request().method() === "POST");
      await page.getByRole("button", { name: "Subscribe" }).click();
      expect((await refused).status()).toBe(400);
      expect(await page.locator("#name-error").textContent()).toContain("name");
      expect(await page.getByLabel("Service and plan").inputValue()).toBe("collaboration-workspace/team");
      expect(await page.getByLabel("Name of the subscription").inputValue()).toBe("Team_Wiki");
      expect(await axeViolations(page)).toEqual([]);
      await page.getByLabel("Name of the subscription").fill("team-wiki");
      await page.getByRole("button", { name: "Subscribe" }).click();
      expect(new URL(page.url()).pathname, await alertOf(page)).toBe(
        `/departments/${dept}/environments/dev/shared-services/team-wiki`,
      );
      expect(await page.getByRole("status").textContent()).toContain("Saved");
      const stored = () =>
        admin.find<InstanceObject>(resources.sharedServiceInstance, "team-wiki", `${dept}-dev`);
      expect((await stored())?.spec).toMatchObject({ service: "collaboration-workspace", plan: "team" });
      expect(await page.locator("main").textContent()).toContain("HK$1,500.00 a month");
      // Not a records service: no holds section.
      expect(await page.getByRole("heading", { name: "Legal holds" }).count()).toBe(0);
      await axeBothLanguages(page);
      // Change plan.
      await page.getByLabel("Plan", { exact: true }).selectOption("division");
      await page.getByRole("button", { name: "Change plan" }).click();
      expect(await page.getByRole("status").textContent()).toContain("Saved");
      expect((await stored())?.spec.plan).toBe("division");
      // Cancelling needs the box ticked; then the subscription goes.
      const unconfirmed = page.waitForResponse((r) => r.request().method() === "POST");
      await page.getByRole("button", { name: "Cancel the subscription" }).click();
      expect((await unconfirmed).status()).toBe(400);
      expect(await page.locator("#confirm-error").textContent()).toContain("Tick the box");
      expect(await stored()).toBeDefined();
      expect(await axeViolations(page)).toEqual([]);
      await page.locator('label[for="confirm"]').click(); // USWDS draws the box on the label;
      await page.getByRole("button", { name: "Cancel the subscription" }).click();
      expect(new URL(page.url()).pathname).toBe(`/departments/${dept}/environments/dev/shared-services`);
      expect(await page.getByRole("status").textContent()).toContain("Cancellation started");
      await eventually("the subscription to go", async () => ((await stored()) ? undefined : true), 60_000);
    } finally {
      await context.close();
    }
  }, 120_000);

  it("lets a records manager, and only a records manager, place and lift a legal hold that stops a cancellation", async () => {
    const path = `/departments/${dept}/environments/prod/shared-services`;
    const { context, page } = await signedInPage("immd-admin", path);
    const records = await signedInPage("records", `${path}/case-files`).catch(async (error) => {
      await context.close();
      throw error;
    });
    const stored = () => admin.get<InstanceObject>(resources.sharedServiceInstance, "case-files", ns);
    try {
      await page.getByLabel("Name of the subscription").fill("case-files");
      await page.getByLabel("Service and plan").selectOption("records-management/large");
      await page.getByRole("button", { name: "Subscribe" }).click();
      expect(await page.getByRole("status").textContent()).toContain("Saved");
      // The department's admin sees the holds, but may not place one.
      expect(await page.getByRole("heading", { name: "Legal holds" }).count()).toBe(1);
      expect(await page.locator("main").textContent()).toContain(
        "Only records managers may place or lift legal holds.",
      );
      expect(await page.getByRole("button", { name: "Place the hold" }).count()).toBe(0);

      // The records manager: holds, never the plan or a cancellation.
      const rm = records.page;
      await rm.reload();
      expect(await rm.getByRole("heading", { level: 1 }).textContent()).toBe("case-files");
      expect(await rm.getByRole("button", { name: "Cancel the subscription" }).count()).toBe(0);
      expect(await rm.getByRole("button", { name: "Change plan" }).count()).toBe(0);
      await rm.getByLabel("Hold reference").fill("case-2026-114");
      await rm.getByLabel("Reason").fill("too short");
      const refused = rm.waitForResponse((r) => r.request().method() === "POST");
      await rm.getByRole("button", { name: "Place the hold" }).click();
      expect((await refused).status()).toBe(400);
      expect(await rm.locator("#hold-error").textContent()).toContain("reason");
      expect(await rm.getByLabel("Hold reference").inputValue()).toBe("case-2026-114");
      expect(await axeViolations(rm)).toEqual([]);
      await rm.getByLabel("Reason").fill("Litigation: Chan v. Immigration Department, discovery pending");
      await rm.getByRole("button", { name: "Place the hold" }).click();
      expect(await alertOf(rm)).toBe("");
      expect(await rm.getByRole("status").textContent()).toContain("Saved");
      const held = (await stored()).spec.parameters?.legalHolds ?? [];
      expect(held.map((h) => h.id)).toEqual(["case-2026-114"]);
      // In the records manager's own name (GH-REC-002 checks it again at admission).
      expect(held[0]?.placedBy).toMatch(/#records$/);
      expect(await rm.getByRole("row", { name: /case-2026-114/ }).textContent()).toContain("records");
      await screenshot(rm, "legal-holds", "Legal holds");
      await axeBothLanguages(rm);

      // The API the pages use holds the same line: a records manager changes holds only, in their own name;
      // an admin places none.
      const instance = `${api.url}/api/v1/departments/${dept}/environments/prod/shared-services/case-files`;
      const asUser = async (user: string, method: string, body?: unknown) => {
        const token = await loginAs(provider.issuer, user, testAudience);
        const response = await fetch(instance, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body ? { "content-type": "application/json" } : {}),
          },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        return { status: response.status, text: await response.text() };
      };
      const otherHold = { id: "case-2026-200", reason: "Audit inquiry 2026/7, all files of 2025" };
      expect((await asUser("records", "PATCH", { spec: { plan: "standard" } })).status).toBe(403);
      expect(
        (await asUser("records", "PATCH", { spec: { plan: "standard", parameters: { legalHolds: [] } } }))
          .status,
      ).toBe(403);
      expect((await asUser("records", "DELETE")).status).toBe(403);
      const inAnotherName = await asUser("records", "PATCH", {
        spec: { parameters: { legalHolds: [...held, { ...otherHold, placedBy: "someone-else" }] } },
      });
      expect(inAnotherName.status).toBe(422);
      expect(inAnotherName.text).toContain("GH-REC-002");
      const byAdmin = await asUser("immd-admin", "PATCH", {
        spec: { parameters: { legalHolds: [...held, { ...otherHold, placedBy: "immd-admin" }] } },
      });
      expect(byAdmin.status).toBe(422);
      expect(byAdmin.text).toContain("GH-REC-002");
      expect((await stored()).spec.parameters?.legalHolds?.map((h) => h.id)).toEqual(["case-2026-114"]);

      // Under a hold the admin may not move to a smaller plan (GH-REC-003): refused with the reason, the
      // chosen plan kept on the form, the stored plan unchanged.
      await page.reload();
      await page.getByLabel("Plan", { exact: true }).selectOption("standard");
      await page.getByRole("button", { name: "Change plan" }).click();
      expect(await page.getByRole("alert").textContent()).toContain("GH-REC-003");
      expect(await page.getByLabel("Plan", { exact: true }).inputValue()).toBe("standard");
      expect((await stored()).spec.plan).toBe("large");
      expect(await axeViolations(page)).toEqual([]);

      // The admin's cancellation is refused by the platform, with its reason; nothing is lost.
      await page.goto(`${api.url}${path}/case-files`); // not a reload: that would post the refused form again
      await page.locator('label[for="confirm"]').click(); // USWDS draws the box on the label;
      await page.getByRole("button", { name: "Cancel the subscription" }).click();
      expect(await page.getByRole("alert").textContent()).toContain("GH-REC-001");
      expect((await stored()).metadata?.deletionTimestamp).toBeUndefined();

      // Lifted, the subscription may go. A second tab still showing the hold cannot lift it twice.
      await rm.reload();
      const stale = await records.context.newPage();
      await stale.goto(rm.url());
      await rm.getByRole("button", { name: "Lift hold case-2026-114" }).click();
      expect(await rm.getByRole("status").textContent()).toContain("Saved");
      expect((await stored()).spec.parameters?.legalHolds ?? []).toEqual([]);
      const twice = stale.waitForResponse((r) => r.request().method() === "POST");
      await stale.getByRole("button", { name: "Lift hold case-2026-114" }).click();
      expect((await twice).status()).toBe(404);
      expect(await stale.getByRole("alert").textContent()).toContain(
        "There is no legal hold case-2026-114 on this instance",
      );
      expect(await axeViolations(stale)).toEqual([]);
      await page.goto(`${api.url}${path}/case-files`); // not a reload: that would post the refused form again
      await page.locator('label[for="confirm"]').click(); // USWDS draws the box on the label;
      await page.getByRole("button", { name: "Cancel the subscription" }).click();
      expect(await page.getByRole("status").textContent()).toContain("Cancellation started");
    } finally {
      await records.context.close();
      await context.close();
    }
  }, 120_000);

  it("shows a department's policy reports as the API has them", async () => {
    const { context, page } = await signedInPage("immd-admin", `/departments/${dept}`);
    try {
      await page.getByRole("link", { name: "Policy reports" }).click();
      expect(new URL(page.url()).pathname).toBe(`/departments/${dept}/policy-reports`);
      const reports = await admin.list<KubeObject>(resources.policyReport, {
        labelSelector: `govhost.io/department=${dept}`,
      });
      expect(await page.locator("main section").count()).toBe(reports.items.length);
      for (const report of reports.items)
        expect(await page.locator("main").textContent()).toContain(`Namespace ${report.metadata?.namespace}`);
      await axeBothLanguages(page);
      // Another department's reports: refused.
      expect((await page.goto(`${api.url}/departments/${other}/policy-reports`))?.status()).toBe(403);
    } finally {
      await context.close();
    }
  });

  it("shows finance a department's quota and budget, without its e-services or links to pages finance may not read", async () => {
    const { context, page } = await signedInPage("finance", `/departments/${dept}`);
    try {
      expect(new URL(page.url()).pathname).toBe(`/departments/${dept}`);
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toContain("Pages");
      expect(await page.getByRole("table").first().textContent()).toMatch(/CPU/);
      expect(await page.locator("main").innerText()).toContain(
        "Your roles do not include reading this department's e-services.",
      );
      const hrefs = await page
        .locator("main a")
        .evaluateAll((links) => links.map((a) => a.getAttribute("href") ?? ""));
      expect(
        hrefs.filter((href) =>
          /\/performance\/|\/policy-reports|\/api-requests|\/new-eservice|\/shared-services|\/eservices\//.test(
            href,
          ),
        ),
      ).toEqual([]);
      await axeBothLanguages(page);
    } finally {
      await context.close();
    }
  });

  it("shows finance the rate card in force, exactly", async () => {
    const { context, page } = await signedInPage("finance", "/rate-card");
    try {
      const card = await admin.get<
        KubeObject & { spec: { versions: { validFrom: string; cpuCoreHour: string }[] } }
      >(resources.rateCard, platformDefaults.rateCard);
      const inForce = card.spec.versions
        .filter((v) => Date.parse(v.validFrom) <= Date.now())
        .sort((a, b) => Date.parse(a.validFrom) - Date.parse(b.validFrom))
        .at(-1);
      const cpu = await page
        .getByRole("row", { name: /CPU, per core-hour/ })
        .first()
        .textContent();
      expect(cpu).toContain(formatPrice(inForce?.cpuCoreHour ?? "", "HKD", "en"));
      expect(await page.getByRole("row", { name: /Electronic recordkeeping/ }).count()).toBeGreaterThan(0);
      await screenshot(page, "rate-card");
      await axeBothLanguages(page);
    } finally {
      await context.close();
    }
  });

  it("shows the APIs departments publish to each other, with the OpenAPI document and who may ask", async () => {
    await waitForDepartment(admin, other, isReady, "ready");
    await admin.create({
      apiVersion: "govhost.io/v1alpha1",
      kind: "ApiExport",
      metadata: { name: "permit-check", namespace: `${other}-prod` },
      spec: {
        eservice: "permits",
        description: { en: "Check a permit by its number", zhHant: "按編號查核許可證" },
        openApi: `https://permits.${other}.gov.example/openapi.json`,
        dataClassification: "RESTRICTED",
        consumers: { all: false, departments: [dept] },
      },
    });
    const { context, page } = await signedInPage("immd-admin", "/my");
    try {
      await page.getByRole("link", { name: "APIs", exact: true }).click();
      expect(new URL(page.url()).pathname).toBe("/apis");
      const row = await page.getByRole("row", { name: /permit-check/ }).textContent();
      expect(row).toContain("Check a permit by its number");
      expect(row).toContain(`${other} (prod)`);
      expect(row).toContain("Restricted");
      expect(row).toContain(dept);
      expect(
        await page.getByRole("link", { name: "OpenAPI document (permit-check)" }).getAttribute("href"),
      ).toBe(`https://permits.${other}.gov.example/openapi.json`);
      await axeBothLanguages(page);

      // Asking for it from one of the department's environments: a too-short purpose is refused under its
      // field with what was typed kept; then the request is made, in the API's words.
      const form = page.getByRole("region", { name: `Ask for permit-check of ${other}` });
      const until = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
      await form.getByLabel("From which of your environments").selectOption(`${dept}/dev`);
      await form.getByLabel("Purpose").fill("Check");
      await form.getByLabel("Access until").fill(until);
      const shortPurpose = page.waitForResponse((r) => r.request().method() === "POST");
      await form.getByRole("button").click();
      expect((await shortPurpose).status()).toBe(400);
      const again = page.getByRole("region", { name: `Ask for permit-check of ${other}` });
      expect(await again.locator(".usa-error-message").textContent()).toContain("purpose");
      expect(await again.getByLabel("Purpose").inputValue()).toBe("Check");
      expect(await again.getByLabel("Access until").inputValue()).toBe(until);
      expect(await again.getByLabel("From which of your environments").inputValue()).toBe(`${dept}/dev`);
      expect(await axeViolations(page)).toEqual([]);
      const last = page.getByRole("region", { name: `Ask for permit-check of ${other}` });
      await last.getByLabel("Purpose").fill("Check permits when processing visa applications");
      await last.getByRole("button").click();
      expect(await page.getByRole("status").textContent()).toContain("Request sent");
      const asked = await admin.get<KubeObject & { spec: Record<string, unknown> }>(
        resources.apiGrant,
        `${other}-permit-check`.slice(0, 63),
        `${dept}-dev`,
      );
      expect(asked.spec).toEqual({
        export: { department: other, environment: "prod", name: "permit-check" },
        purpose: "Check permits when processing visa applications",
        dataClassification: "RESTRICTED",
        expiresAt: `${until}T00:00:00Z`,
      });
    } finally {
      await context.close();
    }
  });

  it("lets the provider's admin approve another department's request for its API, in their own name", async () => {
    await waitForDepartment(admin, other, isReady, "ready");
    await admin.create({
      apiVersion: "govhost.io/v1alpha1",
      kind: "ApiExport",
      metadata: { name: "visa-check", namespace: ns },
      spec: {
        eservice: "visa-status",
        description: { en: "Check a visa", zhHant: "查核簽證" },
        openApi: `https://visa.${dept}.gov.example/openapi.json`,
        dataClassification: "RESTRICTED",
        consumers: { all: false, departments: [other] },
      },
    });
    const grant = await admin.create<KubeObject>({
      apiVersion: "govhost.io/v1alpha1",
      kind: "ApiGrant",
      metadata: { name: "visa-check", namespace: `${other}-prod` },
      spec: {
        export: { department: dept, environment: "prod", name: "visa-check" },
        purpose: "Confirm visas when issuing licences",
        dataClassification: "RESTRICTED",
        expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z"),
      },
    });
    // The calls the gateway counted for this grant (written by the controller's check; set here directly,
    // the check itself is tested in api-exchange.test.ts and on the node).
    await admin.mergePatch(
      resources.apiGrant,
      "visa-check",
      { status: { calls: { allowed: 12, refused: 1, lastCallAt: "2026-11-30T02:00:00Z" } } },
      { namespace: `${other}-prod`, subresource: "status" },
    );
    const { context, page } = await signedInPage("immd-admin", `/departments/${dept}`);
    try {
      await page.getByRole("link", { name: "Requests for this department's APIs" }).click();
      expect(new URL(page.url()).pathname).toBe(`/departments/${dept}/api-requests`);
      expect(
        await page
          .getByRole("heading", { level: 2, name: `${other}-prod asks for visa-check (prod)` })
          .count(),
      ).toBe(1);
      expect(await page.locator("main").textContent()).toContain("Confirm visas when issuing licences");
      expect(await page.locator("main").textContent()).toContain(
        "12 let through, 1 refused; last call 30 November 2026 at 10:00 am",
      );
      await axeBothLanguages(page);
      await page.getByLabel(/Reason for the decision/).fill("Licensing Ordinance s.4 needs it");
      await page.getByRole("button", { name: `Approve ${other}-prod/visa-check` }).click();
      expect(await alertOf(page)).toBe("");
      expect(await page.getByRole("status").textContent()).toContain("Decision recorded");
      const decisions = await admin.list<KubeObject & { spec: Record<string, unknown> }>(
        resources.apiGrantDecision,
        { namespace: ns },
      );
      expect(decisions.items.map((d) => d.spec)).toEqual([
        expect.objectContaining({
          grant: {
            namespace: `${other}-prod`,
            name: "visa-check",
            uid: grant.metadata?.uid,
            generation: grant.metadata?.generation,
          },
          decision: "approved",
          reason: "Licensing Ordinance s.4 needs it",
          decidedBy: expect.stringMatching(/#immd-admin$/),
        }),
      ]);
      await axeViolations(page).then((violations) => expect(violations).toEqual([]));
    } finally {
      await context.close();
    }
  });

  it("lets an operator create a department with the form, and offers it to no one else", async () => {
    const { context, page } = await signedInPage("operator", "/my");
    try {
      await page.getByRole("link", { name: "Create a department" }).click();
      expect(new URL(page.url()).pathname).toBe("/new-department");
      await axeBothLanguages(page);
      // Refused in Traditional Chinese: the error summary and the field's error in that language's page.
      await page.goto(`${api.url}/zh-Hant/new-department`);
      for (const [field, value] of Object.entries({
        name: "Bad_Name",
        displayNameEn: "Refused",
        displayNameZh: "被拒",
        costCentre: "CC-1",
        admins: "refused-admins",
      }))
        await page.locator(`#field-${field}`).fill(value);
      await page.getByRole("button", { name: "建立" }).click();
      expect(await page.locator("html").getAttribute("lang")).toBe("zh-Hant");
      expect(await alertOf(page)).toContain("name");
      expect(await axeViolations(page)).toEqual([]);
      await page.goto(`${api.url}/new-department`);
      await page.getByLabel("Identifier").fill(created);
      await page.getByLabel("Name shown to citizens, in English").fill("Made with the form");
      await page.getByLabel("Name shown to citizens, in Traditional Chinese").fill("表格建立的部門");
      await page.getByLabel("Cost centre").fill("CC-1234");
      await page.getByLabel("Group of the department's admins").fill("made-admins");
      await page.getByLabel("Pods", { exact: true }).fill("many");
      const refused = page.waitForResponse((r) => r.request().method() === "POST");
      await page.getByRole("button", { name: "Create" }).click();
      expect((await refused).status()).toBe(400);
      expect(await page.locator("#field-pods-error").textContent()).toContain("quota.pods");
      expect(await page.getByLabel("Cost centre").inputValue()).toBe("CC-1234");
      expect(await admin.find(resources.department, created)).toBeUndefined();
      expect(await axeViolations(page)).toEqual([]);
      await page.getByLabel("Pods", { exact: true }).fill("50");
      await page.getByRole("button", { name: "Create" }).click();
      expect(new URL(page.url()).pathname, await alertOf(page)).toBe(`/departments/${created}`);
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Made with the form");
      const department = await admin.get<
        KubeObject & { spec: { quota: { pods: number }; costCentre: string } }
      >(resources.department, created);
      expect(department.spec).toMatchObject({ costCentre: "CC-1234", quota: { pods: 50 } });
    } finally {
      await context.close();
    }
    const { context: adminContext, page: adminPage } = await signedInPage("immd-admin", "/my");
    try {
      expect(await adminPage.getByRole("link", { name: "Create a department" }).count()).toBe(0);
      expect((await adminPage.goto(`${api.url}/new-department`))?.status()).toBe(403);
    } finally {
      await adminContext.close();
    }
  });
});

describe("service performance (issue #20)", () => {
  /** A month long past: only this test writes it, so every figure is fixed while it is compared. */
  const period = "2001-07";
  const scored = "scored";
  const scoredKey = `${dept}-dev/${scored}`;

  /** The stores this test writes its month into: where, under which key, and what a new one starts with. */
  const stores = {
    traffic: {
      name: `govhost-traffic-${dept}`,
      namespace: "govhost-system",
      key: "months",
      start: { baselines: "{}" },
    },
    ratings: {
      name: `govhost-ratings-${dept}`,
      namespace: "govhost-feedback",
      key: "ratings",
      start: {},
      labels: { "govhost.io/component": "ratings" },
    },
  };

  /**
   * Puts the month's entries into a store (made if need be), keeping whatever else it holds, or takes the
   * month out again (`entries` undefined); the test's month unless another is given. The controller may write the same object: a conflict is retried.
   */
  async function storeMonth(
    store: {
      name: string;
      namespace: string;
      key: string;
      start: Record<string, string>;
      labels?: Record<string, string>;
    },
    entries: Record<string, unknown> | undefined,
    month = period,
  ): Promise<void> {
    await eventually(`${store.name} to take ${month}`, async () => {
      const found = await admin.find<KubeObject & { data?: Record<string, string> }>(
        resources.configMap,
        store.name,
        store.namespace,
      );
      if (!found && !entries) return true;
      const { [month]: _, ...months } = JSON.parse(found?.data?.[store.key] ?? "{}") as Record<
        string,
        unknown
      >;
      const data = {
        ...store.start,
        ...found?.data,
        [store.key]: JSON.stringify(entries ? { ...months, [month]: entries } : months),
      };
      if (found) await admin.replace({ ...found, data });
      else
        await admin.create({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: store.name, namespace: store.namespace, labels: store.labels ?? {} },
          data,
        });
      return true;
    });
  }

  /** The API's own answer to `user`, for the page's figures to be compared with. */
  async function apiAs<T>(user: string, path: string): Promise<T> {
    const token = await loginAs(provider.issuer, user, testAudience);
    const response = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status, path).toBe(200);
    return (await response.json()) as T;
  }

  /** A table row's cells as the browser shows them. */
  const cellsOf = async (row: ReturnType<Page["getByRole"]>) =>
    (await row.locator("th, td").allTextContents()).map((text) => text.trim());

  it("shows a department admin the ranking and the department's scorecard as the API gives them, and refuses the rest", async () => {
    // An e-service with targets, and its month as the controller (counts) and the API (ratings) store them:
    // 7 of 10 started transactions completed (the rate's goal is 80%), 2 of 3 ratings satisfied (75%), and
    // not probed that month.
    await admin.create({
      apiVersion: "govhost.io/v1alpha1",
      kind: "EService",
      metadata: { name: scored, namespace: `${dept}-dev` },
      spec: {
        image: "registry.gov.example/immd/scored:1.0.0",
        exposure: "internal",
        replicas: 1,
        serviceCluster: "travel-and-immigration",
        targets: {
          monthlyCompletedTransactions: 5,
          completionRatePercent: 80,
          satisfactionPercent: 75,
          availabilityPercent: 99.5,
        },
      },
    });
    await storeMonth(stores.traffic, {
      [scoredKey]: { requests: 250, serverErrors: 1, started: 10, completed: 7, latency: {} },
      [`${ns}/visa-status`]: { requests: 1234, serverErrors: 0, started: 0, completed: 0, latency: {} },
    });
    // Ratings of 2, 4 and 5: two of three satisfied.
    await storeMonth(stores.ratings, { [scoredKey]: [0, 1, 0, 1, 1] });
    const { context, page } = await signedInPage("immd-admin", `/performance?period=${period}`);
    try {
      type Ranking = {
        departments: {
          rank: number | null;
          department: string;
          eservices: number;
          targetsMeasured: number;
          targetsMet: number;
          withoutTargets: number;
        }[];
        serviceClusters: {
          cluster: string;
          eservices: number;
          departments: number;
          requests: number;
          started: number;
          completed: number;
          availabilityPercent: number | null;
          missingTargets: number;
        }[];
      };
      const ranking = await apiAs<Ranking>("immd-admin", `/api/v1/scorecards?period=${period}`);
      const standing = ranking.departments.find((d) => d.department === dept);
      // Of the scored e-service's targets, three were measured and one met; the other e-services set none.
      expect(standing).toMatchObject({ rank: 1, targetsMeasured: 3, targetsMet: 1, missingTargets: 1 });
      expect(ranking.departments.map((d) => d.department)).not.toContain(other);
      expect(new URL(page.url()).pathname).toBe("/performance");
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Service performance");
      const row = page.getByRole("row", { name: /Pages <em>Test<\/em> Department/ });
      expect(await cellsOf(row)).toEqual([
        "1",
        "Pages <em>Test</em> Department",
        "33.33%",
        "1 of 3",
        String(standing?.eservices),
        "1",
        String(standing?.withoutTargets),
      ]);
      expect(await page.locator("svg[role=img]").count()).toBe(1);
      await screenshot(page, "performance");
      const travel = ranking.serviceClusters.find((c) => c.cluster === "travel-and-immigration");
      expect(travel).toMatchObject({ requests: 1484, started: 10, completed: 7, availabilityPercent: null });
      expect(await cellsOf(page.getByRole("row", { name: /Travel and immigration/ }))).toEqual([
        "Travel and immigration",
        String(travel?.eservices),
        String(travel?.departments),
        "1,484",
        "10",
        "7",
        "70%",
        "Not measured",
        "Not measured",
        String(travel?.missingTargets),
      ]);
      await axeBothLanguages(page);

      // The department's scorecard: the e-service missing targets first, each target in words.
      await row.getByRole("link").click();
      expect(new URL(page.url()).pathname).toBe(`/performance/${dept}/${period}`);
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe(
        "Pages <em>Test</em> Department: service performance in July 2001",
      );
      type Card = {
        rows: {
          environment: string;
          eservice: string;
          cost: unknown;
          targets: { target: string; status: string; difference: number | null; reason?: string }[];
        }[];
      };
      const card = await apiAs<Card>("immd-admin", `/api/v1/departments/${dept}/scorecard?period=${period}`);
      expect(
        await page.locator("main section h2").allTextContents(),
        "the sections in the API's order",
      ).toEqual(card.rows.map((r) => `${r.eservice} in ${r.environment}`));
      const scoredRow = card.rows[0];
      expect(scoredRow?.eservice).toBe(scored);
      expect(scoredRow?.cost).toBeNull(); // no statement for that month
      expect(scoredRow?.targets.map((t) => [t.target, t.status, t.difference])).toEqual([
        ["monthlyCompletedTransactions", "met", 2],
        ["completionRatePercent", "missed", -10],
        ["satisfactionPercent", "missed", (100 * 2) / 3 - 75],
        ["availabilityPercent", "not-measured", null],
      ]);
      const section = page.getByRole("region", { name: "scored in dev" });
      expect(await section.locator("p").first().textContent()).toBe("Status: Misses 2 targets");
      const targetRow = (name: string) => cellsOf(section.getByRole("row", { name: new RegExp(`^${name}`) }));
      expect(await targetRow("Completed transactions")).toEqual([
        "Completed transactions in the month",
        "at least 5",
        "7",
        "Met",
      ]);
      expect(await targetRow("Completion rate")).toEqual([
        "Completion rate",
        "at least 80%",
        "70%",
        "Missed by 10 percentage points",
      ]);
      expect(await targetRow("Satisfaction")).toEqual([
        "Satisfaction",
        "at least 75%",
        "66.66%",
        "Missed by 8.34 percentage points",
      ]);
      expect(await targetRow("Availability")).toEqual([
        "Availability",
        "at least 99.5%",
        "Not measured",
        `Not measured: ${scoredRow?.targets[3]?.reason}`,
      ]);
      const figures = await section.locator("dt, dd").allTextContents();
      expect(figures.slice(0, 16)).toEqual([
        "Requests",
        "250",
        "Server errors",
        "1 (0.4% of requests)",
        "Transactions started",
        "10",
        "Transactions completed",
        "7",
        "Completion rate",
        "70%",
        "Response time (95th percentile)",
        "Not measured",
        "Availability",
        "Not measured",
        "Satisfaction",
        "66.66% of 3 ratings satisfied or very satisfied",
      ]);
      expect(figures).not.toContain("Cost in the month");
      await screenshot(page, "scorecard");
      await axeBothLanguages(page);

      // The CSV: the API's scorecard, as the admin, with the same figures.
      const csvHref =
        (await page.getByRole("link", { name: "Download as CSV (spreadsheet)" }).getAttribute("href")) ?? "";
      expect(csvHref).toBe(`/performance/${dept}/${period}/scorecard.csv`);
      const csv = await page.request.get(`${api.url}${csvHref}`);
      expect(csv.status()).toBe(200);
      expect(csv.headers()["content-type"]).toContain("text/csv");
      expect(csv.headers()["content-disposition"]).toBe(
        `attachment; filename="${dept}-scorecard-${period}.csv"`,
      );
      const records = parse(await csv.text(), { columns: true }) as Record<string, string>[];
      expect(records.map((r) => r.eservice)).toEqual(card.rows.map((r) => r.eservice));
      expect(records[0]).toMatchObject({
        verdict: "misses-targets",
        completed: "7",
        "monthlyCompletedTransactions.status": "met",
        "completionRatePercent.actual": "70",
        "availabilityPercent.status": "not-measured",
      });

      // In Traditional Chinese, the same figures and the reason in that language.
      await page.goto(`${api.url}/zh-Hant/performance/${dept}/${period}`);
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe(
        "網頁測試部：2001年7月服務表現",
      );
      const zh = page.getByRole("region", { name: "dev 環境的 scored" });
      expect(await cellsOf(zh.getByRole("row", { name: /^完成率/ }))).toEqual([
        "完成率",
        "最少 80%",
        "70%",
        "未達標：差 10 個百分點",
      ]);
      expect(await cellsOf(zh.getByRole("row", { name: /^可用率/ }))).toEqual([
        "可用率",
        "最少 99.5%",
        "未能量度",
        "未能量度：期內平台沒有檢查此電子服務（它並非公開，或檢查已關閉）",
      ]);

      // The department's page links to this month's scorecard.
      await page.goto(`${api.url}/departments/${dept}`);
      await page.getByRole("link", { name: "Service performance this month" }).click();
      expect(new URL(page.url()).pathname).toMatch(new RegExp(`^/performance/${dept}/\\d{4}-\\d{2}$`));
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toMatch(
        /^Pages <em>Test<\/em> Department: service performance in /,
      );

      // Another department's scorecard: the API refuses the admin, so the page is the 403 page.
      const refused = await page.goto(`${api.url}/performance/${other}/${period}`);
      expect(refused?.status()).toBe(403);
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Not allowed");
      expect(await page.locator("main").textContent()).not.toContain(other);
      expect(await axeViolations(page)).toEqual([]);
    } finally {
      await context.close();
      await admin.delete(resources.eservice, scored, `${dept}-dev`);
      await storeMonth(stores.traffic, undefined);
      await storeMonth(stores.ratings, undefined);
    }
    // Finance reads statements, not e-services: the ranking is refused.
    const finance = await signedInPage("finance", "/my");
    try {
      const refused = await finance.page.goto(`${api.url}/performance?period=${period}`);
      expect(refused?.status()).toBe(403);
      expect(await finance.page.getByRole("heading", { level: 1 }).textContent()).toBe("Not allowed");
      expect(await finance.page.locator("main table").count()).toBe(0);
      expect(await axeViolations(finance.page)).toEqual([]);
    } finally {
      await finance.context.close();
    }
  }, 150_000);

  it("lets a department admin report the other channels' transactions on a form, and measures take-up against them", async () => {
    // This month: the API takes reports for the months it keeps, not 2001.
    const month = periodOf(Date.now(), platformDefaults.timeZone);
    const reported = "reported";
    const key = `${dept}-dev/${reported}`;
    await admin.create({
      apiVersion: "govhost.io/v1alpha1",
      kind: "EService",
      metadata: { name: reported, namespace: `${dept}-dev` },
      spec: {
        image: "registry.gov.example/immd/reported:1.0.0",
        exposure: "internal",
        replicas: 1,
        targets: { digitalTakeUpPercent: 50 },
      },
    });
    // 30 completed online this month.
    await storeMonth(
      stores.traffic,
      { [key]: { requests: 90, serverErrors: 0, started: 40, completed: 30, latency: {} } },
      month,
    );
    const { context, page } = await signedInPage("immd-admin", `/performance/${dept}/${month}`);
    try {
      const section = page.getByRole("region", { name: `${reported} in dev` });
      await section
        .getByRole("link", { name: `Report ${reported}'s transactions through other channels` })
        .click();
      expect(new URL(page.url()).pathname).toBe(
        `/performance/${dept}/${month}/dev/${reported}/other-channels`,
      );
      expect(await page.locator("main").textContent()).toContain("Not reported for this month yet.");
      await axeBothLanguages(page);

      // A value that is not a count: the API's refusal, on the field, and nothing stored.
      await page.getByLabel("At a counter").fill("twenty");
      await page.getByRole("button", { name: "Save the report" }).click();
      const summary = page.getByRole("alert");
      expect(await summary.getByRole("link").first().getAttribute("href")).toBe("#counter");
      expect(await page.locator("#counter-error").textContent()).toContain("channels.counter");
      expect(await page.getByLabel("At a counter").inputValue()).toBe("twenty");
      expect(await axeViolations(page)).toEqual([]);
      const path = `/api/v1/departments/${dept}/environments/dev/eservices/${reported}/other-channels/${month}`;
      expect((await apiAs<{ reportedAt: string | null }>("immd-admin", path)).reportedAt).toBeNull();

      // 20 at a counter and 10 by phone: 30 online of 60, exactly the 50 % goal.
      await page.getByLabel("At a counter").fill("20");
      await page.getByLabel("By phone").fill("10");
      await page.getByRole("button", { name: "Save the report" }).click();
      expect(await page.getByRole("status").textContent()).toContain(
        "Saved. The scorecard measures digital take-up against it.",
      );
      expect(await page.getByLabel("At a counter").inputValue()).toBe("20");
      expect(await page.getByLabel("By phone").inputValue()).toBe("10");
      expect(await page.getByLabel("By post").inputValue()).toBe("");
      expect(await axeViolations(page)).toEqual([]);
      const stored = await apiAs<{ channels: unknown; totalTransactions: number }>("immd-admin", path);
      expect(stored).toMatchObject({ channels: { counter: 20, phone: 10 }, totalTransactions: 30 });

      await page.getByRole("link", { name: "Back to the scorecard" }).last().click();
      const figures = await page
        .getByRole("region", { name: `${reported} in dev` })
        .locator("dt, dd")
        .allTextContents();
      const figureOf = (name: string) => figures[figures.indexOf(name) + 1];
      expect([figureOf("Transactions through other channels"), figureOf("Digital take-up")]).toEqual([
        "30",
        "50%",
      ]);
      expect(
        await cellsOf(
          page
            .getByRole("region", { name: `${reported} in dev` })
            .getByRole("row", { name: /^Digital take-up/ }),
        ),
      ).toEqual(["Digital take-up", "at least 50%", "50%", "Met"]);
    } finally {
      await context.close();
    }
    // An auditor reads the report but is offered no form.
    const auditor = await signedInPage(
      "auditor",
      `/performance/${dept}/${month}/dev/${reported}/other-channels`,
    );
    try {
      expect(await auditor.page.locator("main form").count()).toBe(0);
      expect(await cellsOf(auditor.page.getByRole("row", { name: /^At a counter/ }))).toEqual([
        "At a counter",
        "20",
      ]);
      expect(await auditor.page.locator("main").textContent()).toContain(
        "Only the department's developers and admins report these figures.",
      );
      expect(await axeViolations(auditor.page)).toEqual([]);
    } finally {
      await auditor.context.close();
      await admin.delete(resources.eservice, reported, `${dept}-dev`);
      await storeMonth(stores.traffic, undefined, month);
      await admin.delete(resources.configMap, `govhost-channels-${dept}`, "govhost-feedback");
    }
  }, 150_000);
});

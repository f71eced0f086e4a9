import { JSDOM } from "jsdom";
import { describe, expect, it } from "vitest";
import { judge, type ScanResult, summarise, toFindings } from "../../controller/accessibility/findings.ts";
import { checkLookAndFeel, type DomDocument } from "../../controller/accessibility/look-and-feel.ts";
import { tagsFor } from "../../controller/accessibility/standards.ts";
import { baselineRules } from "../../policies/baseline.ts";
import { evaluateRule } from "../../policies/evaluate.ts";

const lookAndFeel = (html: string, languages: string[] = []) =>
  checkLookAndFeel(new JSDOM(html).window.document as unknown as DomDocument, "/", languages).map(
    (f) => f.id,
  );

describe("common look-and-feel checks", () => {
  it("pass a page with a language, a title, a skip link first and a language switch", () => {
    const html = `<html lang="en"><head><title>Apply</title></head><body>
      <a href="#main">Skip to main content</a><a href="/zh-hk/" hreflang="zh-HK">繁體中文</a>
      <main id="main"></main></body></html>`;
    expect(lookAndFeel(html, ["en", "zh-HK"])).toEqual([]);
  });

  it("name each missing element", () => {
    expect(lookAndFeel("<html><head></head><body><a href='/x'>x</a></body></html>", ["en", "zh-HK"])).toEqual(
      ["GH-LF-001", "GH-LF-002", "GH-LF-003", "GH-LF-004"],
    );
  });

  it("do not accept a skip link whose target does not exist, nor one far down the page", () => {
    const broken = `<html lang="en"><title>t</title><body><a href="#nowhere">Skip</a></body></html>`;
    expect(lookAndFeel(broken)).toEqual(["GH-LF-003"]);
    const late = `<html lang="en"><title>t</title><body><a href="/1">1</a><a href="/2">2</a><a href="/3">3</a>
      <a href="#main">Skip</a><main id="main"></main></body></html>`;
    expect(lookAndFeel(late)).toEqual(["GH-LF-003"]);
  });

  it("ask for the language switch only on sites offered in two or more languages", () => {
    const zhPage = `<html lang="zh-HK"><title>t</title><body><a href="#m">跳</a><a href="/en/" hreflang="en">English</a><main id="m"></main></body></html>`;
    expect(lookAndFeel(zhPage, ["en", "zh-HK"])).toEqual([]);
    expect(lookAndFeel(zhPage.replace('hreflang="en"', ""), ["en", "zh-HK"])).toEqual(["GH-LF-004"]);
    expect(lookAndFeel(zhPage.replace('hreflang="en"', ""), ["zh-HK"])).toEqual([]);
  });
});

const violation = (id: string, impact: string, tags: string[], nodes = 1) => ({
  id,
  impact,
  help: `${id} help`,
  helpUrl: `https://dequeuniversity.com/rules/axe/${id}`,
  tags,
  nodes: Array.from({ length: nodes }, (_, i) => ({ target: [`#n${i}`] })),
});

describe("findings", () => {
  it("keep only the conformance target's criteria", () => {
    const violations = [
      violation("target-size", "serious", ["wcag22aa", "wcag258"]),
      violation("color-contrast", "serious", ["wcag2aa", "wcag143"]),
      violation("region", "moderate", ["best-practice"]),
    ];
    expect(toFindings(violations, "chromium", "/", tagsFor("WCAG21-AA")).map((f) => f.id)).toEqual([
      "color-contrast",
    ]);
    expect(toFindings(violations, "chromium", "/", tagsFor("WCAG22-AA")).map((f) => f.id)).toEqual([
      "target-size",
      "color-contrast",
    ]);
  });

  it("summarise across pages and block on serious and critical rules unless an unexpired waiver covers them", () => {
    const tags = tagsFor("WCAG22-AA");
    const result: ScanResult = {
      findings: [
        ...toFindings([violation("image-alt", "critical", ["wcag2a"], 2)], "jsdom", "/", tags),
        ...toFindings([violation("image-alt", "critical", ["wcag2a"], 1)], "jsdom", "/apply", tags),
        ...toFindings([violation("color-contrast", "serious", ["wcag2aa"], 3)], "chromium", "/", tags),
        ...toFindings([violation("avoid-inline-spacing", "moderate", ["wcag21aa"])], "jsdom", "/", tags),
      ],
      lookAndFeel: [{ id: "GH-LF-003", path: "/", title: "skip", message: "add a skip link" }],
      errors: [],
      tiers: ["chromium", "jsdom"],
      contentDigest: "sha256:x",
    };
    const summary = summarise(result);
    expect(summary.counts).toEqual({ critical: 3, serious: 3, moderate: 1, minor: 0 });
    expect(summary.failedRules.map((r) => [r.id, r.nodes, r.paths])).toEqual([
      ["image-alt", 3, ["/", "/apply"]],
      ["color-contrast", 3, ["/"]],
      ["avoid-inline-spacing", 1, ["/"]],
    ]);
    const now = new Date("2026-11-23T00:00:00Z");
    expect(judge(summary, { enforceLookAndFeel: false, now })).toEqual({
      blockingRules: ["color-contrast", "image-alt"],
      waivedRules: [],
    });
    expect(judge(summary, { enforceLookAndFeel: true, now }).blockingRules).toContain("GH-LF-003");
    const waiver = {
      justification: "x".repeat(20),
      approvedBy: "grace",
      expires: "2026-12-01T00:00:00Z",
      rules: ["color-contrast"],
    };
    expect(judge(summary, { waiver, enforceLookAndFeel: false, now })).toEqual({
      blockingRules: ["image-alt"],
      waivedRules: ["color-contrast"],
    });
    const expired = { ...waiver, expires: "2026-11-22T00:00:00Z" };
    expect(judge(summary, { waiver: expired, enforceLookAndFeel: false, now }).waivedRules).toEqual([]);
  });
});

describe("GH-A11Y-001 waiver approval", () => {
  const rule = baselineRules.find((r) => r.id === "GH-A11Y-001");
  if (!rule) throw new Error("rule missing");
  const params = {
    data: { allowedRegistries: "", accessibilityApprovers: "govhost:accessibility-approvers" },
  };
  const withWaiver = (approvedBy: string) => ({
    spec: {
      accessibility: {
        waiver: { justification: "x".repeat(20), approvedBy, expires: "2026-12-01T00:00:00Z" },
      },
    },
  });
  const as = (username: string, groups: string[]) => ({
    operation: "UPDATE" as const,
    userInfo: { username, groups },
  });

  it("lets an approver record a waiver in their own name only", () => {
    const approver = as("grace", ["govhost:accessibility-approvers"]);
    expect(evaluateRule(rule, { object: withWaiver("grace"), params, request: approver }).passed).toBe(true);
    expect(evaluateRule(rule, { object: withWaiver("ada"), params, request: approver }).passed).toBe(false);
    const tenant = as("ada", ["immd-admins"]);
    const refused = evaluateRule(rule, { object: withWaiver("ada"), params, request: tenant });
    expect(refused.messages[0]).toContain("ada cannot record this one");
  });

  it("lets the tenant keep an existing waiver untouched while changing other fields", () => {
    const tenant = as("ada", ["immd-admins"]);
    const old = withWaiver("grace");
    const changed = { spec: { ...old.spec, replicas: 3 } };
    expect(evaluateRule(rule, { object: changed, oldObject: old, params, request: tenant }).passed).toBe(
      true,
    );
    expect(
      evaluateRule(rule, { object: { spec: { accessibility: {} } }, params, request: tenant }).passed,
    ).toBe(true);
  });
});

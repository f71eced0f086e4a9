import type { LookAndFeelFinding } from "./findings.ts";

// Government common look-and-feel checks that are cheap and objective, run on the page's DOM as served
// (or as rendered, for client-rendered pages). They complement axe: they ask for things every government
// page should have, not only what WCAG requires.

interface DomElement {
  getAttribute(name: string): string | null;
}

export interface DomDocument {
  documentElement: DomElement;
  title: string;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
  getElementById(id: string): DomElement | null;
}

export interface LookAndFeelRule {
  id: string;
  title: string;
  /** The failure message, or undefined when the page passes. */
  check(document: DomDocument, languages: string[]): string | undefined;
}

const focusable =
  "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

const primary = (tag: string) => tag.toLowerCase().split("-")[0] ?? "";
const sameLanguage = (a: string, b: string) =>
  a.toLowerCase() === b.toLowerCase() || primary(a) === primary(b);

export const lookAndFeelRules: LookAndFeelRule[] = [
  {
    id: "GH-LF-001",
    title: "The page declares its language",
    check: (doc) =>
      doc.documentElement.getAttribute("lang")?.trim()
        ? undefined
        : 'Add a lang attribute to the html element (e.g. <html lang="en"> or <html lang="zh-HK">)',
  },
  {
    id: "GH-LF-002",
    title: "The page has a title",
    check: (doc) => (doc.title.trim() ? undefined : "Add a <title> naming the page and the department"),
  },
  {
    id: "GH-LF-003",
    title: "A skip link to the main content comes first",
    check: (doc) => {
      const first = Array.from(doc.querySelectorAll(focusable)).slice(0, 3);
      const skip = first.find((el) => {
        const href = el.getAttribute("href") ?? "";
        return href.startsWith("#") && href.length > 1 && doc.getElementById(href.slice(1)) !== null;
      });
      return skip
        ? undefined
        : 'Make one of the first focusable elements a link to the main content (e.g. <a href="#content">Skip to main content</a>) whose target exists';
    },
  },
  {
    id: "GH-LF-004",
    title: "Bilingual sites link every page to its other language versions",
    check: (doc, languages) => {
      if (languages.length < 2) return undefined;
      const pageLanguage = doc.documentElement.getAttribute("lang") ?? "";
      const links = Array.from(doc.querySelectorAll("a[href][hreflang], a[href][lang]")).map(
        (el) => el.getAttribute("hreflang") ?? el.getAttribute("lang") ?? "",
      );
      const missing = languages.filter(
        (lang) => !sameLanguage(lang, pageLanguage) && !links.some((l) => sameLanguage(l, lang)),
      );
      return missing.length === 0
        ? undefined
        : `Add a language switch link (with hreflang) to the ${missing.join(", ")} version of this page`;
    },
  },
];

export function checkLookAndFeel(
  document: DomDocument,
  path: string,
  languages: string[],
): LookAndFeelFinding[] {
  const findings: LookAndFeelFinding[] = [];
  for (const rule of lookAndFeelRules) {
    const message = rule.check(document, languages);
    if (message) findings.push({ id: rule.id, path, title: rule.title, message });
  }
  return findings;
}

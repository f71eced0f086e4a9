import { JSDOM } from "jsdom";
import { type AxeRunOptions, axeSource } from "./axe-source.ts";
import { type AxeViolation, type LookAndFeelFinding, type RuleFinding, toFindings } from "./findings.ts";
import { checkLookAndFeel, type DomDocument } from "./look-and-feel.ts";
import { browserOnlyRules } from "./standards.ts";

interface AxeWindow {
  axe: { run(context: unknown, options: AxeRunOptions): Promise<{ violations: AxeViolation[] }> };
}

/**
 * The fast tier: the served HTML in jsdom, with every rule of the standard except those needing layout.
 * The page's own scripts never run here (runScripts "outside-only" runs only the injected axe).
 */
export async function scanWithJsdom(
  page: { url: string; html: string; path: string },
  options: { tags: string[]; languages: string[] },
): Promise<{ findings: RuleFinding[]; lookAndFeel: LookAndFeelFinding[] }> {
  const dom = new JSDOM(page.html, { url: page.url, runScripts: "outside-only", pretendToBeVisual: true });
  try {
    dom.window.eval(axeSource);
    const axe = (dom.window as unknown as AxeWindow).axe;
    const results = await axe.run(dom.window.document, {
      runOnly: { type: "tag", values: options.tags },
      rules: Object.fromEntries(browserOnlyRules.map((id) => [id, { enabled: false }])),
      resultTypes: ["violations"],
    });
    return {
      findings: toFindings(results.violations, "jsdom", page.path, options.tags),
      lookAndFeel: checkLookAndFeel(
        dom.window.document as unknown as DomDocument,
        page.path,
        options.languages,
      ),
    };
  } finally {
    dom.window.close();
  }
}

/** Look-and-feel checks of HTML rendered elsewhere (the browser tier, for client-rendered pages). */
export function lookAndFeelOfHtml(html: string, path: string, languages: string[]): LookAndFeelFinding[] {
  const dom = new JSDOM(html);
  try {
    return checkLookAndFeel(dom.window.document as unknown as DomDocument, path, languages);
  } finally {
    dom.window.close();
  }
}

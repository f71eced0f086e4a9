import Type from "typebox";
import type { Locale } from "./i18n.ts";

// What every form page shares: the API's problem+json as the error summary shows it, and the page's language
// from the form's hidden `lang` field.

/** The API's problem+json, as far as a form needs it. */
export interface Problem {
  status: number;
  detail?: string;
  field?: string;
  fix?: string;
  errors?: { field: string; detail: string; fix?: string }[];
}

export interface ProblemLine {
  field?: string;
  text: string;
  /** The id of the form control the line is about: the error summary links to it. */
  anchor?: string;
}

/** The API's problem as the form shows it: one line per field at fault, each with its fix. */
export function problemLines(problem: Problem): ProblemLine[] {
  if (problem.errors?.length)
    return problem.errors.map((e) => ({
      field: e.field,
      text: `${e.field.replace(/^body\./, "")} ${e.detail}.${e.fix ? ` ${e.fix}.` : ""}`,
    }));
  const text = [problem.detail, problem.fix].filter(Boolean).join(" ");
  return [{ ...(problem.field ? { field: problem.field } : {}), text }];
}

/** A calendar month in a page's path or query (YYYY-MM). */
export const periodPattern = "^\\d{4}-(0[1-9]|1[0-2])$";

/** A department and a month: the path of a statement or a scorecard page. */
export const DeptPeriodParams = Type.Object({
  dept: Type.String({ maxLength: 63 }),
  period: Type.String({ pattern: periodPattern }),
});

/** A value as one segment of a page or API path. */
export const segment = (value: string) => encodeURIComponent(value);

/**
 * The lines with the id of the control each is about (`controls`: control id → the API fields it answers
 * for, each a prefix: `body.spec.quota` covers its members), so the error summary can link to the field.
 * Where two controls answer for a line, the one with the longest (most precise) field wins.
 */
export function linkedToControls(lines: ProblemLine[], controls: Record<string, string[]>): ProblemLine[] {
  return lines.map((line) => {
    let best: { control: string; depth: number } | undefined;
    for (const [control, fields] of Object.entries(controls))
      for (const field of fields)
        if (line.field?.startsWith(field) && field.length > (best?.depth ?? -1))
          best = { control, depth: field.length };
    return best ? { ...line, anchor: best.control } : line;
  });
}

/** The first line linked to the control (so a line shows under exactly the control the summary links to). */
export function errorAt(lines: ProblemLine[], control: string): string | undefined {
  return lines.find((line) => line.anchor === control)?.text;
}

/** The language a form was filled in (its hidden `lang` field); English otherwise. */
export const localeOf = (lang: string | undefined): Locale => (lang === "zh-Hant" ? "zh-Hant" : "en");

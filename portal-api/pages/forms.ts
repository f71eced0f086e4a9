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

/** The first line about any of the fields (a field's prefix: `body.spec.quota` covers its members). */
export function errorFor(lines: ProblemLine[], ...fields: string[]): string | undefined {
  return lines.find((line) => fields.some((field) => line.field?.startsWith(field)))?.text;
}

/**
 * The lines with the id of the control each is about (`controls`: control id → the API fields it answers
 * for), so the error summary can link to the field.
 */
export function linkedToControls(lines: ProblemLine[], controls: Record<string, string[]>): ProblemLine[] {
  return lines.map((line) => {
    const control = Object.entries(controls).find(([, fields]) =>
      fields.some((field) => line.field?.startsWith(field)),
    );
    return control ? { ...line, anchor: control[0] } : line;
  });
}

/** The language a form was filled in (its hidden `lang` field); English otherwise. */
export const localeOf = (lang: string | undefined): Locale => (lang === "zh-Hant" ? "zh-Hant" : "en");

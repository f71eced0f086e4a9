import { join } from "node:path";
import { Eta } from "eta";
import type { FastifyReply } from "fastify";
import { type Locale, localePath, messagesFor, otherLocale } from "./i18n.ts";

// Rendering a page: Eta templates (escaped by default) in views/, the shared layout, the language switch that
// keeps the page, and the headers every page is sent with.

/** Everything a page may load comes from this origin; no script, no inline style, no frames. */
export const pageContentSecurityPolicy = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

const eta = new Eta({ views: join(import.meta.dirname, "views"), cache: true, autoEscape: true });

export interface PageContext {
  locale: Locale;
  /** Shown in the header: who is signed in, and the CSRF token of the sign-out form. */
  signedIn?: { name: string; csrfToken: string };
  /** Sign-in is configured: public pages offer it. */
  signInAvailable?: boolean;
}

/**
 * Sends a page. `data.path` is the page's path without the language prefix (for the switch); pages that have
 * no other-language twin (errors) switch to the home page.
 */
export function sendPage(
  reply: FastifyReply,
  status: number,
  template: string,
  context: PageContext,
  title: string,
  data: { path?: string } & Record<string, unknown>,
): FastifyReply {
  const { locale } = context;
  const other = otherLocale(locale);
  const t = messagesFor(locale);
  const html = eta.render(template, {
    ...data,
    title,
    locale,
    t,
    home: localePath(locale, "/"),
    signedIn: context.signedIn,
    signIn: context.signedIn || !context.signInAvailable ? undefined : "/sign-in?return=/my",
    switchTo: { locale: other, href: localePath(other, data.path ?? "/"), label: t.languageSwitch },
  });
  return reply
    .code(status)
    .header("content-security-policy", pageContentSecurityPolicy)
    .header("content-language", locale)
    .header("cache-control", context.signedIn ? "no-store" : "no-cache")
    .type("text/html; charset=utf-8")
    .send(html);
}

/**
 * The page for an API answer that was not a success: 403 for a refusal (naming nothing of what was refused),
 * 404 for something missing or malformed, 502 for anything else.
 */
export function sendRefusal(reply: FastifyReply, context: PageContext, status: number): FastifyReply {
  const t = messagesFor(context.locale);
  if (status === 401 || status === 403)
    return sendPage(reply, 403, "./message", context, t.forbiddenTitle, { text: t.forbiddenText });
  if (status === 404 || status === 400)
    return sendPage(reply, 404, "./message", context, t.notFoundTitle, { text: t.notFoundText });
  return sendPage(reply, 502, "./message", context, t.loadFailedTitle, { text: t.loadFailedText });
}

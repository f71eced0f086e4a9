import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { AuditRecord } from "../audit/chain.ts";
import { formatDateTime, localePath, locales, messagesFor } from "./i18n.ts";
import { sendPage, sendRefusal } from "./render.ts";
import type { SignedInKit } from "./signed-in.ts";

// The audit log for operators and auditors: the latest records and the verdict on the whole hash chain,
// both the API's answers (`/audit`, `/audit/verify`) read as the signed-in person, so only those the API
// lets read the log see it.

interface Verdict {
  valid: boolean;
  records: number;
  brokenAt?: number;
  reason?: string;
}

export function auditPages(kit: SignedInKit, settings: { timeZone: string }): FastifyPluginAsyncTypebox {
  return async (app) => {
    for (const locale of locales) {
      app.get(
        localePath(locale, "/audit"),
        { config: { public: true }, schema: { hide: true } },
        async (request, reply) => {
          const session = await kit.signedIn(request, reply);
          if (!session) return reply;
          const context = kit.context(session, reply, locale);
          const t = messagesFor(locale);
          const verdict = await kit.call(session, "/api/v1/audit/verify");
          const records =
            verdict.status === 200 ? await kit.call(session, "/api/v1/audit?limit=100") : verdict;
          if (records.status !== 200) return sendRefusal(reply, context, records.status);
          const v = verdict.body as Verdict;
          const items = (records.body as { items: AuditRecord[] }).items;
          return sendPage(reply, 200, "./audit", context, t.auditTitle, {
            path: "/audit",
            valid: v.valid,
            verdict: v.valid ? t.chainValid(v.records) : t.chainBroken(v.brokenAt ?? 0, v.reason ?? ""),
            records: items.map((r) => ({
              seq: r.seq,
              time: formatDateTime(r.time, locale, settings.timeZone),
              iso: r.time,
              actor: r.actor.displayName ?? r.actor.username,
              action: r.action,
              target: [r.target.kind, r.target.namespace ?? r.target.department, r.target.name]
                .filter(Boolean)
                .join(" / "),
              outcome: `${r.result.outcome}${r.result.status ? ` (${r.result.status})` : ""}`,
            })),
          });
        },
      );
    }
  };
}

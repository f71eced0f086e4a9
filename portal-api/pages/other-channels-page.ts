import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyReply } from "fastify";
import Type from "typebox";
import { type ChannelName, channelNames } from "../../lib/performance/channel-store.ts";
import {
  DeptPeriodParams,
  errorAt,
  linkedToControls,
  localeOf,
  type Problem,
  problemLines,
  segment,
} from "./forms.ts";
import { formatDateTime, formatMonth, localePath, locales, messagesFor } from "./i18n.ts";
import { type PageContext, sendPage, sendRefusal } from "./render.ts";
import type { SignedInKit } from "./signed-in.ts";

// The form where a department reports an e-service's transactions through its other channels for a month
// (what digital take-up is measured against): the API's PUT .../other-channels/{period}, as the signed-in
// person, so the API decides who may and judges every value.

const Params = Type.Object({
  ...DeptPeriodParams.properties,
  env: Type.String({ maxLength: 63 }),
  name: Type.String({ maxLength: 63 }),
});
type Params = { dept: string; period: string; env: string; name: string };

const Form = Type.Object({
  _csrf: Type.Optional(Type.String()),
  lang: Type.Optional(Type.String()),
  ...Object.fromEntries(
    channelNames.map((channel) => [channel, Type.Optional(Type.String({ maxLength: 32 }))]),
  ),
});

interface Report {
  channels: Partial<Record<ChannelName, number>>;
  reportedAt: string | null;
}

type Values = Partial<Record<ChannelName, string>>;

const pagePath = (p: Params) =>
  `/performance/${segment(p.dept)}/${p.period}/${segment(p.env)}/${segment(p.name)}/other-channels`;
const apiPath = (p: Params) =>
  `/api/v1/departments/${segment(p.dept)}/environments/${segment(p.env)}/eservices/${segment(p.name)}/other-channels/${p.period}`;

/**
 * The form's values as the API's body: an empty field is left out (it counts 0); a number is sent as a
 * number, anything else as typed, so the API's refusal names the field.
 */
export function channelsBody(values: Values): { channels: Record<string, number | string> } {
  const channels: Record<string, number | string> = {};
  for (const channel of channelNames) {
    const value = values[channel]?.trim();
    if (!value) continue;
    channels[channel] = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  }
  return { channels };
}

export function otherChannelsPage(
  kit: SignedInKit,
  settings: { timeZone: string },
): FastifyPluginAsyncTypebox {
  return async (app) => {
    const show = (
      reply: FastifyReply,
      context: PageContext,
      params: Params,
      page: { report: Report; mayReport: boolean; values?: Values; problem?: Problem; saved?: boolean },
    ) => {
      const { locale } = context;
      const t = messagesFor(locale);
      const lines = page.problem
        ? linkedToControls(
            problemLines(page.problem),
            Object.fromEntries(
              channelNames.map((channel, index) => [
                channel,
                // The first field answers for the whole set (none given at all).
                index === 0 ? ["body.channels", `body.channels.${channel}`] : [`body.channels.${channel}`],
              ]),
            ),
          )
        : [];
      const values =
        page.values ??
        Object.fromEntries(
          channelNames.map((channel) => [channel, String(page.report.channels[channel] ?? "")]),
        );
      return sendPage(
        reply,
        page.problem?.status ?? 200,
        "./other-channels",
        context,
        t.otherChannelsTitle(params.name, formatMonth(params.period, locale)),
        {
          path: pagePath(params),
          action: pagePath(params),
          scorecardHref: localePath(locale, `/performance/${segment(params.dept)}/${params.period}`),
          reported: page.report.reportedAt
            ? t.lastReported(formatDateTime(page.report.reportedAt, locale, settings.timeZone))
            : t.notReportedYet,
          mayReport: page.mayReport,
          channels: channelNames.map((channel) => ({
            id: channel,
            label: t.channelNames[channel] ?? channel,
            value: values[channel] ?? "",
            error: errorAt(lines, channel),
          })),
          problem: page.problem ? lines : undefined,
          saved: page.saved === true,
          savedText: t.otherChannelsSaved,
        },
      );
    };

    const load = async (session: Parameters<SignedInKit["call"]>[0], params: Params) => {
      const [answer, mayReport] = await Promise.all([
        kit.call(session, apiPath(params)),
        kit.may(session, "eservice:write", params.dept),
      ]);
      return { answer, mayReport };
    };

    for (const locale of locales) {
      app.get(
        localePath(locale, "/performance/:dept/:period/:env/:name/other-channels"),
        {
          config: { public: true },
          schema: {
            hide: true,
            params: Params,
            querystring: Type.Object({ saved: Type.Optional(Type.String()) }),
          },
        },
        async (request, reply) => {
          const session = await kit.signedIn(request, reply);
          if (!session) return reply;
          const context = kit.context(session, reply, locale);
          const { answer, mayReport } = await load(session, request.params);
          if (answer.status !== 200) return sendRefusal(reply, context, answer.status);
          return show(reply, context, request.params, {
            report: answer.body as Report,
            mayReport,
            saved: request.query.saved === "1",
          });
        },
      );
    }

    app.post(
      "/performance/:dept/:period/:env/:name/other-channels",
      {
        config: { public: true },
        schema: { hide: true, params: Params, body: Form },
        preValidation: app.csrfProtection,
      },
      async (request, reply) => {
        const session = await kit.signedIn(request, reply);
        if (!session) return reply;
        const locale = localeOf(request.body.lang);
        const params = request.params;
        const values: Values = Object.fromEntries(
          channelNames.map((channel) => [channel, (request.body as Values)[channel] ?? ""]),
        );
        const written = await kit.call(session, apiPath(params), {
          method: "PUT",
          body: channelsBody(values),
        });
        if (written.status === 200)
          return reply.redirect(`${localePath(locale, pagePath(params))}?saved=1`, 303);
        const context = kit.context(session, reply, locale);
        if (written.status === 401 || written.status === 403 || written.status === 404)
          return sendRefusal(reply, context, written.status);
        const { answer, mayReport } = await load(session, params);
        if (answer.status !== 200) return sendRefusal(reply, context, answer.status);
        return show(reply, context, params, {
          report: answer.body as Report,
          mayReport,
          values,
          problem: written.body as Problem,
        });
      },
    );
  };
}

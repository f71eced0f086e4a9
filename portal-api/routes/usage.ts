import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import type { RateCard } from "../../controller/api/ratecard.ts";
import { dayStart, periodBounds, periodOf } from "../../lib/chargeback/calendar.ts";
import { readLedger } from "../../lib/chargeback/ledger-read.ts";
import { billedShardChanges, LedgerCorruptError } from "../../lib/chargeback/ledger-shards.ts";
import { allocationModeOf, priceVersions } from "../../lib/chargeback/ratecard.ts";
import { type Aggregation, aggregations, usage } from "../../lib/chargeback/usage.ts";
import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { visibleDepartments } from "../auth/authorize.ts";
import type { ApiDependencies } from "../dependencies.ts";
import { problems } from "../problem.ts";
import { nameOf, principalOf, requireAllowed } from "./common.ts";
import { json, Name, responses } from "./schemas.ts";

// /usage: allocated usage and cost over a window, like OpenCost's allocation API.

const hourMs = 3_600_000;
const maxWindowMs = 400 * 24 * hourMs;
const maxSteps = 1000;
const defaultWindow = "month";
const defaultAggregate: Aggregation = "department";

/** An RFC 3339 date-time, as the window's "start,end" form takes it (every value it matches parses). */
const dateTime =
  "[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])";
/** Every form `parseWindow` understands, and nothing else. */
export const windowPattern = `^(today|month|lastmonth|[0-9]{1,4}[hd]|${dateTime},${dateTime})$`;

const UsageItem = Type.Object({
  key: Type.String({ description: "The department, environment, e-service or resource the item is about" }),
  start: Type.String({ format: "date-time" }),
  end: Type.String({ format: "date-time" }),
  quantities: Type.Record(
    Type.String(),
    Type.Object({
      quantity: Type.String({ description: "Exact, in the billing unit" }),
      unit: Type.String(),
    }),
    { description: "Per resource (cpu, memory, storage, ...)" },
  ),
  costMinor: Type.Integer({ description: "Cost in minor currency units, rounded once per item" }),
});

const Usage = Type.Object({
  window: Type.Object({
    start: Type.String({ format: "date-time" }),
    end: Type.String({ format: "date-time" }),
  }),
  aggregate: Type.String(),
  step: Type.Union([Type.String(), Type.Null()]),
  currency: Type.String(),
  timeZone: Type.String(),
  items: Type.Array(UsageItem),
});

function durationMs(text: string): number | undefined {
  const match = /^(\d{1,4})(h|d)$/.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * (match[2] === "h" ? hourMs : 24 * hourMs);
}

/** [start, end) of a window: today, month, lastmonth, 24h, 7d, or "start,end" in RFC 3339. */
export function parseWindow(window: string, now: number, timeZone: string): { start: number; end: number } {
  if (window === "month") return { start: periodBounds(periodOf(now, timeZone), timeZone).start, end: now };
  if (window === "lastmonth") {
    const current = periodBounds(periodOf(now, timeZone), timeZone);
    return periodBounds(periodOf(current.start - 1, timeZone), timeZone);
  }
  if (window === "today") return { start: dayStart(now, timeZone), end: now };
  const relative = durationMs(window);
  if (relative !== undefined) return { start: now - relative, end: now };
  const [from, to] = window.split(",");
  const start = Date.parse(from ?? "");
  const end = Date.parse(to ?? "");
  if (Number.isNaN(start) || Number.isNaN(end))
    throw problems.invalid(
      `window "${window}" is not understood`,
      "query.window",
      'Use today, month, lastmonth, a duration such as 24h or 7d, or "start,end" in RFC 3339',
    );
  // Well-formed (the query schema's pattern) but not a window: 422, as every rule a schema cannot express.
  if (end <= start)
    throw problems.unprocessable(
      `window "${window}" does not end after it starts`,
      "query.window",
      'Use "start,end" in RFC 3339 with the end after the start',
    );
  return { start, end };
}

export function usageRoutes(deps: ApiDependencies): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/usage",
      {
        schema: {
          tags: ["finance"],
          summary:
            "Allocated usage and cost over a window, by department, environment, e-service or resource",
          querystring: Type.Object(
            {
              window: Type.Optional(
                Type.String({
                  maxLength: 100,
                  pattern: windowPattern,
                  default: defaultWindow,
                  description:
                    'today, month, lastmonth, a duration such as 24h or 7d, or "start,end" in RFC 3339 (at most 400 days)',
                }),
              ),
              aggregate: Type.Optional(
                Type.Unsafe<Aggregation>({
                  type: "string",
                  enum: [...aggregations],
                  default: defaultAggregate,
                }),
              ),
              step: Type.Optional(
                Type.String({
                  pattern: "^\\d{1,4}(h|d)$",
                  description: "Cut the window into steps of this length (at most 1000 steps)",
                }),
              ),
              department: Type.Optional(Name),
            },
            { additionalProperties: false },
          ),
          response: responses(
            { 200: json("Usage and cost", Usage) },
            [400, 401, 403, 404, 422, 429, 500, 503],
          ),
        },
      },
      async (request) => {
        const principal = principalOf(request);
        const { query } = request;
        const aggregate = query.aggregate ?? defaultAggregate;
        let departments: string[];
        if (query.department) {
          requireAllowed(principal, "statement:read", query.department);
          departments = [query.department];
        } else {
          const visible = visibleDepartments(principal, "statement:read");
          departments = visible ?? (await deps.kube.list<KubeObject>(resources.department)).items.map(nameOf);
          if (visible?.length === 0) requireAllowed(principal, "statement:read");
        }
        const timeZone = deps.timeZone;
        const window = parseWindow(query.window ?? defaultWindow, Date.now(), timeZone);
        if (window.end - window.start > maxWindowMs)
          throw problems.unprocessable(
            "the window is longer than 400 days",
            "query.window",
            "Ask for a shorter window",
          );
        const stepMs = query.step ? durationMs(query.step) : undefined;
        if (stepMs && (window.end - window.start) / stepMs > maxSteps)
          throw problems.unprocessable(
            `more than ${maxSteps} steps`,
            "query.step",
            "Use a longer step or a shorter window",
          );

        const card = await deps.kube.find<RateCard & KubeObject>(resources.rateCard, deps.rateCard);
        if (!card)
          throw problems.notFound(
            `The rate card ${deps.rateCard} does not exist; a platform operator must install it`,
          );
        const versions = priceVersions(card);
        const ledgers = [];
        for (const department of departments.sort()) {
          const shards = await readLedger(deps.kube, department).catch((error: unknown) => {
            throw error instanceof LedgerCorruptError ? problems.ledgerUnavailable(department) : error;
          });
          const mode = allocationModeOf(card, department);
          ledgers.push({ department, changes: billedShardChanges(department, shards, mode) });
        }
        return {
          window: { start: new Date(window.start).toISOString(), end: new Date(window.end).toISOString() },
          aggregate,
          step: query.step ?? null,
          currency: card.spec.currency,
          timeZone,
          items: usage(ledgers, versions, {
            ...window,
            ...(stepMs ? { stepMs } : {}),
            aggregate,
            timeZone,
          }),
        };
      },
    );
  };
}

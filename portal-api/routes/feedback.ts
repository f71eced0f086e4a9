import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import { namespaceName } from "../../controller/api/group.ts";
import { dayOf, periodOf } from "../../lib/chargeback/calendar.ts";
import {
  defaultFeedbackLimits,
  maxCommentLength,
  retained,
  satisfactionOf,
} from "../../lib/performance/feedback-store.ts";
import { StoreUnreadable } from "../api-store.ts";
import { roleIn } from "../auth/authorize.ts";
import type { ApiDependencies } from "../dependencies.ts";
import { type EServiceDirectory, publishedEntry } from "../eservice-directory.ts";
import { readComments, readRatings, storeFeedback } from "../feedback-recorder.ts";
import { problems } from "../problem.ts";
import { environmentNamespace, principalOf } from "./common.ts";
import { json, OptionalPeriodQuery, ResourceParams, responses } from "./schemas.ts";

// The feedback endpoint every public e-service has (docs/performance.md, "Satisfaction"): a citizen rates it
// 1–5, anonymously, with an optional comment; the department reads its ratings and the comments kept.

/** Per address and e-service: a person rating once is far below it, a script is stopped at it. */
export const feedbackPerHour = 5;

const maxLinks = 2;

const FeedbackBody = Type.Object(
  {
    rating: Type.Integer({
      minimum: 1,
      maximum: 5,
      description: "1 (very dissatisfied) to 5 (very satisfied)",
    }),
    comment: Type.Optional(
      Type.String({
        maxLength: maxCommentLength,
        description: `At most ${maxCommentLength} characters and ${maxLinks} links; kept ${defaultFeedbackLimits.retentionDays} days, shown only to the department; write nothing that identifies you`,
      }),
    ),
  },
  { additionalProperties: false },
);

const Recorded = Type.Object({
  recorded: Type.Literal(true),
  commentKept: Type.Boolean({
    description: "false when no comment was sent, or the e-service's comments for the day are full",
  }),
});

const FeedbackView = Type.Object({
  department: Type.String(),
  environment: Type.String(),
  eservice: Type.String(),
  period: Type.String({ description: "Calendar month, YYYY-MM" }),
  ratings: Type.Integer(),
  satisfiedPercent: Type.Union([Type.Number(), Type.Null()], {
    description: "Ratings of 4 or 5 ÷ ratings × 100; null with none",
  }),
  distribution: Type.Array(Type.Integer(), { description: "How many ratings of 1, 2, 3, 4 and 5" }),
  retentionDays: Type.Integer({ description: "Comments older than this are deleted" }),
  comments: Type.Array(Type.Object({ day: Type.String(), rating: Type.Integer(), text: Type.String() }), {
    description: "The comments kept, newest first (whatever their month)",
  }),
});

/** What a comment may not be: control characters (but line breaks and tabs), or more than a few links. */
export function commentProblem(comment: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(comment))
    return "comment holds control or text-direction characters";
  if ((comment.match(/https?:\/\/|www\./gi)?.length ?? 0) > maxLinks)
    return `comment holds more than ${maxLinks} links`;
  return undefined;
}

export function feedbackRoutes(
  deps: ApiDependencies,
  directory: EServiceDirectory,
): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      "/departments/:dept/environments/:env/eservices/:name/feedback",
      {
        config: {
          public: true,
          rateLimit: {
            max: feedbackPerHour,
            timeWindow: 3_600_000,
            // Held in memory for the window only; never stored or logged with the rating.
            keyGenerator: (request) => {
              const { dept, env, name } = request.params as { dept: string; env: string; name: string };
              return `feedback:${request.ip}:${dept}/${env}/${name}`;
            },
          },
        },
        schema: {
          tags: ["catalogue"],
          summary:
            "Rate a public e-service 1–5, anonymously, with an optional comment (kept for the department only)",
          security: [],
          params: ResourceParams,
          body: FeedbackBody,
          response: responses({ 201: json("Recorded", Recorded) }, [400, 404, 413, 415, 429, 500, 503]),
        },
      },
      async (request, reply) => {
        const { dept, env, name } = request.params;
        const namespace = namespaceName(dept, env);
        const entry = publishedEntry(await directory.current(), namespace, name);
        // The department too: `ab`/`cd-prod` names the namespace of `ab-cd`/`prod`, not one of ab's.
        const published = entry?.department === dept;
        // Unknown, internal, not yet or no longer public: the same answer.
        if (!published) throw problems.notFound(`No public e-service ${name} takes feedback in ${namespace}`);
        const comment = request.body.comment?.trim();
        const problem = comment ? commentProblem(comment) : undefined;
        if (problem)
          throw problems.invalid(
            `The feedback was not recorded: its ${problem}`,
            "body.comment",
            "Write the comment as plain text with at most two links, or send the rating alone",
          );
        const now = Date.now();
        try {
          const { commentKept } = await storeFeedback(
            deps.kube,
            request.log,
            dept,
            {
              eservice: `${namespace}/${name}`,
              month: periodOf(now, deps.timeZone),
              day: dayOf(now, deps.timeZone),
              rating: request.body.rating,
              ...(comment ? { comment } : {}),
            },
            defaultFeedbackLimits,
          );
          return reply.code(201).send({ recorded: true as const, commentKept });
        } catch (error) {
          if (error instanceof StoreUnreadable) throw problems.feedbackUnavailable(error.message);
          throw error;
        }
      },
    );

    app.get(
      "/departments/:dept/environments/:env/eservices/:name/feedback",
      {
        schema: {
          tags: ["eservices"],
          summary:
            "An e-service's ratings for a month and the comments kept (the department's own people only)",
          params: ResourceParams,
          querystring: OptionalPeriodQuery,
          response: responses(
            { 200: json("Ratings and comments", FeedbackView) },
            [400, 401, 403, 404, 429, 500, 503],
          ),
        },
      },
      async (request) => {
        const { dept, env, namespace } = await environmentNamespace(deps, request, "eservice:read");
        const { name } = request.params;
        const principal = principalOf(request);
        // Comments are the citizens' words to the department: platform-wide roles do not read them.
        if (roleIn(principal, dept) === undefined)
          throw problems.forbidden(
            `Feedback comments of ${dept}'s e-services are shown only to the department's own people`,
            "Ask the department for its figures, or read satisfaction in its performance report",
          );
        if (!(await deps.reads.eservice(namespace, name)))
          throw problems.notFound(`EService ${name} does not exist in ${namespace}`);
        const now = Date.now();
        const period = request.query.period ?? periodOf(now, deps.timeZone);
        let ratings: Awaited<ReturnType<typeof readRatings>>;
        let comments: Awaited<ReturnType<typeof readComments>>;
        try {
          [ratings, comments] = await Promise.all([
            readRatings(deps.kube, dept),
            readComments(deps.kube, dept),
          ]);
        } catch (error) {
          if (error instanceof StoreUnreadable) throw problems.feedbackUnavailable(error.message);
          throw error;
        }
        const key = `${namespace}/${name}`;
        const { retentionDays } = defaultFeedbackLimits;
        return {
          department: dept,
          environment: env,
          eservice: name,
          period,
          ...satisfactionOf(ratings[period]?.[key]),
          retentionDays,
          comments: retained(comments, dayOf(now, deps.timeZone), retentionDays)
            .filter((c) => c.eservice === key)
            .reverse()
            .map(({ day, rating, text }) => ({ day, rating, text })),
        };
      },
    );
  };
}

import Type, { type Static } from "typebox";

// RFC 9457 problem details: every error the API returns has a stable `type`, a human title and detail,
// and, for bad input, the field at fault and what to do instead. Never a stack trace.

export const problemBase = "https://govhost.io/problems/";

export const Problem = Type.Object(
  {
    type: Type.String({
      format: "uri",
      description: "Stable identifier of the kind of problem, e.g. https://govhost.io/problems/not-found",
    }),
    title: Type.String({ description: "Short, human summary of the kind of problem" }),
    status: Type.Integer({ minimum: 400, maximum: 599, description: "The HTTP status code" }),
    detail: Type.String({ description: "What went wrong with this request" }),
    instance: Type.Optional(Type.String({ description: "The request's path (and query)" })),
    field: Type.Optional(
      Type.String({ description: "Dotted path of the field at fault, e.g. body.spec.image" }),
    ),
    fix: Type.Optional(Type.String({ description: "What to do instead" })),
    rule: Type.Optional(
      Type.String({ description: "For admission refusals: the baseline rule id, e.g. GH-IMG-001" }),
    ),
    errors: Type.Optional(
      Type.Array(
        Type.Object({ field: Type.String(), detail: Type.String(), fix: Type.Optional(Type.String()) }),
        { description: "Every field at fault, for invalid requests" },
      ),
    ),
  },
  { $id: "Problem", title: "RFC 9457 problem details" },
);
export type Problem = Static<typeof Problem>;

export class ProblemError extends Error {
  readonly problem: Problem;
  constructor(problem: Omit<Problem, "type"> & { type: string }) {
    super(problem.detail);
    this.problem = {
      ...problem,
      type: problem.type.startsWith("http") ? problem.type : `${problemBase}${problem.type}`,
    };
  }
}

export const problems = {
  unauthorized: (detail: string) =>
    new ProblemError({
      type: "unauthorized",
      title: "Authentication required",
      status: 401,
      detail,
      fix: "Send a valid bearer access token from the platform's OpenID provider (Authorization: Bearer <token>)",
    }),
  forbidden: (detail: string, fix?: string) =>
    new ProblemError({
      type: "forbidden",
      title: "Not allowed",
      status: 403,
      detail,
      ...(fix ? { fix } : {}),
    }),
  notFound: (detail: string) =>
    new ProblemError({ type: "not-found", title: "Not found", status: 404, detail }),
  conflict: (detail: string, fix?: string) =>
    new ProblemError({ type: "conflict", title: "Conflict", status: 409, detail, ...(fix ? { fix } : {}) }),
  auditUnavailable: () =>
    new ProblemError({
      type: "audit-unavailable",
      title: "Audit log unavailable",
      status: 503,
      detail:
        "Nothing was changed: the request could not be recorded in the audit log, and no change is made unaudited",
      fix: "Retry later; platform operators: check the audit log's volume (free space, permissions) and the API's log",
    }),
  /** A department's metering ledger has a head or shard the controller reports as untrustworthy. */
  ledgerUnavailable: (department: string) =>
    new ProblemError({
      type: "ledger-unavailable",
      title: "Metering ledger unavailable",
      status: 503,
      detail: `The metering ledger of ${department} cannot be read as stored; no figure is given rather than a wrong one`,
      fix: "Retry later; platform operators: see the controller's log and govhost_metering_ledger_unreadable (docs/metering.md, Ledger shards)",
    }),
  /** A department's traffic counts are stored in a form the API cannot read. */
  trafficUnavailable: (department: string, why: string) =>
    new ProblemError({
      type: "traffic-unavailable",
      title: "Traffic counts unavailable",
      status: 503,
      detail: `The measurements of ${department}'s e-services cannot be read as stored (${why}); no figure is given rather than a wrong one`,
      fix: "Retry later; platform operators: see the controller's log (components traffic and availability) and docs/performance.md",
    }),
  /** A department's feedback store is in a form the API cannot read (it is left as it is). */
  feedbackUnavailable: (why: string) =>
    new ProblemError({
      type: "feedback-unavailable",
      title: "Feedback cannot be recorded now",
      status: 503,
      detail: `Feedback for this e-service cannot be recorded or read now (${why}); nothing was changed`,
      fix: "Try again later; platform operators: see docs/performance.md (Satisfaction)",
    }),
  /** The request does not match the schema (the OpenAPI document's). */
  invalid: (detail: string, field: string, fix: string) =>
    new ProblemError({ type: "invalid-request", title: "Invalid request", status: 400, detail, field, fix }),
  /** The request matches the schema but breaks a rule a schema cannot express (e.g. a window that ends first). */
  unprocessable: (detail: string, field: string, fix: string) =>
    new ProblemError({ type: "invalid-request", title: "Invalid request", status: 422, detail, field, fix }),
};

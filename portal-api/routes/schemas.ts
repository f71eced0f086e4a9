import Type, { type TSchema, type TUnsafe } from "typebox";
import { Condition, dnsLabelPattern } from "../../controller/api/schema-helpers.ts";
import type { Problem } from "../problem.ts";

// Schemas shared by the route plugins: path parameters, and the problem+json answers each route declares,
// so the OpenAPI document lists every status a route really returns.

export const Name = Type.String({ pattern: dnsLabelPattern, minLength: 1, maxLength: 63 });
export const DeptParams = Type.Object({ dept: Name }, { additionalProperties: false });
export const EnvParams = Type.Object({ dept: Name, env: Name }, { additionalProperties: false });
export const ResourceParams = Type.Object(
  { dept: Name, env: Name, name: Name },
  { additionalProperties: false },
);

/** A department's name: its code, a DNS label of 2 to 20 characters (the Department CRD's rule). */
export const DepartmentName = Type.String({ pattern: dnsLabelPattern, minLength: 2, maxLength: 20 });

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const Conditions = Type.Array(Condition);

/** Bilingual display name (English, Traditional Chinese). */
export const DisplayName = Type.Object({ en: Type.String(), zhHant: Type.String() });

/** One result of a wg-policy PolicyReport (wgpolicyk8s.io/v1alpha2), as the platform's scanners write them. */
export const PolicyReportResult = Type.Object({
  source: Type.Optional(Type.String()),
  policy: Type.Optional(Type.String()),
  rule: Type.Optional(Type.String()),
  category: Type.Optional(Type.String()),
  severity: Type.Optional(Type.String()),
  result: Type.Optional(Type.String({ description: "pass, fail, warn, error or skip" })),
  scored: Type.Optional(Type.Boolean()),
  message: Type.Optional(Type.String()),
  timestamp: Type.Optional(Type.Object({ seconds: Type.Integer(), nanos: Type.Integer() })),
  resources: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()))),
  properties: Type.Optional(Type.Record(Type.String(), Type.String())),
});

/** 202 answer of a delete: the object is going (finalizers may still run). */
export const Deleting = (status: "deleting" | "cancelling") =>
  Type.Object({ name: Type.String(), status: Type.Literal(status) });

/** The problem+json statuses the API answers with, and what each means on any route. */
const problemMeanings = {
  400: "Invalid request: a parameter, the query or the body does not match the schema (problem+json names every field at fault)",
  401: "No bearer token, or one that does not verify",
  403: "The caller's roles do not allow this, or the platform refused it (e.g. quota exceeded)",
  404: "Not found",
  405: "Method not allowed here (the Allow header lists the methods that are)",
  409: "Conflict: the object exists already, or was changed meanwhile",
  413: "The request body is larger than the API accepts",
  415: "The request body is not JSON",
  422: "Refused by the security baseline or the resource's own rules (problem+json names the rule and the fix)",
  429: "Too many requests from this client; retry later",
  500: "Unexpected error (problem+json with the request id, never a stack trace)",
  502: "The Kubernetes API answered with an unexpected error",
  503: "The platform is temporarily unavailable, or (writes) the audit log could not record the request: nothing was changed",
} as const;
export type ProblemStatus = keyof typeof problemMeanings;

const ProblemRef = Type.Unsafe<Problem>({ $ref: "Problem#" });

interface ProblemResponse {
  description: string;
  content: { "application/problem+json": { schema: TUnsafe<Problem> } };
}

/**
 * A route's `response` schema: its success answers and the problem+json answers it may give, so the OpenAPI
 * document describes both.
 */
export function responses<S extends Record<number, unknown>, const P extends readonly ProblemStatus[]>(
  success: S,
  problems: P,
): S & { [K in P[number]]: ProblemResponse } {
  const declared: Record<number, unknown> = { ...success };
  for (const status of problems)
    declared[status] = {
      description: problemMeanings[status],
      content: { "application/problem+json": { schema: ProblemRef } },
    };
  return declared as S & { [K in P[number]]: ProblemResponse };
}

/** A JSON success answer with a description. */
export function json<T extends TSchema>(description: string, schema: T) {
  return { description, content: { "application/json": { schema } } };
}

const periodPattern = "^[0-9]{4}-(0[1-9]|1[0-2])$";

/** `?period=YYYY-MM`, a calendar month; the current one when absent. */
export const OptionalPeriodQuery = Type.Object(
  {
    period: Type.Optional(
      Type.String({
        pattern: periodPattern,
        description: "Calendar month, YYYY-MM (default: the current one)",
      }),
    ),
  },
  { additionalProperties: false },
);

/** An e-service's path parameters and a calendar month. */
export const ResourcePeriodParams = Type.Object(
  {
    dept: Name,
    env: Name,
    name: Name,
    period: Type.String({ pattern: periodPattern, description: "Calendar month, YYYY-MM" }),
  },
  { additionalProperties: false },
);

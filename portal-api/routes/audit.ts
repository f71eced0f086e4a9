import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import Type from "typebox";
import type { ApiDependencies } from "../dependencies.ts";
import { principalOf, requireAllowed } from "./common.ts";
import { json, Name, responses } from "./schemas.ts";

// /audit and /audit/verify: the audit trail (operators and auditors).

const defaultLimit = 100;

const AuditRecord = Type.Object({
  seq: Type.Integer(),
  time: Type.String({ format: "date-time" }),
  requestId: Type.String(),
  clientRequestId: Type.Optional(Type.String()),
  stage: Type.Optional(Type.String({ description: "request, response, summary or system" })),
  actor: Type.Object({
    username: Type.String(),
    subject: Type.String(),
    displayName: Type.Optional(Type.String()),
    roles: Type.Array(Type.String()),
  }),
  action: Type.String({ description: "e.g. eservice.create, department.update" }),
  target: Type.Object({
    kind: Type.String(),
    name: Type.String(),
    department: Type.Optional(Type.String()),
    namespace: Type.Optional(Type.String()),
    object: Type.Optional(Type.String({ description: "The name a create's body gives its object" })),
  }),
  before: Type.Optional(Type.Unknown()),
  after: Type.Optional(Type.Unknown()),
  result: Type.Object({
    status: Type.Optional(Type.Integer()),
    outcome: Type.String({ description: "pending, success, denied or failed" }),
    detail: Type.Optional(Type.String()),
  }),
  summary: Type.Optional(
    Type.Object(
      {
        from: Type.String({ format: "date-time" }),
        to: Type.String({ format: "date-time" }),
        total: Type.Integer(),
        routes: Type.Array(
          Type.Object({
            method: Type.String(),
            route: Type.String(),
            status: Type.Integer(),
            count: Type.Integer(),
          }),
        ),
        other: Type.Integer(),
        addresses: Type.Array(Type.Object({ address: Type.String(), count: Type.Integer() })),
      },
      { description: "Anonymous traffic refused in the interval (stage summary)" },
    ),
  ),
  prevHash: Type.String(),
  hash: Type.String(),
});

const Verification = Type.Object({
  valid: Type.Boolean(),
  records: Type.Integer({ description: "Records checked" }),
  head: Type.Optional(Type.Object({ seq: Type.Integer(), hash: Type.String() })),
  brokenAt: Type.Optional(Type.Integer({ description: "The first record that does not verify" })),
  reason: Type.Optional(Type.String()),
});

export function auditRoutes(deps: ApiDependencies): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      "/audit",
      {
        schema: {
          tags: ["audit"],
          summary: "Audit records, newest first (operators and auditors)",
          querystring: Type.Object(
            {
              department: Type.Optional(Name),
              actor: Type.Optional(Type.String({ maxLength: 256 })),
              action: Type.Optional(Type.String({ maxLength: 64 })),
              since: Type.Optional(Type.String({ format: "date-time" })),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: defaultLimit })),
            },
            { additionalProperties: false },
          ),
          response: responses(
            { 200: json("The matching records", Type.Object({ items: Type.Array(AuditRecord) })) },
            [400, 401, 403, 429, 500],
          ),
        },
      },
      async (request) => {
        requireAllowed(principalOf(request), "audit:read");
        const { limit = defaultLimit, ...filter } = request.query;
        return { items: await deps.audit.query({ ...filter, limit }) };
      },
    );

    app.get(
      "/audit/verify",
      {
        schema: {
          tags: ["audit"],
          summary: "Verify the audit hash chain",
          response: responses({ 200: json("The verdict", Verification) }, [401, 403, 429, 500]),
        },
      },
      async (request) => {
        requireAllowed(principalOf(request), "audit:read");
        return deps.audit.verify();
      },
    );
  };
}

import type { FastifyPluginAsync } from "fastify";
import Type from "typebox";
import type { ApiDependencies } from "../server.ts";
import { Name, principalOf, requireAllowed } from "./common.ts";

export function auditRoutes(deps: ApiDependencies): FastifyPluginAsync {
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
              limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
            },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => {
        requireAllowed(principalOf(request), "audit:read");
        const query = request.query as {
          department?: string;
          actor?: string;
          action?: string;
          since?: string;
          limit: number;
        };
        return { items: await deps.audit.query(query) };
      },
    );

    app.get(
      "/audit/verify",
      { schema: { tags: ["audit"], summary: "Verify the audit hash chain" } },
      async (request) => {
        requireAllowed(principalOf(request), "audit:read");
        return deps.audit.verify();
      },
    );
  };
}

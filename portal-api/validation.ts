import { Ajv, type Options } from "ajv";
import ajvFormats from "ajv-formats";
import type { FastifyError, FastifySchemaCompiler } from "fastify";
import type { TSchema } from "typebox";
import { type Problem, problemBase } from "./problem.ts";

// Request validation against the routes' schemas (Ajv, as fastify's own compiler, with ajv-formats). JSON
// bodies are checked as they are, with no type coercion: `"replicas": "3"` or `"suspended": null` is not an
// integer or a boolean, as the OpenAPI document says. Parameters and query strings are text, so there a
// number or a boolean is read from its text (`?limit=20`).

const common: Options = {
  useDefaults: true,
  removeAdditional: false,
  strict: false,
  allErrors: true,
  addUsedSchema: false,
  // Each error carries the schema it broke, so the fix can say what the field is for.
  verbose: true,
};
const bodies = new Ajv({ ...common, coerceTypes: false });
const strings = new Ajv({ ...common, coerceTypes: "array" });
// ajv-formats is CommonJS: its plugin is both module.exports and module.exports.default.
const addFormats = ajvFormats.default;
for (const ajv of [bodies, strings]) addFormats(ajv);

export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) =>
  (httpPart === "body" ? bodies : strings).compile(schema);

/** A 400 problem naming every field at fault and what to do about it. */
export function validationProblem(error: FastifyError): Problem {
  // Fields are named as the document's parameters are: body, params, query (fastify says "querystring").
  const context = error.validationContext ?? "body";
  const where = context === "querystring" ? "query" : context;
  const errors = (error.validation ?? []).map((v) => {
    const params = v.params as Record<string, unknown>;
    const path = `${where}${v.instancePath.replaceAll("/", ".")}`;
    if (typeof params.missingProperty === "string")
      return {
        field: `${path}.${params.missingProperty}`,
        detail: "is required",
        fix: `Add ${params.missingProperty}`,
      };
    if (typeof params.additionalProperty === "string")
      return {
        field: `${path}.${params.additionalProperty}`,
        detail: "is not a known field",
        fix: `Remove ${params.additionalProperty} (see /openapi.json for the fields)`,
      };
    if (Array.isArray(params.allowedValues))
      return {
        field: path,
        detail: v.message ?? "is invalid",
        fix: `Use one of: ${params.allowedValues.join(", ")}`,
      };
    // Present because the validators are verbose (fastify's error type does not list it).
    const described = (v as { parentSchema?: { description?: unknown } }).parentSchema?.description;
    return {
      field: path,
      detail: v.message ?? "is invalid",
      fix:
        typeof described === "string"
          ? `Correct the value: ${described.replace(/\.$/, "")} (schema in /openapi.json)`
          : "Correct the value to match the schema in /openapi.json",
    };
  });
  const first = errors[0];
  return {
    type: `${problemBase}invalid-request`,
    title: "Invalid request",
    status: 400,
    detail: errors.map((e) => `${e.field} ${e.detail}`).join("; ") || "the request is invalid",
    ...(first ? { field: first.field, fix: first.fix } : {}),
    errors,
  };
}

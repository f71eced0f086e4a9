import type { TSchema } from "typebox";
import { group, version } from "./group.ts";

type JsonSchema = { [key: string]: unknown };

/**
 * Converts a TypeBox (JSON Schema) definition into a Kubernetes structural schema: records become
 * `additionalProperties`, literals become enums, and keywords CRDs reject are dropped. Unknown fields are
 * pruned by the API server, so `additionalProperties: false` (kept for the portal API's validation) goes.
 */
export function toStructuralSchema(schema: TSchema | JsonSchema): JsonSchema {
  const source = schema as JsonSchema;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(source)) {
    switch (key) {
      case "$id":
      case "$schema":
      case "examples":
        break;
      case "const":
        out.enum = [value];
        if (!("type" in source)) out.type = typeof value;
        break;
      case "additionalProperties":
        if (typeof value === "object" && value !== null) out.additionalProperties = toStructuralSchema(value);
        break;
      case "patternProperties": {
        const [inner] = Object.values(value as Record<string, JsonSchema>);
        if (inner) out.additionalProperties = toStructuralSchema(inner);
        break;
      }
      case "properties":
        // The API server drops an empty map when it stores a schema: emitting one would show as a diff
        // on every apply (Pulumi saw one for SharedService's empty status).
        if (Object.keys(value as object).length === 0) break;
        out.properties = Object.fromEntries(
          Object.entries(value as Record<string, JsonSchema>).map(([name, prop]) => [
            name,
            toStructuralSchema(prop),
          ]),
        );
        break;
      case "items":
        out.items = toStructuralSchema(value as JsonSchema);
        break;
      default:
        out[key] = value;
    }
  }
  return out;
}

export interface CrdDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames?: string[];
  scope: "Cluster" | "Namespaced";
  spec: TSchema;
  status: TSchema;
  rootValidations?: { rule: string; message: string }[];
  printerColumns?: { name: string; type: string; jsonPath: string; priority?: number }[];
}

/** A CustomResourceDefinition (apiextensions.k8s.io/v1) for one govhost kind, with a status subresource. */
export function customResourceDefinition(def: CrdDefinition) {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${def.plural}.${group}`, labels: { "app.kubernetes.io/part-of": "govhost" } },
    spec: {
      group,
      scope: def.scope,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        ...(def.shortNames ? { shortNames: def.shortNames } : {}),
        categories: ["govhost"],
      },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            ...(def.printerColumns ?? []),
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
          schema: {
            openAPIV3Schema: {
              type: "object",
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: toStructuralSchema(def.spec),
                status: toStructuralSchema(def.status),
              },
              ...(def.rootValidations ? { "x-kubernetes-validations": def.rootValidations } : {}),
            },
          },
        },
      ],
    },
  };
}

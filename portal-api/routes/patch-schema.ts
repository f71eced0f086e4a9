import Type, { type TSchema, type TUnsafe } from "typebox";

type Json = { [key: string]: unknown };

/**
 * The body schema of a JSON merge patch of `schema`: every field optional at every depth, and no defaults
 * (a default would silently overwrite the stored value of every field the caller did not mention).
 */
export function mergePatchSchema(schema: TSchema): TUnsafe<Record<string, unknown>> {
  const strip = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(strip);
    if (!node || typeof node !== "object") return node;
    const out: Json = {};
    for (const [key, value] of Object.entries(node as Json)) {
      if (key === "default" || key === "required") continue;
      if (key === "properties") {
        out.properties = Object.fromEntries(Object.entries(value as Json).map(([k, v]) => [k, strip(v)]));
        continue;
      }
      // Arrays are replaced whole by a merge patch, so their items keep their full schema (minus defaults).
      out[key] = key === "items" ? withoutDefaults(value) : strip(value);
    }
    return out;
  };
  return Type.Unsafe<Record<string, unknown>>(strip(schema) as TSchema);
}

function withoutDefaults(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDefaults);
  if (!node || typeof node !== "object") return node;
  return Object.fromEntries(
    Object.entries(node as Json)
      .filter(([key]) => key !== "default")
      .map(([key, value]) => [key, withoutDefaults(value)]),
  );
}

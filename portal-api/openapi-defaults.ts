// The request bodies in the OpenAPI document say what a client must send. A field with a default is filled
// in by the API (Ajv's useDefaults) when it is left out, so it is not required of the client, even where the
// schema it comes from (a CRD's spec, whose defaults the API server applies) lists it as required.

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The schema with every property that has a default taken out of `required`, at every depth. A copy. */
export function defaultsNotRequired(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(defaultsNotRequired);
  if (!isObject(schema)) return schema;
  const copy: Json = Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [key, defaultsNotRequired(value)]),
  );
  const properties = copy.properties;
  if (Array.isArray(copy.required) && isObject(properties)) {
    const required = copy.required.filter(
      (name) => !(typeof name === "string" && isObject(properties[name]) && "default" in properties[name]),
    );
    if (required.length > 0) copy.required = required;
    else delete copy.required;
  }
  return copy;
}

/** The document with its request bodies' defaulted fields optional (responses keep theirs: they are always there). */
export function requestDefaultsOptional<T extends { paths?: unknown }>(document: T): T {
  if (!isObject(document.paths)) return document;
  const paths: Json = {};
  for (const [path, item] of Object.entries(document.paths)) {
    if (!isObject(item)) {
      paths[path] = item;
      continue;
    }
    paths[path] = Object.fromEntries(
      Object.entries(item).map(([method, operation]) =>
        isObject(operation) && isObject(operation.requestBody)
          ? [method, { ...operation, requestBody: defaultsNotRequired(operation.requestBody) }]
          : [method, operation],
      ),
    );
  }
  return { ...document, paths };
}

import Type, { type Static, type TUnsafe } from "typebox";

/** A string restricted to `values`, as a plain JSON-Schema enum (CRD structural schemas reject `const`). */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: Record<string, unknown> = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: "string", enum: [...values], ...options });
}

/** RFC 1123 DNS label (the rules Kubernetes applies to namespace names). */
export const dnsLabelPattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";

/** A Kubernetes resource quantity such as `500m`, `2`, `16Gi`. */
export const quantityPattern = "^([+]?[0-9]+(\\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$";

export function Quantity(description: string) {
  return Type.String({ pattern: quantityPattern, description, examples: ["500m", "2", "16Gi"] });
}

export const Condition = Type.Object({
  type: Type.String(),
  status: StringEnum(["True", "False", "Unknown"] as const),
  reason: Type.String(),
  message: Type.String(),
  lastTransitionTime: Type.String({ format: "date-time" }),
  observedGeneration: Type.Optional(Type.Integer()),
});

export const ObjectMeta = Type.Object({
  name: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  uid: Type.Optional(Type.String()),
  resourceVersion: Type.Optional(Type.String()),
  generation: Type.Optional(Type.Integer()),
  creationTimestamp: Type.Optional(Type.String()),
  deletionTimestamp: Type.Optional(Type.String()),
  labels: Type.Optional(Type.Record(Type.String(), Type.String())),
  annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
  finalizers: Type.Optional(Type.Array(Type.String())),
});

export type Condition = Static<typeof Condition>;

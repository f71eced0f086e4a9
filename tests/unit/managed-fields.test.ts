import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { withoutManagedFieldsJson } from "../../lib/kube/managed-fields.ts";

const withoutManagedFieldsText = (text: string) => withoutManagedFieldsJson(Buffer.from(text));

/** What the cut must equal: the event parsed whole, then its object's managedFields deleted. */
function parsedThenDropped(text: string): unknown {
  const event = JSON.parse(text) as { object: { metadata: Record<string, unknown> } };
  delete event.object.metadata.managedFields;
  return event;
}

// Keys and values made of the characters that could confuse a scanner: brackets, braces, quotes,
// backslashes, commas, colons and the key's own name.
const tricky = fc.string({
  unit: fc.constantFrom("[", "]", "{", "}", '"', "\\", ",", ":", "a", "f:", "managedFields", " ", "é", "\n"),
  maxLength: 20,
});
function treeOf(depth: number): fc.Arbitrary<unknown> {
  const leaf = fc.oneof(tricky, fc.integer(), fc.constant(null));
  if (depth === 0) return leaf;
  const inner = treeOf(depth - 1);
  return fc.oneof(leaf, fc.dictionary(tricky, inner, { maxKeys: 3 }), fc.array(inner, { maxLength: 3 }));
}
const fieldsTree = treeOf(3);
const managedFields = fc.array(
  fc.record({ manager: tricky, operation: fc.constantFrom("Apply", "Update"), fieldsV1: fieldsTree }),
  { maxLength: 4 },
);

describe("withoutManagedFieldsJson", () => {
  it("gives the event as parsed whole without its object's managedFields, wherever they sit in metadata", () => {
    fc.assert(
      fc.property(
        fc.dictionary(tricky, tricky, { maxKeys: 4 }),
        fc.dictionary(tricky, fieldsTree, { maxKeys: 4 }),
        managedFields,
        fc.nat(3),
        fc.constantFrom("ADDED", "MODIFIED", "DELETED"),
        (labels, spec, owned, position, type) => {
          const others = [
            ["name", "p"],
            ["labels", labels],
            ["resourceVersion", "42"],
          ];
          const metadata = Object.fromEntries([
            ...others.slice(0, position),
            ["managedFields", owned],
            ...others.slice(position),
          ]);
          const text = JSON.stringify({ type, object: { kind: "Pod", metadata, spec } });
          const cut = withoutManagedFieldsText(text);
          expect(JSON.parse(cut)).toEqual(parsedThenDropped(text));
          expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(Buffer.byteLength(text));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("cuts metadata's only key, and leaves the first occurrence's array only (a later key of that name stays)", () => {
    const only = JSON.stringify({ type: "ADDED", object: { metadata: { managedFields: [{ a: "]" }] } } });
    expect(JSON.parse(withoutManagedFieldsText(only))).toEqual({ type: "ADDED", object: { metadata: {} } });
    const later = JSON.stringify({
      type: "ADDED",
      object: { metadata: { name: "x", managedFields: [] }, spec: { managedFields: [1] } },
    });
    expect(JSON.parse(withoutManagedFieldsText(later))).toEqual({
      type: "ADDED",
      object: { metadata: { name: "x" }, spec: { managedFields: [1] } },
    });
  });

  it("leaves text without the key, or whose array never closes, as it is", () => {
    const plain = JSON.stringify({ type: "BOOKMARK", object: { metadata: { resourceVersion: "9" } } });
    expect(withoutManagedFieldsText(plain)).toBe(plain);
    const inString = JSON.stringify({ type: "ADDED", object: { metadata: { name: '"managedFields":[' } } });
    expect(withoutManagedFieldsText(inString)).toBe(inString);
    const truncated = '{"type":"ADDED","object":{"metadata":{"managedFields":[{"a":"]"}';
    expect(withoutManagedFieldsText(truncated)).toBe(truncated);
  });
});

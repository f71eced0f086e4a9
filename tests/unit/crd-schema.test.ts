import Type from "typebox";
import { describe, expect, it } from "vitest";
import { toStructuralSchema } from "../../controller/api/crd.ts";

describe("CRD structural schemas", () => {
  it("converts records, literals and closed objects into what the API server stores", () => {
    const schema = Type.Object(
      {
        labels: Type.Record(Type.String(), Type.String()),
        mode: Type.Literal("reserved"),
      },
      { additionalProperties: false },
    );
    expect(toStructuralSchema(schema)).toEqual({
      type: "object",
      required: ["labels", "mode"],
      properties: {
        labels: { type: "object", additionalProperties: { type: "string" } },
        mode: { type: "string", enum: ["reserved"] },
      },
    });
  });

  it("leaves out an empty properties map, which the API server would drop (a diff on every apply)", () => {
    expect(toStructuralSchema(Type.Object({}))).toEqual({ type: "object" });
  });
});

import { describe, expect, it } from "vitest";
import { errorAt, linkedToControls, problemLines, segment } from "../../portal-api/pages/forms.ts";

describe("form error lines", () => {
  const problem = {
    status: 422,
    errors: [
      { field: "body.spec.parameters.legalHolds.0.reason", detail: "must be at least 10 characters" },
      { field: "body.spec.plan", detail: "is not a plan of the service", fix: "Choose a listed plan" },
      { field: "body.metadata", detail: "is not allowed" },
    ],
  };

  it("links each line to the control with the most precise field, whatever the order of the controls", () => {
    const controls = {
      parameters: ["body.spec.parameters"],
      "hold-reason": ["body.spec.parameters.legalHolds.0.reason"],
      plan: ["body.spec.plan"],
    };
    const lines = linkedToControls(problemLines(problem), controls);
    expect(lines.map((l) => l.anchor)).toEqual(["hold-reason", "plan", undefined]);
    const reversed = Object.fromEntries(Object.entries(controls).reverse());
    expect(linkedToControls(problemLines(problem), reversed).map((l) => l.anchor)).toEqual(
      lines.map((l) => l.anchor),
    );
  });

  it("shows a line under exactly the control the summary links it to", () => {
    const lines = linkedToControls(problemLines(problem), {
      parameters: ["body.spec.parameters"],
      "hold-reason": ["body.spec.parameters.legalHolds"],
    });
    expect(errorAt(lines, "hold-reason")).toBe(
      "spec.parameters.legalHolds.0.reason must be at least 10 characters.",
    );
    expect(errorAt(lines, "parameters")).toBeUndefined();
    expect(errorAt(lines, "plan")).toBeUndefined();
  });

  it("keeps a path segment one segment", () => {
    expect(segment("a/b?c#d")).toBe("a%2Fb%3Fc%23d");
  });
});

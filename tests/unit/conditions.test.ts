import { describe, expect, it } from "vitest";
import type { Condition } from "../../controller/api/schema-helpers.ts";
import { mergeConditions } from "../../controller/runtime/conditions.ts";

const earlier = "2026-11-01T08:00:00Z";
const now = new Date("2026-12-01T09:30:15.123Z");
const ready: Condition = {
  type: "Ready",
  status: "True",
  reason: "Provisioned",
  message: "all environments provisioned",
  lastTransitionTime: earlier,
  observedGeneration: 3,
};
const quota: Condition = {
  type: "QuotaWithinLimits",
  status: "True",
  reason: "WithinLimits",
  message: "",
  lastTransitionTime: earlier,
  observedGeneration: 3,
};

describe("mergeConditions", () => {
  it("keeps lastTransitionTime when the status stays, even as reason, message and generation change", () => {
    const [merged] = mergeConditions(
      [ready],
      [{ type: "Ready", status: "True", reason: "Reconciled", message: "still provisioned" }],
      4,
      now,
    );
    expect(merged).toEqual({
      type: "Ready",
      status: "True",
      reason: "Reconciled",
      message: "still provisioned",
      lastTransitionTime: earlier,
      observedGeneration: 4,
    });
  });

  it("moves lastTransitionTime to now (whole seconds) when the status flips", () => {
    const [merged] = mergeConditions(
      [ready],
      [{ type: "Ready", status: "False", reason: "QuotaExceeded", message: "over quota" }],
      4,
      now,
    );
    expect(merged?.lastTransitionTime).toBe("2026-12-01T09:30:15Z");
    expect(merged?.status).toBe("False");
  });

  it("keeps other condition types as they were and adds new ones with now", () => {
    const merged = mergeConditions(
      [ready, quota],
      [{ type: "Degraded", status: "False", reason: "Healthy", message: "" }],
      5,
      now,
    );
    expect(merged).toHaveLength(3);
    expect(merged.find((c) => c.type === "Ready")).toEqual(ready);
    expect(merged.find((c) => c.type === "QuotaWithinLimits")).toEqual(quota);
    expect(merged.find((c) => c.type === "Degraded")).toMatchObject({
      lastTransitionTime: "2026-12-01T09:30:15Z",
      observedGeneration: 5,
    });
  });

  it("leaves observedGeneration out when the object has no generation, and starts from no conditions", () => {
    const merged = mergeConditions(
      undefined,
      [{ type: "Ready", status: "Unknown", reason: "Pending", message: "" }],
      undefined,
      now,
    );
    expect(merged).toEqual([
      {
        type: "Ready",
        status: "Unknown",
        reason: "Pending",
        message: "",
        lastTransitionTime: "2026-12-01T09:30:15Z",
      },
    ]);
  });
});

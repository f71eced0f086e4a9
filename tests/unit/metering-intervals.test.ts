import { describe, expect, it } from "vitest";
import { scaledInterval } from "../../controller/metering/meter.ts";

describe("a department's batch window and pricing interval", () => {
  it("keeps the base interval for a ledger of up to 20,000 changes", () => {
    expect(scaledInterval(1000, 0)).toBe(1000);
    expect(scaledInterval(1000, 20_000)).toBe(1000);
    expect(scaledInterval(5000, 12_345)).toBe(5000);
  });

  it("grows in proportion to the ledger past that, so the cost of rewriting and pricing it per second stays flat", () => {
    expect(scaledInterval(1000, 40_000)).toBe(2000);
    expect(scaledInterval(1000, 180_000)).toBe(9000);
    expect(scaledInterval(5000, 90_000)).toBe(22_500);
    // Changes per second of interval: the same for a ledger of 40,000 and one of 180,000.
    expect(40_000 / scaledInterval(1000, 40_000)).toBe(180_000 / scaledInterval(1000, 180_000));
  });

  it("never waits more than ten base intervals, however large the ledger", () => {
    expect(scaledInterval(1000, 1_000_000)).toBe(10_000);
    expect(scaledInterval(5000, 10_000_000)).toBe(50_000);
  });
});

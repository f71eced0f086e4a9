import { describe, expect, it } from "vitest";
import { memoryGrowth, theilSenSlope } from "../bench/_growth.ts";
import { median } from "../bench/_stats.ts";

// Window medians (MiB, after warm-up) are the ones soak runs printed, as docs/reliability.md records them.
const soakBound = { share: 0.1, floor: 16 };

describe("soak memory growth verdict", () => {
  it("takes the middle of an even count as the mean of the two middle values", () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5, 1, 3])).toBe(3);
  });

  it("gives the slope of a straight line, and ignores one odd point", () => {
    expect(theilSenSlope([10, 12, 14, 16, 18])).toBe(2);
    expect(theilSenSlope([-40, 12, 14, 16, 18])).toBe(2);
  });

  it("passes a first window in which V8 gave its heap back (60-minute run, portal API)", () => {
    // The one-window baseline read this as +62 against a bound of +20; from the second window on it is +7.
    const growth = memoryGrowth([199, 254, 257, 260, 261], soakBound);
    expect(growth).toMatchObject({ baseline: 255.5, last: 261, ok: true });
    expect(growth.step).toBeCloseTo(5.5);
    expect(growth.trend).toBeCloseTo(12);
  });

  it("fails a step between the fourth and fifth windows that stays (60-minute run, controller)", () => {
    const growth = memoryGrowth([218, 220, 225, 274, 277], soakBound);
    expect(growth.ok).toBe(false);
    expect(growth.step).toBeCloseTo(54.5);
    expect(growth.trend).toBeGreaterThan(growth.bound);
  });

  it("fails a step in the last window, which the trend alone would not see (MALLOC_ARENA_MAX=2 run)", () => {
    const growth = memoryGrowth([228, 229, 230, 232, 283], soakBound);
    expect(growth.trend).toBeLessThan(growth.bound);
    expect(growth.step).toBeCloseTo(53.5);
    expect(growth.ok).toBe(false);
  });

  it("fails a steady climb that stays under the bound from one window to the next", () => {
    const growth = memoryGrowth([200, 210, 220, 230, 240], soakBound);
    expect(growth.trend).toBe(40);
    expect(growth.ok).toBe(false);
  });

  it("passes the runs the one-window rule passed (30- and 60-minute runs, controller)", () => {
    expect(memoryGrowth([234, 237, 243, 247, 249], soakBound)).toMatchObject({ trend: 16, ok: true });
    const sixty = memoryGrowth([224, 228, 234, 236, 244], soakBound);
    expect(sixty.trend).toBe(20);
    expect(sixty.bound).toBeCloseTo(23.1);
    expect(sixty.ok).toBe(true);
  });

  it("refuses fewer than two windows", () => {
    expect(() => memoryGrowth([100], soakBound)).toThrow(/at least two windows/);
  });
});

import { describe, expect, it } from "vitest";
import { percentile, summarize } from "../bench/_stats.ts";

describe("benchmark statistics", () => {
  it("uses the nearest-rank percentile", () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
  });

  it("summarizes unsorted samples without changing them", () => {
    const samples = [5, 1, 3];
    expect(summarize(samples)).toMatchObject({ count: 3, mean: 3, p50: 3, max: 5 });
    expect(samples).toEqual([5, 1, 3]);
  });
});

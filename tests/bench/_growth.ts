// Whether a process's memory grows over a soak, judged from the medians of its windows after warm-up.
// Two checks, each needed:
// - step: the last window against the median of the earlier ones. One window taken alone as the baseline
//   misreads a moment when V8 gave its heap back (a low first window) as growth.
// - trend: the Theil–Sen slope (median of the slopes between every two windows) over all of them, times
//   their span. Robust to one odd window at either end, so a step in the last window alone does not move
//   it: that is what the step check is for; a steady climb is caught by this one.
import { median } from "./_stats.ts";

export interface MemoryGrowth {
  /** Median of the windows before the last. */
  baseline: number;
  last: number;
  /** last − baseline */
  step: number;
  /** Theil–Sen slope per window × (windows − 1). */
  trend: number;
  /** max(share × baseline, floor) */
  bound: number;
  ok: boolean;
}

/** Median of the slopes between every two points, for points one step apart. */
export function theilSenSlope(values: number[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < values.length; i++) {
    for (let j = i + 1; j < values.length; j++)
      slopes.push(((values[j] as number) - (values[i] as number)) / (j - i));
  }
  return slopes.length === 0 ? 0 : median(slopes);
}

export function memoryGrowth(windowMedians: number[], bound: { share: number; floor: number }): MemoryGrowth {
  if (windowMedians.length < 2) throw new Error("memory growth needs at least two windows after warm-up");
  const baseline = median(windowMedians.slice(0, -1));
  const last = windowMedians[windowMedians.length - 1] as number;
  const step = last - baseline;
  const trend = theilSenSlope(windowMedians) * (windowMedians.length - 1);
  const limit = Math.max(bound.share * baseline, bound.floor);
  return { baseline, last, step, trend, bound: limit, ok: step <= limit && trend <= limit };
}

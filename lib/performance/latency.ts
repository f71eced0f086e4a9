// Percentiles of response time from the ingress controller's histogram buckets (cumulative counts per
// upper bound in seconds, Prometheus `le`), estimated as Prometheus' histogram_quantile does: linear
// interpolation inside the bucket the rank falls in. The bucket bounds limit how exact it is
// (docs/performance.md lists them).

export interface LatencyQuantile {
  /** The estimate in milliseconds. */
  milliseconds: number;
  /** The bounds of the bucket it fell in (ms); `upper` is null past the highest finite bound. */
  bucket: { lower: number; upper: number | null };
}

/** The `q` quantile (0..1) of the requests counted in `buckets`, or undefined with no requests. */
export function latencyQuantile(buckets: Record<string, number>, q: number): LatencyQuantile | undefined {
  const bounds = Object.entries(buckets)
    .map(([le, count]) => ({ le: le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), count }))
    .filter((b) => !Number.isNaN(b.le))
    .sort((a, b) => a.le - b.le);
  const total = bounds.at(-1);
  if (!total || total.le !== Number.POSITIVE_INFINITY || total.count === 0) return undefined;
  const rank = q * total.count;
  let lower = 0;
  let below = 0;
  for (const bound of bounds) {
    if (bound.count >= rank) {
      if (bound.le === Number.POSITIVE_INFINITY)
        return { milliseconds: toMicroseconds(lower * 1000), bucket: { lower: lower * 1000, upper: null } };
      const inBucket = bound.count - below;
      const fraction = inBucket === 0 ? 1 : (rank - below) / inBucket;
      return {
        milliseconds: toMicroseconds((lower + (bound.le - lower) * fraction) * 1000),
        bucket: { lower: lower * 1000, upper: bound.le * 1000 },
      };
    }
    lower = bound.le;
    below = bound.count;
  }
  return undefined;
}

/** Milliseconds to the microsecond: the bounds' decimal seconds are not exact in binary. */
const toMicroseconds = (ms: number): number => Math.round(ms * 1000) / 1000;

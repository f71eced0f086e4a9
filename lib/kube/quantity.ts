// Kubernetes resource quantities as exact integers: CPU in millicores, everything else in base units
// (bytes, counts). Quota arithmetic must be exact, so no floating point past parsing.

const decimalSuffix: Record<string, bigint> = {
  "": 1n,
  k: 10n ** 3n,
  M: 10n ** 6n,
  G: 10n ** 9n,
  T: 10n ** 12n,
  P: 10n ** 15n,
  E: 10n ** 18n,
};
const binarySuffix: Record<string, bigint> = {
  Ki: 2n ** 10n,
  Mi: 2n ** 20n,
  Gi: 2n ** 30n,
  Ti: 2n ** 40n,
  Pi: 2n ** 50n,
  Ei: 2n ** 60n,
};

// Sub-unit suffixes divide: the metrics API reports CPU in nanocores ("1459893n").
const fractionSuffix: Record<string, bigint> = { n: 10n ** 9n, u: 10n ** 6n, m: 10n ** 3n };

const pattern = /^\+?([0-9]+)(?:\.([0-9]+))?(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

// Every pod event parses its containers' requests again, and an estate's pods repeat a few dozen distinct
// quantities: the parsed values (immutable bigints) are kept, up to a bound.
const parsed = new Map<string, bigint>();
const parsedKept = 4096;

/** Parses a quantity into thousandths of its unit (so `500m` = 500, `2` = 2000, `1Ki` = 1024000). */
export function parseMilli(quantity: string): bigint {
  const known = parsed.get(quantity);
  if (known !== undefined) return known;
  const milli = parseMilliUncached(quantity);
  if (parsed.size >= parsedKept) parsed.clear();
  parsed.set(quantity, milli);
  return milli;
}

function parseMilliUncached(quantity: string): bigint {
  const match = pattern.exec(quantity.trim());
  if (!match) throw new Error(`"${quantity}" is not a Kubernetes quantity (examples: 500m, 2, 16Gi)`);
  const [, whole = "0", fraction = "", suffix = ""] = match;
  const scale = 10n ** BigInt(fraction.length);
  const mantissa = BigInt(whole) * scale + BigInt(fraction || "0");
  const divisor = fractionSuffix[suffix];
  // Below a thousandth (nanocores), the remainder is dropped.
  if (divisor) return (mantissa * 1000n) / (scale * divisor);
  const multiplier = 1000n * (decimalSuffix[suffix] ?? binarySuffix[suffix] ?? 1n);
  return (mantissa * multiplier) / scale;
}

/** Formats thousandths back to the shortest exact quantity string (`1500` → `1500m`, `2000` → `2`). */
export function formatMilli(milli: bigint): string {
  if (milli % 1000n !== 0n) return `${milli}m`;
  const units = milli / 1000n;
  for (const [suffix, factor] of [
    ["Gi", 2n ** 30n],
    ["Mi", 2n ** 20n],
  ] as const) {
    if (units !== 0n && units % factor === 0n) return `${units / factor}${suffix}`;
  }
  return `${units}`;
}

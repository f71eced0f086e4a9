// Exact money arithmetic: amounts are fractions of BigInts until a statement line rounds them once.

export interface Rational {
  n: bigint;
  d: bigint;
}

const abs = (x: bigint) => (x < 0n ? -x : x);

function gcd(a: bigint, b: bigint): bigint {
  let x = abs(a);
  let y = abs(b);
  while (y) [x, y] = [y, x % y];
  return x || 1n;
}

export function rational(n: bigint, d = 1n): Rational {
  if (d === 0n) throw new Error("division by zero");
  const sign = d < 0n ? -1n : 1n;
  const g = gcd(n, d);
  return { n: (sign * n) / g, d: (sign * d) / g };
}

export const zero = rational(0n);

export function add(a: Rational, b: Rational): Rational {
  return rational(a.n * b.d + b.n * a.d, a.d * b.d);
}

export function multiply(a: Rational, b: Rational): Rational {
  return rational(a.n * b.n, a.d * b.d);
}

/** Parses a non-negative decimal string ("35", "0.125") exactly. */
export function parseDecimal(text: string): Rational {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!match) throw new Error(`"${text}" is not a non-negative decimal number`);
  const fraction = match[2] ?? "";
  return rational(BigInt(`${match[1]}${fraction}`), 10n ** BigInt(fraction.length));
}

/** Rounds half away from zero to an integer (the only rounding a statement line does). */
export function roundHalfUp(value: Rational): bigint {
  const q = value.n / value.d;
  const r = value.n % value.d;
  if (abs(r) * 2n >= value.d) return value.n >= 0n ? q + 1n : q - 1n;
  return q;
}

export function toDecimalString(value: Rational, digits = 6): string {
  const scale = 10n ** BigInt(digits);
  const scaled = roundHalfUp(multiply(value, rational(scale)));
  const whole = scaled / scale;
  const fraction = (scaled % scale).toString().padStart(digits, "0").replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : `${whole}`;
}

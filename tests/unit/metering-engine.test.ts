import { describe, expect, it } from "vitest";
import { periodBounds, periodOf } from "../../lib/chargeback/calendar.ts";
import {
  type AllocationChange,
  billingUnits,
  integrate,
  type MeteredResource,
  type PriceVersion,
  type RateCardResource,
  statementLines,
  versionAt,
} from "../../lib/chargeback/engine.ts";
import { parseDecimal, type Rational, rational, roundHalfUp } from "../../lib/chargeback/rational.ts";

// Ground truth: the expected charge is computed here by brute force, second by second, independently of
// the engine's interval arithmetic; the two must agree to the minor unit (and exactly before rounding).

const tz = "Asia/Hong_Kong";
const november = periodBounds("2026-11", tz);
const s = 1000;

function prices(cpu: string, memory: string, storage: string, endpoint: string, eservice: string) {
  return {
    cpu: parseDecimal(cpu),
    memory: parseDecimal(memory),
    storage: parseDecimal(storage),
    "public-endpoint": parseDecimal(endpoint),
    eservice: parseDecimal(eservice),
  } satisfies Record<RateCardResource, Rational>;
}

const v1: PriceVersion = {
  id: "gov-default@2026-01-01",
  validFrom: Date.UTC(2025, 11, 31, 16),
  prices: prices("35", "4.5", "80", "20000", "5000"),
};
const v2: PriceVersion = {
  id: "gov-default@2026-11-16",
  validFrom: november.start + 15 * 86_400 * s,
  prices: prices("30", "4", "75", "18000", "4500"),
};

function change(
  at: number,
  subject: string,
  resource: MeteredResource,
  amount: bigint,
  environment = "prod",
): AllocationChange {
  return { at, subject, department: "immd", environment, resource, amount };
}

/** Per-second reference: amount held during each whole second, priced by the version in force then. */
function bruteForce(
  changes: AllocationChange[],
  versions: PriceVersion[],
  period: { start: number; end: number },
) {
  const monthMs = BigInt(period.end - period.start);
  const totals = new Map<string, bigint>(); // line key -> sum of amounts over seconds
  const bySubject = new Map<string, AllocationChange[]>();
  for (const c of changes)
    bySubject.set(`${c.subject}/${c.resource}`, [...(bySubject.get(`${c.subject}/${c.resource}`) ?? []), c]);
  for (const series of bySubject.values()) {
    series.sort((a, b) => a.at - b.at);
    const first = Math.max(period.start, series[0]?.at ?? period.start);
    let index = 0;
    for (let t = first; t < period.end; t += s) {
      while (index + 1 < series.length && (series[index + 1] as AllocationChange).at <= t) index++;
      const current = series[index] as AllocationChange;
      if (current.at > t || current.amount === 0n) continue;
      const version = versionAt(versions, t);
      if (!version) continue;
      const key = `${current.environment}|${current.resource}|${version.id}`;
      totals.set(key, (totals.get(key) ?? 0n) + current.amount);
    }
  }
  const result = new Map<string, bigint>();
  for (const [key, amountSeconds] of totals) {
    const [, resource, versionId] = key.split("|") as [string, RateCardResource, string];
    const price = (versions.find((v) => v.id === versionId) as PriceVersion).prices[resource];
    const cost = rational(amountSeconds * 1000n * price.n, billingUnits[resource].divisor(monthMs) * price.d);
    result.set(key, roundHalfUp(cost));
  }
  return result;
}

function engineAmounts(changes: AllocationChange[], versions: PriceVersion[]) {
  const { lines } = statementLines(integrate(changes, versions, november), versions);
  return new Map(
    lines.map((l) => [`${l.environment}|${l.resource}|${l.priceVersion}`, BigInt(l.amountMinor)]),
  );
}

const t = (day: number, seconds = 0) => november.start + (day - 1) * 86_400 * s + seconds * s;

describe("calendar months in Asia/Hong_Kong", () => {
  it("start at local midnight (UTC+8, no daylight saving)", () => {
    expect(new Date(november.start).toISOString()).toBe("2026-10-31T16:00:00.000Z");
    expect(new Date(november.end).toISOString()).toBe("2026-11-30T16:00:00.000Z");
    expect(periodOf(november.end - 1, tz)).toBe("2026-11");
    expect(periodOf(november.end, tz)).toBe("2026-12");
  });
});

describe("cost engine against a per-second brute force", () => {
  const cases: [string, AllocationChange[]][] = [
    [
      "a 30-second pod (64 cores, so it costs more than a cent)",
      [change(t(3, 100), "pod-a", "cpu", 64_000n), change(t(3, 130), "pod-a", "cpu", 0n)],
    ],
    [
      "a 5-minute pod with memory",
      [
        change(t(7, 10), "pod-b", "cpu", 250n),
        change(t(7, 310), "pod-b", "cpu", 0n),
        change(t(7, 10), "pod-b", "memory", 512n * 2n ** 20n),
        change(t(7, 310), "pod-b", "memory", 0n),
      ],
    ],
    [
      "a 40-day pod crossing both month boundaries and the price change",
      [
        change(november.start - 5 * 86_400 * s, "pod-c", "cpu", 2000n),
        change(november.end + 5 * 86_400 * s, "pod-c", "cpu", 0n),
      ],
    ],
    [
      "a resized pod (requests changed twice)",
      [
        change(t(10), "pod-d", "cpu", 100n),
        change(t(12, 3600), "pod-d", "cpu", 1500n),
        change(t(20, 77), "pod-d", "cpu", 300n),
        change(t(25), "pod-d", "cpu", 0n),
      ],
    ],
    [
      "storage and endpoints billed per month, pro-rated, in two environments",
      [
        change(t(1), "pvc-1", "storage", 50n * 2n ** 30n, "prod"),
        change(t(18, 999), "pvc-1", "storage", 80n * 2n ** 30n, "prod"),
        change(t(9), "ing-1", "public-endpoint", 1n, "prod"),
        change(t(21), "ing-1", "public-endpoint", 0n, "prod"),
        change(t(2), "pvc-2", "storage", 3n * 2n ** 30n, "dev"),
      ],
    ],
  ];
  for (const [name, changes] of cases) {
    it(`matches to the minor unit: ${name}`, () => {
      const expected = bruteForce(changes, [v1, v2], november);
      expect(engineAmounts(changes, [v1, v2])).toEqual(expected);
      expect([...expected.values()].some((amount) => amount > 0n)).toBe(true);
    });
  }

  it("matches whatever order the changes arrive in, across two price changes in one allocation", () => {
    const v3: PriceVersion = { id: "gov-default@2026-11-25", validFrom: t(25), prices: v1.prices };
    const changes = cases.flatMap(([, c]) => c);
    const shuffled = [...changes].reverse();
    const expected = bruteForce(changes, [v1, v2, v3], november);
    expect(engineAmounts(shuffled, [v1, v2, v3])).toEqual(expected);
    expect(engineAmounts(changes, [v3, v1, v2])).toEqual(expected);
    expect([...expected.keys()].filter((k) => k.endsWith("gov-default@2026-11-25")).length).toBeGreaterThan(
      0,
    );
  });

  it("prices each side of a mid-month price change with its own version", () => {
    const lines = integrate([change(november.start, "pod-e", "cpu", 1000n)], [v1, v2], november);
    expect(lines.map((l) => [l.priceVersion, l.quantity])).toEqual([
      ["gov-default@2026-01-01", rational(15n * 24n)],
      ["gov-default@2026-11-16", rational(15n * 24n)],
    ]);
    const { lines: out, totalMinor } = statementLines(lines, [v1, v2]);
    expect(out.map((l) => [l.quantity, l.unit, l.unitPriceMinor, l.amountMinor])).toEqual([
      ["360", "core-hour", "35", 12600],
      ["360", "core-hour", "30", 10800],
    ]);
    expect(totalMinor).toBe(23400);
  });

  it("rounds only at the statement line: many tiny allocations are not rounded away one by one", () => {
    // 1000 pods of 1 second at 1 millicore: each is a tiny fraction of a cent; together 0.00972 cent.
    const changes = Array.from({ length: 1000 }, (_, i) => [
      change(t(5, i * 2), `p${i}`, "cpu", 1n),
      change(t(5, i * 2 + 1), `p${i}`, "cpu", 0n),
    ]).flat();
    const [line] = integrate(changes, [v1, v2], november);
    expect(line?.cost).toEqual(rational(35n, 3600n)); // 1 core-second at 35 per core-hour
    expect(statementLines(integrate(changes, [v1, v2], november), [v1, v2]).totalMinor).toBe(0);
  });

  it("bills nothing before the first price version", () => {
    const early: PriceVersion = { ...v1, validFrom: t(20) };
    const lines = integrate([change(t(10), "pod-f", "cpu", 1000n)], [early], november);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.quantity).toEqual(rational(11n * 24n));
  });

  it("stops a draft at asOf", () => {
    const draft = integrate([change(t(1), "pod-g", "cpu", 1000n)], [v1], { ...november, asOf: t(2) });
    expect(draft[0]?.quantity).toEqual(rational(24n));
  });
});

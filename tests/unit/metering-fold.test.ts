import { describe, expect, it } from "vitest";
import { foldEnded } from "../../controller/metering/fold.ts";
import { pieces } from "../../lib/chargeback/buckets.ts";
import { periodBounds } from "../../lib/chargeback/calendar.ts";
import {
  type AllocationChange,
  integrate,
  type PriceVersion,
  statementLines,
} from "../../lib/chargeback/engine.ts";
import {
  billedChanges,
  ledgerKeys,
  parseFolded,
  serialize,
  serializeFolded,
} from "../../lib/chargeback/ledger.ts";
import { parseDecimal } from "../../lib/chargeback/rational.ts";
import { flatPriceVersion } from "../fixtures/prices.ts";

const timeZone = "Asia/Hong_Kong";
const department = "immd";
const at = (iso: string) => Date.parse(iso);

// A price change at 15:20 Hong Kong time on 20 November (mid-day, mid-hour).
const priceChange = at("2026-11-20T07:20:00Z");
const versions: PriceVersion[] = [
  flatPriceVersion("v1", 0),
  {
    ...flatPriceVersion("v2", priceChange),
    prices: { ...flatPriceVersion("v2", priceChange).prices, cpu: parseDecimal("41.5") },
  },
];

function series(
  subject: string,
  environment: string,
  points: [string, bigint][],
  extra: Partial<AllocationChange> = {},
) {
  return points.map(([iso, amount]) => ({
    at: at(iso),
    subject,
    department,
    environment,
    resource: "cpu" as const,
    amount,
    ...extra,
  }));
}

const changes: AllocationChange[] = [
  // Gone: 30 s, 5 min, across the price change, across the month end, resized twice.
  ...series("pod/a", "prod", [
    ["2026-11-03T01:00:00Z", 500n],
    ["2026-11-03T01:00:30Z", 0n],
  ]),
  ...series("pod/b", "dev", [
    ["2026-11-10T23:58:00Z", 250n],
    ["2026-11-11T00:03:00Z", 0n],
  ]),
  ...series("pod/c", "prod", [
    ["2026-11-20T05:00:00Z", 2000n],
    ["2026-11-20T09:45:10Z", 0n],
  ]),
  ...series("pod/d", "prod", [
    ["2026-11-29T10:00:00Z", 1000n],
    ["2026-11-30T12:00:00Z", 3000n],
    ["2026-12-01T02:00:00Z", 100n],
    ["2026-12-02T02:00:00Z", 0n],
  ]),
  ...series(
    "pod/e",
    "prod",
    [
      ["2026-11-05T00:00:00Z", 128n * 2n ** 20n],
      ["2026-11-05T03:00:00Z", 0n],
    ],
    {
      resource: "memory",
    },
  ),
  // A plan fee, gone.
  ...series(
    "sharedserviceinstance/f",
    "prod",
    [
      ["2026-11-12T00:00:00Z", 1n],
      ["2026-11-14T00:00:00Z", 0n],
    ],
    {
      resource: "shared-service",
      item: "collaboration-workspace/team/wiki",
      priceMinor: "150000",
    },
  ),
  // Still there: a finished pod a Job keeps, a running pod, the reserved quota, a recent end.
  ...series("pod/kept", "prod", [
    ["2026-11-06T00:00:00Z", 700n],
    ["2026-11-06T01:00:00Z", 0n],
  ]),
  ...series("pod/running", "prod", [["2026-11-25T00:00:00Z", 300n]]),
  ...series("department/q", "all", [
    ["2026-11-01T00:00:00Z", 8000n],
    ["2026-12-01T05:00:00Z", 0n],
  ]),
  ...series("pod/recent", "prod", [
    ["2026-12-02T02:55:00Z", 100n],
    ["2026-12-02T02:59:00Z", 0n],
  ]),
].sort((a, b) => a.at - b.at);

const foldOptions = {
  before: at("2026-12-02T02:50:00Z"),
  present: (subject: string) => subject === "pod/kept" || subject === "pod/running",
  timeZone,
  cuts: versions.map((v) => v.validFrom),
};

function statement(data: Record<string, string>, period: string, mode: "consumed" | "reserved") {
  const bounds = periodBounds(period, timeZone);
  return statementLines(
    integrate(billedChanges(department, data, mode), versions, {
      ...bounds,
      asOf: at("2026-12-02T03:00:00Z"),
    }),
  );
}

describe("folding the allocations of objects that are gone", () => {
  const before = { [ledgerKeys.changes]: serialize({ department, changes }) };
  const folded = foldEnded({ department, changes }, [], foldOptions);
  const after = {
    [ledgerKeys.changes]: serialize(folded.ledger),
    [ledgerKeys.folded]: serializeFolded(folded.folded),
  };

  it("keeps every statement exact, in both months and both modes", () => {
    for (const period of ["2026-11", "2026-12"]) {
      for (const mode of ["consumed", "reserved"] as const) {
        const expected = statement(before, period, mode);
        expect(expected.lines.length).toBeGreaterThan(0);
        expect(statement(after, period, mode)).toEqual(expected);
      }
    }
  });

  it("keeps what may be derived again or is not over: present objects, open and recent allocations, quota", () => {
    expect(folded.series).toBe(6);
    expect(new Set(folded.ledger.changes.map((c) => c.subject))).toEqual(
      new Set(["pod/kept", "pod/running", "department/q", "pod/recent"]),
    );
  });

  it("never lets a bucket span a local midnight or a price change", () => {
    const buckets = parseFolded(after[ledgerKeys.folded]);
    expect(buckets.some((b) => b.at === priceChange)).toBe(true);
    for (const b of buckets) {
      const [piece] = pieces(b.at, b.at + 1, timeZone, foldOptions.cuts);
      expect(piece?.at).toBe(b.at);
    }
    // Pod d ran over the month end in Hong Kong (1 December 00:00 = 30 November 16:00 UTC).
    expect(buckets.some((b) => b.at === at("2026-11-30T16:00:00Z"))).toBe(true);
  });

  it("adds to the buckets already folded, and is a no-op when nothing can be folded", () => {
    const again = foldEnded(folded.ledger, folded.folded, foldOptions);
    expect(again.series).toBe(0);
    expect(again.folded).toBe(folded.folded);
    const later = foldEnded(folded.ledger, folded.folded, {
      ...foldOptions,
      before: at("2026-12-02T03:30:00Z"),
      present: () => false,
    });
    expect(later.series).toBe(2);
    const all = {
      [ledgerKeys.changes]: serialize(later.ledger),
      [ledgerKeys.folded]: serializeFolded(later.folded),
    };
    expect(statement(all, "2026-11", "consumed")).toEqual(statement(before, "2026-11", "consumed"));
  });

  it("pieces cut at local days and price changes, each piece starting in its interval", () => {
    expect(
      pieces(at("2026-11-20T05:00:00Z"), at("2026-11-20T17:00:00Z"), timeZone, [priceChange]).map((p) => [
        new Date(p.at).toISOString(),
        new Date(p.from).toISOString(),
        new Date(p.to).toISOString(),
      ]),
    ).toEqual([
      ["2026-11-19T16:00:00.000Z", "2026-11-20T05:00:00.000Z", "2026-11-20T07:20:00.000Z"],
      ["2026-11-20T07:20:00.000Z", "2026-11-20T07:20:00.000Z", "2026-11-20T16:00:00.000Z"],
      ["2026-11-20T16:00:00.000Z", "2026-11-20T16:00:00.000Z", "2026-11-20T17:00:00.000Z"],
    ]);
  });
});

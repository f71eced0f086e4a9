import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { foldEnded } from "../../controller/metering/fold.ts";
import {
  type AboveRequestUsage,
  accumulate,
  type PodReading,
  parseUsage,
  serializeUsage,
} from "../../lib/chargeback/above-request.ts";
import { periodBounds } from "../../lib/chargeback/calendar.ts";
import {
  type AllocationChange,
  integrate,
  type PriceVersion,
  statementLines,
} from "../../lib/chargeback/engine.ts";
import {
  billedChanges,
  type Ledger,
  ledgerKeys,
  parse,
  parseFolded,
  record,
  serialize,
  serializeFolded,
  storedLedger,
} from "../../lib/chargeback/ledger.ts";
import {
  billedShardChanges,
  LedgerCorruptError,
  lineShardKey,
  maxShards,
  nextShardCount,
  parseHead,
  parseMarker,
  partitionLedger,
  shardContent,
  shardOf,
} from "../../lib/chargeback/ledger-shards.ts";
import { parseDecimal } from "../../lib/chargeback/rational.ts";
import { flatPriceVersion } from "../fixtures/prices.ts";

const department = "immd";
const timeZone = "Asia/Hong_Kong";
const month = periodBounds("2026-11", timeZone);
const priceChange = month.start + 17 * 86_400_000 + 5 * 3_600_000 + 123_457;
const versions: PriceVersion[] = [
  flatPriceVersion("v1", 0),
  {
    ...flatPriceVersion("v2", priceChange),
    prices: { ...flatPriceVersion("v2", 0).prices, cpu: parseDecimal("41.5") },
  },
];

function statement(changes: AllocationChange[]) {
  return statementLines(integrate(changes, versions, { ...month, asOf: month.end }));
}

describe("which shard owns what", () => {
  it("is a stable hash: the same key goes to the same shard in every process and version", () => {
    // Pinned values (32-bit FNV-1a of the key is 0xc9f0c544, computed independently): changing the hash
    // would move recorded changes away from their shard.
    expect([1, 2, 3, 7, 16].map((n) => shardOf("pod/5f0c2a8e-1b7d-4c1e-9a65-2a4c0c7e8d11", n))).toEqual([
      0, 0, 1, 4, 4,
    ]);
    expect(shardOf(lineShardKey({ environment: "prod", eservice: "visa-status" }), 5)).toBe(
      shardOf("line/prod/visa-status", 5),
    );
  });

  it("spreads subjects over the shards", () => {
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 8000; i++) counts[shardOf(`pod/${i}`, 8)]++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });

  it("grows by at least doubling, to half the threshold on average, never past the maximum", () => {
    expect(nextShardCount(1, 1000, 1000)).toBe(2);
    expect(nextShardCount(2, 10_000, 1000)).toBe(20);
    expect(nextShardCount(200, 10_000_000, 1000)).toBe(maxShards);
  });
});

describe("the head and the shard markers", () => {
  it("reads a ledger without a head as generation 0, the single ConfigMap", () => {
    expect(parseHead(undefined)).toEqual({ generation: 0, shards: 1 });
    expect(parseHead('{"generation":3,"shards":8,"retired":{"generation":2,"shards":4}}')).toEqual({
      generation: 3,
      shards: 8,
      retired: { generation: 2, shards: 4 },
    });
  });

  it.each([
    ["not JSON", "{generation: 1"],
    ["no shard count", '{"generation":1}'],
    ["a fractional count", '{"generation":1,"shards":2.5}'],
    ["a negative generation", '{"generation":-1,"shards":2}'],
    ["too many shards", '{"generation":1,"shards":100000}'],
    ["several shards in generation 0", '{"generation":0,"shards":4}'],
    ["a next generation that skips one", '{"generation":1,"shards":2,"next":{"generation":3,"shards":4}}'],
    [
      "a retired generation from the future",
      '{"generation":1,"shards":2,"retired":{"generation":2,"shards":4}}',
    ],
    ["null", "null"],
  ])("refuses a head with %s", (_what, text) => {
    expect(() => parseHead(text)).toThrow(LedgerCorruptError);
  });

  it("refuses a shard whose marker names another shard, or none", () => {
    const where = { generation: 2, shards: 4, index: 1 };
    expect(parseMarker('{"generation":2,"shards":4,"index":1}', where)).toEqual(where);
    expect(parseMarker('{"generation":2,"shards":4,"index":1,"sealed":true}', where).sealed).toBe(true);
    expect(() => parseMarker('{"generation":2,"shards":4,"index":2}', where)).toThrow(LedgerCorruptError);
    expect(() => parseMarker('{"generation":1,"shards":4,"index":1}', where)).toThrow(LedgerCorruptError);
    expect(() => parseMarker('{"generation":2,"shards":4,"index":1,"sealed":"yes"}', where)).toThrow(
      LedgerCorruptError,
    );
    expect(() => parseMarker(undefined, where)).toThrow(LedgerCorruptError);
  });
});

const pod = (n: number, at: number, amount: bigint): AllocationChange => ({
  at,
  subject: `pod/${n}`,
  department,
  environment: "prod",
  resource: "cpu",
  amount,
});

describe("a shard's content", () => {
  const where = { index: 0, shards: 2 };
  const owned = [0, 1, 2, 3, 4, 5].filter((n) => shardOf(`pod/${n}`, 2) === 0);
  const foreign = [0, 1, 2, 3, 4, 5].find((n) => shardOf(`pod/${n}`, 2) === 1) as number;

  it("is read back from compressed and plain values alike", () => {
    const changes = owned.map((n) => pod(n, month.start + n, 100n));
    const data = { [ledgerKeys.changes]: serialize({ department, changes }) };
    expect(shardContent(department, storedLedger(data), where, "shard")).toEqual(data);
  });

  it.each([
    [
      "a change of another shard's subject",
      { data: { changes: serialize({ department, changes: [pod(foreign, 1, 1n)] }) } },
    ],
    ["an unknown key", { data: { changes: "[]", extra: "1" } }],
    ["rows that are not JSON", { data: { changes: "[[1,2" } }],
    ["rows of the wrong shape", { data: { changes: '{"a":1}' } }],
    ["an amount that is not a number", { data: { changes: '[[1,"pod/0","prod","cpu","lots"]]' } }],
    ["an instant that is not a number", { data: { changes: '[["soon","pod/0","prod","cpu","1"]]' } }],
    ["folded rows that are not JSON", { data: { folded: "[" } }],
    ["a compressed value that does not decompress", { binaryData: { "changes.gz": "bm90IGd6aXA=" } }],
  ])("refuses %s", (_what, stored) => {
    expect(() => shardContent(department, stored, where, "shard")).toThrow(LedgerCorruptError);
  });
});

// ---- The property: a sharded ledger gives exactly the single ledger's figures. ----

const hour = 3_600_000;
const subjectArb = fc.integer({ min: 0, max: 60 });
const seriesArb = fc.record({
  subject: subjectArb,
  environment: fc.constantFrom("dev", "prod"),
  eservice: fc.option(fc.constantFrom("visa", "forms"), { nil: undefined }),
  resource: fc.constantFrom("cpu" as const, "memory" as const, "storage" as const),
  // Mostly the first days of the month (so shards often fold parts of one line's day), some before it.
  start: fc.oneof(
    fc.integer({ min: month.start - 2 * 86_400_000, max: month.start + 3 * 86_400_000 }),
    fc.integer({ min: month.start, max: month.end - hour }),
  ),
  steps: fc.array(
    fc.tuple(
      fc.integer({ min: 1, max: 90 * hour }),
      fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 4000n })),
    ),
    { maxLength: 3 },
  ),
  firstAmount: fc.bigInt({ min: 1n, max: 4000n }),
});

type Series = typeof seriesArb extends fc.Arbitrary<infer S> ? S : never;

/** A series' changes: a start, resizes, maybe an end (amount 0), some ends a little early (sorting). */
function changesOf(s: Series): AllocationChange[] {
  const base = {
    subject: `pod/${s.subject}-${s.resource}`,
    department,
    environment: s.environment,
    resource: s.resource,
    ...(s.eservice ? { eservice: s.eservice } : {}),
  };
  const out: AllocationChange[] = [{ ...base, at: s.start, amount: s.firstAmount }];
  let at = s.start;
  for (const [gap, amount] of s.steps) {
    at += gap;
    out.push({ ...base, at, amount });
    if (amount === 0n) break;
  }
  return out;
}

const scenarioArb = fc.record({
  series: fc.array(seriesArb, { minLength: 1, maxLength: 60 }),
  /** How the changes arrive: in this many batches, some sent again (a restart, a second replica). */
  batches: fc.integer({ min: 1, max: 6 }),
  resend: fc.array(fc.nat(), { maxLength: 10 }),
  /** After which batches the ledger re-shards, and into how many shards. */
  reshards: fc.array(fc.tuple(fc.nat({ max: 6 }), fc.integer({ min: 1, max: 5 })), { maxLength: 3 }),
  /** Usage readings per poll: the pod (line) and how far above its request it ran. */
  polls: fc.array(
    fc.array(
      fc.record({
        environment: fc.constantFrom("dev", "prod"),
        eservice: fc.option(fc.constantFrom("visa", "forms", "portal"), { nil: undefined }),
        excess: fc.bigInt({ min: 0n, max: 500n }),
      }),
      { maxLength: 4 },
    ),
    { maxLength: 5 },
  ),
  foldBefore: fc.oneof(fc.constant(month.end), fc.integer({ min: month.start, max: month.end })),
});

interface Sharded {
  shards: Record<string, string>[];
}

function recordSharded(ledger: Sharded, changes: AllocationChange[]): void {
  const count = ledger.shards.length;
  ledger.shards = ledger.shards.map((data, index) => {
    const mine = changes.filter((c) => shardOf(c.subject, count) === index);
    const recorded = record(parse(department, data[ledgerKeys.changes]), mine);
    return recorded.added === 0 ? data : { ...data, [ledgerKeys.changes]: serialize(recorded.ledger) };
  });
}

function accumulateSharded(ledger: Sharded, readings: PodReading[], now: number): void {
  const count = ledger.shards.length;
  ledger.shards = ledger.shards.map((data, index) => {
    const usage = parseUsage(data[ledgerKeys.aboveRequest]);
    const mine = readings.filter((r) => shardOf(lineShardKey(r), count) === index);
    return { ...data, [ledgerKeys.aboveRequest]: serializeUsage(accumulate(usage, mine, pollWindow(now))) };
  });
}

const pollMs = 60_000;
const pollWindow = (now: number) => ({ now, intervalMs: pollMs, maxGapMs: 3 * pollMs, timeZone });

function foldOptions(before: number) {
  return {
    before,
    present: (subject: string) => subject.startsWith("pod/1"),
    timeZone,
    cuts: versions.map((v) => v.validFrom),
  };
}

describe("a sharded ledger", () => {
  it("records, dedupes, re-shards, counts usage and folds to exactly the figures of one ledger", () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const all = scenario.series.flatMap(changesOf);
        const batches = Array.from({ length: scenario.batches }, (_, b) =>
          all.filter((_c, i) => i % scenario.batches === b),
        );
        for (const r of scenario.resend)
          batches[r % batches.length]?.push(...(batches[(r + 1) % batches.length] ?? []));

        let single: Ledger = { department, changes: [] };
        let usage: AboveRequestUsage = { buckets: [] };
        const sharded: Sharded = { shards: [{}] };
        let now = month.start + 3 * 86_400_000;
        for (const [b, batch] of batches.entries()) {
          single = record(single, batch).ledger;
          recordSharded(sharded, batch);
          const readings: PodReading[] = (scenario.polls[b] ?? []).map((r) => ({
            environment: r.environment,
            ...(r.eservice ? { eservice: r.eservice } : {}),
            start: month.start,
            request: { cpu: 100n, memory: 1000n },
            usage: { cpu: 100n + r.excess, memory: 1000n + r.excess * 7n },
          }));
          now += pollMs;
          usage = accumulate(usage, readings, pollWindow(now));
          accumulateSharded(sharded, readings, now);
          for (const [after, count] of scenario.reshards)
            if (after === b) sharded.shards = partitionLedger(department, sharded.shards, count);
        }
        const singleData = {
          [ledgerKeys.changes]: serialize(single),
          [ledgerKeys.aboveRequest]: serializeUsage(usage),
        };
        // The union holds exactly the single ledger's changes (deduped and moved ends alike).
        const union = sharded.shards.flatMap((d) => parse(department, d[ledgerKeys.changes]).changes);
        const key = (c: AllocationChange) => `${c.subject}|${c.resource}|${c.at}|${c.amount}`;
        expect(union.map(key).sort()).toEqual(single.changes.map(key).sort());
        for (const mode of ["consumed", "reserved"] as const)
          expect(statement(billedShardChanges(department, sharded.shards, mode))).toEqual(
            statement(billedChanges(department, singleData, mode)),
          );

        // Each shard folds its own series; the figures stay the single ledger's.
        const options = foldOptions(scenario.foldBefore);
        const folded = foldEnded(single, [], options);
        const foldedShards = sharded.shards.map((data) => {
          const f = foldEnded(
            parse(department, data[ledgerKeys.changes]),
            parseFolded(data[ledgerKeys.folded]),
            options,
          );
          return {
            ...data,
            [ledgerKeys.changes]: serialize(f.ledger),
            [ledgerKeys.folded]: serializeFolded(f.folded),
          };
        });
        const expected = statement(
          billedChanges(
            department,
            {
              ...singleData,
              [ledgerKeys.changes]: serialize(folded.ledger),
              [ledgerKeys.folded]: serializeFolded(folded.folded),
            },
            "consumed",
          ),
        );
        expect(statement(billedShardChanges(department, foldedShards, "consumed"))).toEqual(expected);
        // ... also once the folded shards are re-sharded (integrals of one line and day are summed).
        expect(
          statement(billedShardChanges(department, partitionLedger(department, foldedShards, 3), "consumed")),
        ).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });

  it("gives each new shard the highest usage watermark, so no interval is counted twice", () => {
    const behind = { [ledgerKeys.aboveRequest]: serializeUsage({ through: 1_000, buckets: [] }) };
    const ahead = { [ledgerKeys.aboveRequest]: serializeUsage({ through: 5_000, buckets: [] }) };
    const next = partitionLedger(department, [behind, ahead], 3);
    for (const data of next) expect(parseUsage(data[ledgerKeys.aboveRequest]).through).toBe(5_000);
  });
});

import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { recordInShard, type ShardRecording } from "../../controller/metering/ledger-recording.ts";
import type { AllocationChange } from "../../lib/chargeback/engine.ts";
import {
  appendedLimit,
  ledgerKeys,
  ledgerOf,
  parse,
  record,
  serialize,
  storedLedger,
} from "../../lib/chargeback/ledger.ts";

// What a shard becomes when changes are recorded in it: a large shard is compacted only when something in
// it can go (a finalized month, or an object that ended over 2 minutes ago and is gone), and a ledger
// parsed or written once is not parsed again.

const department = "immd";
const now = Date.now();

function podChanges(count: number, endedAgoMs: number): AllocationChange[] {
  return Array.from({ length: count }, (_, i) => {
    const base = { subject: `pod/${i}`, department, environment: "prod", resource: "cpu" as const };
    const start = now - endedAgoMs - 60_000 + i;
    return [
      { ...base, at: start, amount: 250n },
      { ...base, at: start + 30_000, amount: 0n },
    ];
  }).flat();
}

function recording(logged: string[]): ShardRecording {
  const log = pino({ level: "info" }, { write: (line: string) => logged.push(JSON.parse(line).msg) });
  return {
    department,
    timeZone: "Asia/Hong_Kong",
    compactAboveBytes: 4096,
    present: () => false,
    priceCuts: [],
    log,
  };
}

describe("recording changes in a ledger shard", () => {
  it("leaves a large shard of recent churn as it is, and compacts one holding what ended long ago", () => {
    const logged: string[] = [];
    const recent = podChanges(100, 60_000);
    const data = recordInShard({}, parse(department, undefined), recent, recording(logged));
    // 200 rows fit the appended part of an empty shard (16 KiB): no base is written yet.
    expect(data?.[ledgerKeys.appended]?.length).toBeGreaterThan(4096);
    expect(data).toEqual({
      [ledgerKeys.appended]: serialize(record({ department, changes: [] }, recent).ledger),
    });
    expect(logged).not.toContain("compacted the metering ledger");

    const old = podChanges(100, 20 * 60_000).map((c) => ({ ...c, subject: `${c.subject}-old` }));
    const compacted = recordInShard({}, parse(department, undefined), [...recent, ...old], recording(logged));
    expect(logged).toContain("compacted the metering ledger");
    expect(compacted?.[ledgerKeys.appended]).toBeUndefined();
    expect(parse(department, compacted?.[ledgerKeys.changes]).changes).toHaveLength(recent.length);
    expect(compacted?.[ledgerKeys.folded]).toBeDefined();
  });

  it("folds what is gone and ended over 2 minutes ago, and keeps what ended since", () => {
    const logged: string[] = [];
    // Ended 90 s and 180 s ago (podChanges: each ran 30 s and ended `endedAgoMs` + 30 s ago).
    const recent = podChanges(100, 60_000);
    const passed = podChanges(100, 150_000).map((c) => ({ ...c, subject: `${c.subject}-passed` }));
    const compacted = recordInShard(
      {},
      parse(department, undefined),
      [...recent, ...passed],
      recording(logged),
    );
    expect(logged).toContain("compacted the metering ledger");
    expect(parse(department, compacted?.[ledgerKeys.changes]).changes).toEqual(
      record({ department, changes: [] }, recent).ledger.changes,
    );
  });

  it("under steady churn, waits until an eighth of the changes are foldable ends before compacting", () => {
    const logged: string[] = [];
    const recent = podChanges(100, 60_000);
    const old = (count: number) =>
      podChanges(count, 20 * 60_000).map((c) => ({ ...c, subject: `${c.subject}-old` }));
    // 200 recent changes and 10 ends that could go (of 220 changes): folding them would rewrite the whole
    // shard to shed 5% of it, as it did on every batch while allocations passed the grace one by one.
    recordInShard({}, parse(department, undefined), [...recent, ...old(10)], recording(logged));
    expect(logged).not.toContain("compacted the metering ledger");
    // 40 ends of 280 changes (needs 35): compacted, and only the recent changes stay.
    const compacted = recordInShard(
      {},
      parse(department, undefined),
      [...recent, ...old(40)],
      recording(logged),
    );
    expect(logged).toContain("compacted the metering ledger");
    expect(parse(department, compacted?.[ledgerKeys.changes]).changes).toHaveLength(recent.length);
  });

  it("appends a batch's rows after the base, and writes the base again once they pass a quarter of it", () => {
    const all = podChanges(2_000, 0);
    const whole = record({ department, changes: [] }, all).ledger;
    const settings = { ...recording([]), compactAboveBytes: 10 * 1024 * 1024 };
    let data: Record<string, string> = {};
    let bases = 0;
    let appends = 0;
    // Batches of 100 changes, each shuffled the way events arrive (the ends before some starts).
    for (let from = 0; from < all.length; from += 100) {
      const batch = all.slice(from, from + 100).reverse();
      const next = recordInShard(data, ledgerOf(department, data), batch, settings);
      if (!next) throw new Error("a batch of new changes wrote nothing");
      if (next[ledgerKeys.changes] === data[ledgerKeys.changes]) appends++;
      else bases++;
      data = next;
      const appended = data[ledgerKeys.appended] ?? "";
      expect(appended.length).toBeLessThanOrEqual(appendedLimit(data[ledgerKeys.changes]?.length ?? 0));
    }
    // 4,000 changes in 40 batches: most appended, the base written a few times only.
    expect(appends).toBeGreaterThan(30);
    expect(bases).toBeGreaterThan(0);
    expect(bases).toBeLessThan(10);
    // Read back as a fresh reader would (from the stored form, nothing remembered): the same ledger, sorted.
    const stored = storedLedger({ ...data });
    expect(stored.data[ledgerKeys.appended]).toBe(data[ledgerKeys.appended]);
    const fresh = { ...data };
    expect(ledgerOf(department, fresh).changes).toEqual(whole.changes);
    // Recording the same batch again adds nothing: the shard is left as it is.
    expect(recordInShard(data, ledgerOf(department, data), all.slice(0, 100), settings)).toBeUndefined();
  });

  it("compresses an unchanged base once, however often the shard is written", () => {
    const base = serialize(record({ department, changes: [] }, podChanges(500, 0)).ledger);
    const first = storedLedger({ [ledgerKeys.changes]: base, [ledgerKeys.appended]: "[]" });
    const second = storedLedger({ [ledgerKeys.changes]: `${base}`, [ledgerKeys.appended]: "[[1]]" });
    expect(second.binaryData[`${ledgerKeys.changes}.gz`]).toBe(first.binaryData[`${ledgerKeys.changes}.gz`]);
    expect(second.data).toEqual({ [ledgerKeys.appended]: "[[1]]" });
  });

  it("parses a ledger it wrote, or parsed before, once: the same frozen changes", () => {
    const data = recordInShard({}, parse(department, undefined), podChanges(1_000, 0), recording([]));
    const text = data?.[ledgerKeys.changes] as string;
    const first = parse(department, text);
    expect(parse(department, `${text}`)).toBe(first);
    expect(Object.isFrozen(first.changes)).toBe(true);
    expect(() => (first.changes as AllocationChange[]).push(first.changes[0] as AllocationChange)).toThrow();
    // Another department's ledger is never taken for it.
    expect(parse("other", text)).not.toBe(first);
    expect(parse("other", text).changes).toEqual(first.changes.map((c) => ({ ...c, department: "other" })));
    // The shard's data as written reads as the ledger recorded into it, without parsing.
    expect(ledgerOf(department, data as Record<string, string>)).toBe(first);
  });
});

import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { recordInShard, type ShardRecording } from "../../controller/metering/ledger-recording.ts";
import type { AllocationChange } from "../../lib/chargeback/engine.ts";
import { ledgerKeys, parse, record, serialize } from "../../lib/chargeback/ledger.ts";

// What a shard becomes when changes are recorded in it: a large shard is compacted only when something in
// it can go (a finalized month, or an object that ended over 10 minutes ago and is gone), and a ledger
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
    expect(data?.[ledgerKeys.changes]?.length).toBeGreaterThan(4096);
    expect(data).toEqual({
      [ledgerKeys.changes]: serialize(record({ department, changes: [] }, recent).ledger),
    });
    expect(logged).not.toContain("compacted the metering ledger");

    const old = podChanges(100, 20 * 60_000).map((c) => ({ ...c, subject: `${c.subject}-old` }));
    const compacted = recordInShard({}, parse(department, undefined), [...recent, ...old], recording(logged));
    expect(logged).toContain("compacted the metering ledger");
    expect(parse(department, compacted?.[ledgerKeys.changes]).changes).toHaveLength(recent.length);
    expect(compacted?.[ledgerKeys.folded]).toBeDefined();
  });

  it("parses a ledger it wrote, or parsed before, once: the same frozen changes", () => {
    const data = recordInShard({}, parse(department, undefined), podChanges(100, 0), recording([]));
    const text = data?.[ledgerKeys.changes] as string;
    const first = parse(department, text);
    expect(parse(department, `${text}`)).toBe(first);
    expect(Object.isFrozen(first.changes)).toBe(true);
    expect(() => (first.changes as AllocationChange[]).push(first.changes[0] as AllocationChange)).toThrow();
    // Another department's ledger is never taken for it.
    expect(parse("other", text)).not.toBe(first);
    expect(parse("other", text).changes).toEqual(first.changes.map((c) => ({ ...c, department: "other" })));
  });
});

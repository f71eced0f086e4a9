import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { AllocationChange } from "../../lib/chargeback/engine.ts";
import { ledgerDataOf, ledgerKeys, parse, serialize, storedLedger } from "../../lib/chargeback/ledger.ts";

// Issue #17 (finding 16): a ledger past the API server's ~1 MiB object limit stopped metering. Large keys
// are stored gzip-compressed, so a department's ledger holds several times more before it is full.

function podChanges(pods: number): AllocationChange[] {
  const changes: AllocationChange[] = [];
  const start = Date.UTC(2026, 10, 1);
  for (let i = 0; i < pods; i++) {
    const subject = `pod/${randomUUID()}`;
    changes.push(
      {
        at: start + i * 1000,
        subject,
        department: "immd",
        environment: "prod",
        resource: "cpu",
        amount: 250n,
        eservice: "visa-status",
      },
      {
        at: start + i * 1000,
        subject,
        department: "immd",
        environment: "prod",
        resource: "memory",
        amount: 268435456n,
        eservice: "visa-status",
      },
    );
  }
  return changes;
}

describe("ledger storage", () => {
  it("round-trips every key, compressing only the large ones", () => {
    const data = {
      [ledgerKeys.changes]: serialize({ department: "immd", changes: podChanges(100) }),
      [ledgerKeys.aboveRequest]: "[]",
    };
    const stored = storedLedger(data);
    expect(Object.keys(stored.data)).toEqual([ledgerKeys.aboveRequest]);
    expect(Object.keys(stored.binaryData)).toEqual([`${ledgerKeys.changes}.gz`]);
    expect(ledgerDataOf(stored)).toEqual(data);
  });

  it("reads a ledger stored before compression (plain data) unchanged", () => {
    const data = { [ledgerKeys.changes]: serialize({ department: "immd", changes: podChanges(3) }) };
    expect(ledgerDataOf({ data })).toEqual(data);
  });

  it("keeps 10,000 allocation changes (5,000 live pods) well under the 1 MiB object limit", () => {
    const changes = podChanges(5_000);
    const text = serialize({ department: "immd", changes });
    expect(text.length).toBeGreaterThan(900_000);
    const stored = storedLedger({ [ledgerKeys.changes]: text });
    const bytes = Buffer.byteLength(stored.binaryData[`${ledgerKeys.changes}.gz`] ?? "", "base64");
    expect(bytes).toBeLessThan(256 * 1024);
    expect(parse("immd", ledgerDataOf(stored)[ledgerKeys.changes]).changes).toEqual(changes);
  });
});

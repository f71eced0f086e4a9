import { createHash } from "node:crypto";
import { stableJson } from "../../controller/runtime/stable-json.ts";

// The audit trail as a hash chain: each record carries the hash of the one before it, and its own hash over
// its content and that link. Changing or removing any record breaks every hash after it; the head (last
// sequence number and hash) is also anchored outside the log, so truncation is detected too.

export interface AuditActor {
  username: string;
  subject: string;
  roles: string[];
}

export interface AuditRecordInput {
  time: string;
  requestId: string;
  actor: AuditActor;
  /** e.g. eservice.create, department.update, eservice.expose */
  action: string;
  target: { kind: string; name: string; department?: string; namespace?: string };
  before?: unknown;
  after?: unknown;
  result: { status: number; outcome: "success" | "denied" | "failed"; detail?: string };
}

export interface AuditRecord extends AuditRecordInput {
  seq: number;
  prevHash: string;
  hash: string;
}

export const genesisHash = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

export function hashOf(record: Omit<AuditRecord, "hash">): string {
  return `sha256:${createHash("sha256").update(stableJson(record)).digest("hex")}`;
}

export function chain(
  previous: Pick<AuditRecord, "seq" | "hash"> | undefined,
  input: AuditRecordInput,
): AuditRecord {
  const unsigned = { ...input, seq: (previous?.seq ?? 0) + 1, prevHash: previous?.hash ?? genesisHash };
  return { ...unsigned, hash: hashOf(unsigned) };
}

export type Verification =
  | { valid: true; records: number; head?: { seq: number; hash: string } }
  | { valid: false; records: number; brokenAt: number; reason: string };

/** Checks every record's hash and link, and that the log ends at the anchored head (when given). */
export function verify(records: AuditRecord[], anchor?: { seq: number; hash: string }): Verification {
  let previous: AuditRecord | undefined;
  for (const record of records) {
    const expectedSeq = (previous?.seq ?? 0) + 1;
    if (record.seq !== expectedSeq)
      return {
        valid: false,
        records: records.length,
        brokenAt: expectedSeq,
        reason: `record ${expectedSeq} is missing`,
      };
    if (record.prevHash !== (previous?.hash ?? genesisHash))
      return {
        valid: false,
        records: records.length,
        brokenAt: record.seq,
        reason: `record ${record.seq} does not follow record ${record.seq - 1}`,
      };
    const { hash, ...unsigned } = record;
    if (hashOf(unsigned) !== hash)
      return {
        valid: false,
        records: records.length,
        brokenAt: record.seq,
        reason: `record ${record.seq} was modified`,
      };
    previous = record;
  }
  if (anchor && (previous?.seq !== anchor.seq || previous?.hash !== anchor.hash)) {
    const at = Math.min(anchor.seq, (previous?.seq ?? 0) + 1);
    return {
      valid: false,
      records: records.length,
      brokenAt: at,
      reason: `the log ends at record ${previous?.seq ?? 0} but the anchored head is record ${anchor.seq}: records were removed`,
    };
  }
  return {
    valid: true,
    records: records.length,
    ...(previous ? { head: { seq: previous.seq, hash: previous.hash } } : {}),
  };
}

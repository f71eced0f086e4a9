import {
  appendFileSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { dirname } from "node:path";
import { type AuditRecord, type AuditRecordInput, chain, type Verification, verify } from "./chain.ts";

/** Where the head of the chain is kept outside the log file (a ConfigMap in production). */
export interface HeadAnchor {
  read(): Promise<{ seq: number; hash: string } | undefined>;
  write(head: { seq: number; hash: string }): Promise<void>;
}

/** An anchor in a small file beside the log (the local default; use the ConfigMap anchor in a cluster). */
export function fileAnchor(path: string): HeadAnchor {
  return {
    async read() {
      return existsSync(path)
        ? (JSON.parse(readFileSync(path, "utf8")) as { seq: number; hash: string })
        : undefined;
    },
    async write(head) {
      writeFileSync(path, JSON.stringify(head));
    },
  };
}

/**
 * Append-only, durable audit log: JSON lines, fsync'd on every append, appended one at a time (a queue),
 * loaded and verified on start. Queries read the in-memory copy.
 */
export class AuditLog {
  private readonly path: string;
  private readonly anchor: HeadAnchor;
  private records: AuditRecord[] = [];
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(path: string, anchor: HeadAnchor) {
    this.path = path;
    this.anchor = anchor;
  }

  static async open(path: string, anchor: HeadAnchor = fileAnchor(`${path}.head`)): Promise<AuditLog> {
    mkdirSync(dirname(path), { recursive: true });
    const log = new AuditLog(path, anchor);
    log.records = AuditLog.readRecords(path);
    return log;
  }

  static readRecords(path: string): AuditRecord[] {
    if (!existsSync(path)) return [];
    return readFileSync(path, "utf8")
      .split("\n")
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as AuditRecord);
  }

  append(input: AuditRecordInput): Promise<AuditRecord> {
    const next = this.tail.then(async () => {
      const record = chain(this.records.at(-1), input);
      const fd = openSync(this.path, "a");
      try {
        appendFileSync(fd, `${JSON.stringify(record)}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      this.records.push(record);
      await this.anchor.write({ seq: record.seq, hash: record.hash });
      return record;
    });
    this.tail = next.catch(() => {});
    return next;
  }

  query(filter: {
    department?: string;
    actor?: string;
    action?: string;
    since?: string;
    limit: number;
  }): AuditRecord[] {
    const matches = this.records.filter(
      (r) =>
        (!filter.department || r.target.department === filter.department) &&
        (!filter.actor || r.actor.username === filter.actor) &&
        (!filter.action || r.action === filter.action) &&
        (!filter.since || r.time >= filter.since),
    );
    return matches.slice(-filter.limit).reverse();
  }

  /** Re-reads the file (not the memory copy) and verifies it against the anchored head. */
  async verify(): Promise<Verification> {
    return verify(AuditLog.readRecords(this.path), await this.anchor.read());
  }
}

import { createHash } from "node:crypto";
import {
  closeSync,
  createReadStream,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeSync,
} from "node:fs";
import { type FileHandle, open, rename } from "node:fs/promises";
import { basename, dirname } from "node:path";
import {
  type Anchor,
  type AuditRecord,
  type AuditRecordInput,
  ChainVerifier,
  chain,
  follows,
  type Verification,
} from "./chain.ts";

/** Where the head of the chain is kept outside the log file (a ConfigMap in production). */
export interface HeadAnchor {
  read(): Promise<Anchor | undefined>;
  write(head: Anchor): Promise<void>;
}

function isAnchor(value: unknown): value is Anchor {
  const v = value as Partial<Anchor> | null;
  return typeof v === "object" && v !== null && Number.isInteger(v.seq) && typeof v.hash === "string";
}

/**
 * Writes every byte of `bytes`: one write may take only part of them (a disk that fills up mid-line), and
 * the next then fails, so a line is never left half written as if it were whole.
 */
async function writeWhole(handle: FileHandle, bytes: Buffer): Promise<void> {
  for (let offset = 0; offset < bytes.length; ) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    if (bytesWritten === 0) throw new Error("the audit log took no bytes of a record");
    offset += bytesWritten;
  }
}

/** Makes a file's creation or rename in `path` durable (the directory entry is fsync'd too). */
async function fsyncDirectory(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * An anchor in a small file beside the log (the local default; use the ConfigMap anchor in a cluster).
 * Written to a temporary file, fsync'd and renamed over the old one, so a crash leaves the old head or the
 * new one, never half of either.
 */
export function fileAnchor(path: string): HeadAnchor {
  return {
    async read() {
      if (!existsSync(path)) return undefined;
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(path, "utf8"));
      } catch {
        throw new Error(`the audit head anchor ${path} is not readable JSON`);
      }
      if (!isAnchor(parsed)) throw new Error(`the audit head anchor ${path} is not a {seq, hash} head`);
      return { seq: parsed.seq, hash: parsed.hash };
    },
    async write(head) {
      // Asynchronous file I/O: a write request waits for its own fsyncs, other requests do not.
      const temporary = `${path}.tmp`;
      const handle = await open(temporary, "w");
      try {
        await handle.write(JSON.stringify({ seq: head.seq, hash: head.hash }));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, path);
      await fsyncDirectory(dirname(path));
    },
  };
}

export interface AuditLogOptions {
  /** Most recent records kept in memory for queries (default 2000). */
  recentRecords?: number;
  /** ...and at most this many bytes of them (default 16 MiB). */
  recentBytes?: number;
  /** Clock for the API's own records (tests). */
  now?: () => Date;
}

export interface AuditFilter {
  department?: string;
  actor?: string;
  action?: string;
  since?: string;
  limit: number;
}

/** What opening the log found and did (also recorded in the log itself as `audit.recovered` records). */
export interface AuditRecovery {
  tornTail?: { offset: number; bytes: number; sha256: string; completed: boolean };
  reanchored?: { from: number; to: number };
  unreadableLines: number;
}

const maxLineBytes = 16 * 1024 * 1024;
const chunkBytes = 64 * 1024;

/**
 * The lines of `fd` before byte `end`, last first (so opening a log of any size reads only its tail), with
 * the byte size of each; a line longer than any record the API writes is given as undefined.
 */
function* linesBackwards(
  fd: number,
  end: number,
): Generator<{ text: string | undefined; offset: number; bytes: number }> {
  let pos = end;
  // The end of the line being assembled, in file order, as chunks (never concatenated while growing).
  let carry: Buffer[] = [];
  let carryBytes = 0;
  const finish = (head: Buffer) => {
    const bytes = head.length + carryBytes;
    const text = bytes > maxLineBytes ? undefined : Buffer.concat([head, ...carry]).toString("utf8");
    carry = [];
    carryBytes = 0;
    return { text, bytes };
  };
  while (pos > 0) {
    const start = Math.max(0, pos - chunkBytes);
    const chunk = Buffer.allocUnsafe(pos - start);
    readSync(fd, chunk, 0, chunk.length, start);
    let lineEnd = chunk.length;
    let newline = lineEnd > 0 ? chunk.lastIndexOf(0x0a, lineEnd - 1) : -1;
    while (newline >= 0) {
      const line = finish(chunk.subarray(newline + 1, lineEnd));
      if (line.bytes > 0) yield { ...line, offset: start + newline + 1 };
      lineEnd = newline;
      newline = lineEnd > 0 ? chunk.lastIndexOf(0x0a, lineEnd - 1) : -1;
    }
    if (carryBytes + lineEnd > maxLineBytes)
      carry = []; // too long to be a record: only count it
    else carry.unshift(Buffer.from(chunk.subarray(0, lineEnd)));
    carryBytes += lineEnd;
    pos = start;
  }
  if (carryBytes > 0) yield { ...finish(Buffer.alloc(0)), offset: 0 };
}

function parseRecord(text: string | undefined): AuditRecord | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    const r = value as Partial<AuditRecord> | null;
    return typeof r === "object" && r !== null && Number.isInteger(r.seq) && typeof r.hash === "string"
      ? (value as AuditRecord)
      : undefined;
  } catch {
    return undefined;
  }
}

function matches(r: AuditRecord, filter: AuditFilter): boolean {
  return (
    (!filter.department || r.target.department === filter.department) &&
    (!filter.actor || r.actor.username === filter.actor || r.actor.subject === filter.actor) &&
    (!filter.action || r.action === filter.action) &&
    (!filter.since || r.time >= filter.since)
  );
}

const truncate = (value: string, max: number) => (value.length > max ? `${value.slice(0, max - 1)}…` : value);

/** Bounds every free-text field a caller can influence, so no record can be made arbitrarily large. */
export function boundRecord(input: AuditRecordInput): AuditRecordInput {
  return {
    ...input,
    action: truncate(input.action, 128),
    ...(input.clientRequestId !== undefined ? { clientRequestId: truncate(input.clientRequestId, 64) } : {}),
    actor: {
      ...input.actor,
      username: truncate(input.actor.username, 512),
      subject: truncate(input.actor.subject, 256),
      ...(input.actor.displayName !== undefined
        ? { displayName: truncate(input.actor.displayName, 256) }
        : {}),
      roles: input.actor.roles.slice(0, 64).map((r) => truncate(r, 128)),
    },
    target: {
      kind: truncate(input.target.kind, 64),
      name: truncate(input.target.name, 256),
      ...(input.target.department !== undefined ? { department: truncate(input.target.department, 63) } : {}),
      ...(input.target.namespace !== undefined ? { namespace: truncate(input.target.namespace, 63) } : {}),
      ...(input.target.object !== undefined ? { object: truncate(input.target.object, 253) } : {}),
    },
    result: {
      ...input.result,
      ...(input.result.detail !== undefined ? { detail: truncate(input.result.detail, 500) } : {}),
    },
  };
}

/**
 * Append-only, durable audit log: JSON lines, fsync'd on every append, appended one at a time (a queue).
 * Opening reads only the tail of the file (a log of any size opens in constant time and memory); a last
 * line torn by a crash is cut off and the cut recorded, a head anchor left one record behind by a crash
 * between append and anchor write is moved on and that recorded too. Queries answer from the most recent
 * records kept in memory and stream the file for older ones; verification streams the file.
 */
export class AuditLog {
  private readonly path: string;
  private readonly anchor: HeadAnchor;
  private readonly options: Required<AuditLogOptions>;
  private last: AuditRecord | undefined;
  /** The newest records, oldest first, and their serialised size. */
  private recent: AuditRecord[] = [];
  private recentSize: number[] = [];
  private recentBytes = 0;
  /** Whether `recent` holds every record of the log. */
  private recentIsAll = true;
  private tail: Promise<unknown> = Promise.resolve();
  private verifying: Promise<Verification> | undefined;
  private lastAppendFailed = false;
  recovery: AuditRecovery = { unreadableLines: 0 };

  private constructor(path: string, anchor: HeadAnchor, options: AuditLogOptions) {
    this.path = path;
    this.anchor = anchor;
    this.options = {
      recentRecords: options.recentRecords ?? 2000,
      recentBytes: options.recentBytes ?? 16 * 1024 * 1024,
      now: options.now ?? (() => new Date()),
    };
  }

  static async open(
    path: string,
    anchor: HeadAnchor = fileAnchor(`${path}.head`),
    options: AuditLogOptions = {},
  ): Promise<AuditLog> {
    mkdirSync(dirname(path), { recursive: true });
    const log = new AuditLog(path, anchor, options);
    await log.load();
    return log;
  }

  /** False after an append failed, until one succeeds again. */
  get healthy(): boolean {
    return !this.lastAppendFailed;
  }

  private async load(): Promise<void> {
    if (existsSync(this.path)) {
      const fd = openSync(this.path, "r+");
      try {
        const size = this.repairTornTail(fd, fstatSync(fd).size);
        this.readRecent(fd, size);
      } finally {
        closeSync(fd);
      }
    }
    await this.reanchor();
    await this.recordRecovery();
  }

  /** Cuts off (or completes) a last line without its newline; returns the file's size afterwards. */
  private repairTornTail(fd: number, size: number): number {
    if (size === 0) return 0;
    const lastByte = Buffer.alloc(1);
    readSync(fd, lastByte, 0, 1, size - 1);
    if (lastByte[0] === 0x0a) return size;
    const lineStart = linesBackwards(fd, size).next().value?.offset ?? 0;
    const fragmentBytes = size - lineStart;
    const fragment = Buffer.allocUnsafe(Math.min(fragmentBytes, maxLineBytes));
    readSync(fd, fragment, 0, fragment.length, lineStart);
    const record = fragmentBytes <= maxLineBytes ? parseRecord(fragment.toString("utf8")) : undefined;
    const previous = parseRecord(linesBackwards(fd, lineStart).next().value?.text);
    const sha256 = createHash("sha256").update(fragment).digest("hex");
    if (record && follows(record, previous)) {
      // Every byte of the record reached the disk; only its newline did not.
      writeSync(fd, "\n", size);
      fsyncSync(fd);
      this.recovery.tornTail = { offset: lineStart, bytes: fragmentBytes, sha256, completed: true };
      return size + 1;
    }
    ftruncateSync(fd, lineStart);
    fsyncSync(fd);
    this.recovery.tornTail = { offset: lineStart, bytes: fragmentBytes, sha256, completed: false };
    return lineStart;
  }

  private readRecent(fd: number, size: number): void {
    const newestFirst: AuditRecord[] = [];
    const sizes: number[] = [];
    let bytes = 0;
    let complete = true;
    for (const { text, bytes: length } of linesBackwards(fd, size)) {
      const record = parseRecord(text);
      const full =
        newestFirst.length >= this.options.recentRecords || bytes + length + 1 > this.options.recentBytes;
      if (!record) {
        if (!full) this.recovery.unreadableLines++;
        bytes += length + 1;
        complete = false;
        if (this.last) break;
        continue; // keep looking for the record the chain continues from
      }
      if (!this.last) this.last = record;
      if (full) {
        complete = false;
        break;
      }
      newestFirst.push(record);
      sizes.push(length + 1);
      bytes += length + 1;
    }
    this.recent = newestFirst.reverse();
    this.recentSize = sizes.reverse();
    this.recentBytes = sizes.reduce((a, b) => a + b, 0);
    this.recentIsAll = complete;
  }

  /** A head one record behind the log is what a crash between append and anchor write leaves. */
  private async reanchor(): Promise<void> {
    let head: Anchor | undefined;
    try {
      head = await this.anchor.read();
    } catch {
      return; // verification reports an unreadable anchor; never overwrite evidence
    }
    const last = this.last;
    if (!head || !last || last.seq !== head.seq + 1) return;
    const previous = this.recent.at(-2);
    if (previous?.seq !== head.seq || previous.hash !== head.hash || !follows(last, previous)) return;
    await this.anchor.write({ seq: last.seq, hash: last.hash });
    this.recovery.reanchored = { from: head.seq, to: last.seq };
  }

  private async recordRecovery(): Promise<void> {
    // Unreadable lines are not repaired or recorded here: they are evidence, and /audit/verify reports them.
    const { tornTail, reanchored } = this.recovery;
    const notes: string[] = [];
    if (tornTail?.completed)
      notes.push(
        `the last record (byte ${tornTail.offset}, ${tornTail.bytes} bytes) was complete but lacked its line end, which was added`,
      );
    else if (tornTail)
      notes.push(
        `a torn last line (byte ${tornTail.offset}, ${tornTail.bytes} bytes, sha256 ${tornTail.sha256}) was cut off: a crash interrupted its append, so it was never acknowledged`,
      );
    if (reanchored)
      notes.push(
        `the head anchor was at record ${reanchored.from} and the log at ${reanchored.to} (a crash between append and anchor write); the anchor was moved to ${reanchored.to}`,
      );
    if (!notes.length) return;
    await this.append({
      time: this.options.now().toISOString(),
      requestId: "startup",
      stage: "system",
      actor: { username: "govhost-portal-api", subject: "", roles: [] },
      action: "audit.recovered",
      target: { kind: "AuditLog", name: basename(this.path) },
      result: { outcome: "success", detail: notes.join("; ") },
    });
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const next = this.tail.then(task);
    this.tail = next.catch(() => {});
    return next;
  }

  /**
   * Appends one record, durably: written and fsync'd, then the head anchored. Rejects when either fails
   * (a partly written line is cut off again), so callers can refuse what they could not record.
   */
  append(input: AuditRecordInput): Promise<AuditRecord> {
    return this.enqueue(async () => {
      const record = chain(this.last, boundRecord(input));
      const line = `${JSON.stringify(record)}\n`;
      try {
        const handle = await open(this.path, "a");
        let created = false;
        try {
          const before = (await handle.stat()).size;
          created = before === 0;
          try {
            await writeWhole(handle, Buffer.from(line));
            await handle.sync();
          } catch (error) {
            // Otherwise the next start cuts the torn line off.
            await handle.truncate(before).catch(() => {});
            throw error;
          }
        } finally {
          await handle.close();
        }
        if (created) await fsyncDirectory(dirname(this.path));
      } catch (error) {
        this.lastAppendFailed = true;
        throw error;
      }
      this.last = record;
      this.remember(record, Buffer.byteLength(line));
      try {
        await this.anchor.write({ seq: record.seq, hash: record.hash });
      } catch (error) {
        this.lastAppendFailed = true;
        throw error;
      }
      this.lastAppendFailed = false;
      return record;
    });
  }

  private remember(record: AuditRecord, size: number): void {
    this.recent.push(record);
    this.recentSize.push(size);
    this.recentBytes += size;
    while (
      this.recent.length > this.options.recentRecords ||
      (this.recentBytes > this.options.recentBytes && this.recent.length > 1)
    ) {
      this.recent.shift();
      this.recentBytes -= this.recentSize.shift() ?? 0;
      this.recentIsAll = false;
    }
  }

  /**
   * Writes recorded as requested and never answered (a crash came between), oldest first: a request record
   * with no later record of the same request id. Only the records kept in memory are searched; a crash
   * leaves its unanswered writes at the end of the log.
   */
  unanswered(): AuditRecord[] {
    const answered = new Set(this.recent.filter((r) => r.stage !== "request").map((r) => r.requestId));
    return this.recent.filter((r) => r.stage === "request" && !answered.has(r.requestId));
  }

  /** Matching records, newest first: from memory when the recent records answer it, else from the file. */
  async query(filter: AuditFilter): Promise<AuditRecord[]> {
    const fromMemory = this.recent.filter((r) => matches(r, filter));
    if (fromMemory.length >= filter.limit || this.recentIsAll)
      return fromMemory.slice(-filter.limit).reverse();
    const { size } = await this.enqueue(async () => ({ size: this.sizeNow() }));
    const kept: AuditRecord[] = [];
    for await (const text of this.lines(size)) {
      const record = parseRecord(text);
      if (!record || !matches(record, filter)) continue;
      kept.push(record);
      if (kept.length > filter.limit * 2) kept.splice(0, kept.length - filter.limit);
    }
    return kept.slice(-filter.limit).reverse();
  }

  private sizeNow(): number {
    return statSync(this.path, { throwIfNoEntry: false })?.size ?? 0;
  }

  /**
   * The file's lines up to byte `size`, streamed; a line longer than any record the API writes is given as
   * undefined (unreadable) without ever being held whole, so no file content can exhaust memory.
   */
  private async *lines(size: number): AsyncGenerator<string | undefined> {
    if (size === 0) return;
    const input = createReadStream(this.path, { start: 0, end: size - 1, highWaterMark: chunkBytes });
    let parts: Buffer[] = [];
    let partsBytes = 0;
    let oversized = false;
    try {
      for await (const chunk of input as AsyncIterable<Buffer>) {
        let from = 0;
        let newline = chunk.indexOf(0x0a, from);
        while (newline >= 0) {
          const piece = chunk.subarray(from, newline);
          if (oversized || partsBytes + piece.length > maxLineBytes) yield undefined;
          else {
            const line = (parts.length ? Buffer.concat([...parts, piece]) : piece).toString("utf8");
            if (line.trim()) yield line;
          }
          parts = [];
          partsBytes = 0;
          oversized = false;
          from = newline + 1;
          newline = chunk.indexOf(0x0a, from);
        }
        const rest = chunk.subarray(from);
        if (!oversized && partsBytes + rest.length > maxLineBytes) {
          oversized = true;
          parts = [];
        }
        if (!oversized) parts.push(Buffer.from(rest));
        partsBytes += rest.length;
      }
      if (oversized) yield undefined;
      else if (parts.length) {
        const line = Buffer.concat(parts).toString("utf8");
        if (line.trim()) yield line;
      }
    } finally {
      input.destroy();
    }
  }

  /**
   * Re-reads the file (not the memory copy), streaming it, and verifies it against the anchored head as it
   * was when the verification started (appends made meanwhile are not judged). Concurrent calls share one
   * run.
   */
  verify(): Promise<Verification> {
    this.verifying ??= this.verifyNow().finally(() => {
      this.verifying = undefined;
    });
    return this.verifying;
  }

  private async verifyNow(): Promise<Verification> {
    const snapshot = await this.enqueue(async () => {
      try {
        return { size: this.sizeNow(), anchor: await this.anchor.read(), anchorError: undefined };
      } catch (error) {
        return { size: this.sizeNow(), anchor: undefined, anchorError: (error as Error).message };
      }
    });
    const verifier = new ChainVerifier();
    let line = 0;
    for await (const text of this.lines(snapshot.size)) {
      line++;
      const record = parseRecord(text);
      if (record ? verifier.push(record) : verifier.unreadable(line)) break;
    }
    if (snapshot.anchorError && !verifier.failed)
      return { valid: false, records: line, brokenAt: 0, reason: snapshot.anchorError };
    return verifier.finish(snapshot.anchor, true);
  }
}

import {
  appendFileSync,
  closeSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AnonymousTally } from "../../portal-api/audit/anonymous.ts";
import { type AuditRecord, type AuditRecordInput, chain } from "../../portal-api/audit/chain.ts";
import { AuditLog, boundRecord } from "../../portal-api/audit/store.ts";

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "govhost-audit-unit-"));
  path = join(dir, "audit.log");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const input = (i: number, extra: Partial<AuditRecordInput> = {}): AuditRecordInput => ({
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  requestId: `r${i}`,
  actor: { username: "https://idp.example#u1", subject: "u1", displayName: "Ivy", roles: ["immd:admin"] },
  action: "eservice.create",
  target: { kind: "EService", name: `web-${i}`, department: i % 2 ? "immd" : "lcsd" },
  result: { status: 201, outcome: "success" },
  ...extra,
});

async function logWith(n: number): Promise<AuditLog> {
  const log = await AuditLog.open(path);
  for (let i = 1; i <= n; i++) await log.append(input(i));
  return log;
}

const lines = () => readFileSync(path, "utf8").trim().split("\n");
const lastRecord = () => JSON.parse(lines().at(-1) as string) as AuditRecord;

describe("audit log: torn tails and crashes", () => {
  it("cuts off a torn last line on open, records the cut honestly, and verifies", async () => {
    await logWith(3);
    const torn = '{"time":"2026-01-01T00:00:09.000Z","requestId":"r9","actor":{"usern';
    appendFileSync(path, torn);
    const reopened = await AuditLog.open(path);
    expect(reopened.recovery.tornTail).toMatchObject({ completed: false, bytes: torn.length });
    expect(readFileSync(path, "utf8")).not.toContain('"requestId":"r9"');
    const recovered = lastRecord();
    expect(recovered).toMatchObject({ seq: 4, action: "audit.recovered", stage: "system" });
    expect(recovered.result.detail).toMatch(/torn last line .* was cut off/);
    expect(recovered.result.detail).not.toMatch(/tamper|modified/);
    expect(await reopened.verify()).toEqual({
      valid: true,
      records: 4,
      head: { seq: 4, hash: recovered.hash },
    });
    await reopened.append(input(5));
    expect(await reopened.verify()).toMatchObject({ valid: true, records: 5 });
  });

  it("keeps a complete last record that only lost its newline", async () => {
    await logWith(2);
    const content = readFileSync(path, "utf8");
    writeFileSync(path, content.slice(0, -1));
    const reopened = await AuditLog.open(path);
    expect(reopened.recovery.tornTail).toMatchObject({ completed: true });
    expect(lines().map((l) => (JSON.parse(l) as AuditRecord).requestId)).toEqual(["r1", "r2", "startup"]);
    expect(await reopened.verify()).toMatchObject({ valid: true, records: 3 });
  });

  it("moves a head anchor left one record behind by a crash between append and anchor write", async () => {
    await logWith(3);
    const second = JSON.parse(lines()[1] as string) as AuditRecord;
    writeFileSync(`${path}.head`, JSON.stringify({ seq: second.seq, hash: second.hash }));
    const reopened = await AuditLog.open(path);
    expect(reopened.recovery.reanchored).toEqual({ from: 2, to: 3 });
    expect(lastRecord().result.detail).toMatch(/crash between append and anchor write/);
    expect(await reopened.verify()).toMatchObject({ valid: true, records: 4 });
  });

  it("does not hide removed records: an anchor ahead of the log stays a verification failure", async () => {
    await logWith(4);
    writeFileSync(path, `${lines().slice(0, 2).join("\n")}\n`);
    const reopened = await AuditLog.open(path);
    expect(reopened.recovery.reanchored).toBeUndefined();
    expect(await reopened.verify()).toMatchObject({ valid: false, brokenAt: 3 });
    const verdict = await reopened.verify();
    expect(verdict.valid === false && verdict.reason).toContain("records were removed");
  });

  it("reports a log whose head anchor was deleted", async () => {
    await logWith(2);
    rmSync(`${path}.head`);
    const reopened = await AuditLog.open(path);
    const verdict = await reopened.verify();
    expect(verdict.valid).toBe(false);
    expect(verdict.valid === false && verdict.reason).toContain("head anchor is missing");
  });

  it("refuses an append it cannot make durable, and recovers once it can", async () => {
    const log = await logWith(1);
    rmSync(path);
    mkdirSync(path); // the log's place is now a directory: every append fails
    await expect(log.append(input(2))).rejects.toThrow();
    expect(log.healthy).toBe(false);
    rmSync(path, { recursive: true });
    writeFileSync(path, "");
    await log.append(input(3));
    expect(log.healthy).toBe(true);
  });
});

describe("audit log: size", () => {
  it("opens a log larger than the biggest string in constant time, reading its tail only", async () => {
    // 700 MB of zeros (a sparse file: no disk used), then valid records: reading it whole as one string
    // is what crashed the API's start ("Cannot create a string longer than 0x1fffffe8 characters").
    const fd = openSync(path, "w");
    ftruncateSync(fd, 700 * 1024 * 1024);
    closeSync(fd);
    let previous: AuditRecord | undefined;
    let tail = "\n";
    for (let i = 1; i <= 3; i++) {
      previous = chain(previous, input(i));
      tail += `${JSON.stringify(previous)}\n`;
    }
    appendFileSync(path, tail);
    const started = Date.now();
    const log = await AuditLog.open(path, { read: async () => undefined, write: async () => {} });
    expect(Date.now() - started).toBeLessThan(2_000);
    const next = await log.append(input(4));
    expect(next.seq).toBe(4);
    expect(next.prevHash).toBe(previous?.hash);
    expect((await log.query({ limit: 4 })).map((r) => r.seq)).toEqual([4, 3, 2, 1]);
  });

  it("verifies a log with an endless line without holding it in memory", async () => {
    writeFileSync(path, Buffer.alloc(20 * 1024 * 1024, 0x41));
    const log = await AuditLog.open(path, { read: async () => undefined, write: async () => {} });
    const verdict = await log.verify();
    expect(verdict).toMatchObject({ valid: false, brokenAt: 1 });
  });

  it("streams verification without blocking the event loop", async () => {
    let previous: AuditRecord | undefined;
    const batch: string[] = [];
    for (let i = 1; i <= 12_000; i++) {
      previous = chain(previous, input(i, { after: { padding: "x".repeat(2_000) } }));
      batch.push(JSON.stringify(previous));
    }
    writeFileSync(path, `${batch.join("\n")}\n`);
    writeFileSync(`${path}.head`, JSON.stringify({ seq: previous?.seq, hash: previous?.hash }));
    expect(statSync(path).size).toBeGreaterThan(24 * 1024 * 1024);
    const log = await AuditLog.open(path);
    let last = performance.now();
    let worst = 0;
    const probe = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
    }, 5);
    const verdict = await log.verify();
    clearInterval(probe);
    expect(verdict).toMatchObject({ valid: true, records: 12_000 });
    expect(worst).toBeLessThan(250);
  });

  it("answers queries past the in-memory records from the file", async () => {
    const log = await AuditLog.open(path, undefined, { recentRecords: 5 });
    for (let i = 1; i <= 30; i++) await log.append(input(i));
    const reopened = await AuditLog.open(path, undefined, { recentRecords: 5 });
    const lcsd = await reopened.query({ department: "lcsd", limit: 20 });
    expect(lcsd.map((r) => r.seq)).toEqual([30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2]);
    expect((await reopened.query({ limit: 3 })).map((r) => r.seq)).toEqual([30, 29, 28]);
  });

  it("bounds every field a caller influences", () => {
    const bounded = boundRecord(
      input(1, {
        action: "a".repeat(10_000),
        clientRequestId: "c".repeat(1_000),
        target: { kind: "route", name: `/api/v1/${"x".repeat(100_000)}` },
        result: { status: 403, outcome: "denied", detail: "d".repeat(10_000) },
      }),
    );
    expect(JSON.stringify(bounded).length).toBeLessThan(2_000);
  });
});

describe("anonymous traffic", () => {
  it("is one bounded summary however many requests and routes", () => {
    const tally = new AnonymousTally();
    for (let i = 0; i < 50_000; i++)
      tally.count("POST", i % 2 ? "/api/v1/departments" : "unmatched", 401, `10.0.${i % 250}.${i % 7}`);
    for (let i = 0; i < 100; i++) tally.count("GET", `/route-${i}`, 401, "10.9.9.9");
    const summary = tally.take();
    expect(summary?.total).toBe(50_100);
    expect(summary?.routes.length).toBeLessThanOrEqual(32);
    expect(summary?.other).toBeGreaterThan(0);
    expect(summary?.addresses.length).toBe(5);
    expect(JSON.stringify(summary).length).toBeLessThan(5_000);
    expect(tally.take()).toBeUndefined();
  });
});

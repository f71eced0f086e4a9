import { constants, gunzipSync, gzipSync, type ZlibOptions } from "node:zlib";
import { aboveRequestChanges, parseUsage } from "./above-request.ts";
import { billable } from "./allocations.ts";
import { bucketChanges, bucketRows, bucketsFromRows, type IntegralBucket } from "./buckets.ts";
import type { AllocationChange, MeteredResource } from "./engine.ts";

// The metering ledger of one department: every allocation change, keyed by subject, resource and instant,
// so recording the same change twice (after a restart, or from two replicas) changes nothing. Stored in the
// API server (ConfigMaps in the platform namespace, spread over shards by ledger-shards.ts), written with
// optimistic concurrency.

export interface Ledger {
  department: string;
  changes: AllocationChange[];
}

const keyOf = (c: AllocationChange) => `${c.subject}|${c.resource}|${c.at}`;

/**
 * What `record` looks a change up in: every change by key, the latest change of each series and the latest
 * instant it held a non-zero amount, and the latest instant of all. Built once per ledger and handed on to
 * the ledger `record` returns (a busy department's shard is recorded into every batch: rebuilding it cost a
 * pass over the whole shard each time). A series has one change per instant (the key), so "latest" has no
 * ties.
 */
interface RecordIndex {
  known: Map<string, AllocationChange>;
  latest: Map<string, AllocationChange>;
  lastHeld: Map<string, number>;
  latestAt: number;
}

/**
 * The indexes of the ledgers recorded into last, the most recent last: a busy department's shard is
 * recorded into every batch, a quiet one's rarely (building its index then costs little), so only a few
 * are kept (an index holds a key per change).
 */
const indexes = new Map<Ledger, RecordIndex>();
const indexesLimit = 32;

function keepIndex(ledger: Ledger, index: RecordIndex): void {
  indexes.set(ledger, index);
  if (indexes.size > indexesLimit) indexes.delete(indexes.keys().next().value as Ledger);
}

/**
 * Drops the index kept for a ledger that will not be recorded into again (it was compacted into another):
 * an index holds a key per change, and a busy shard compacted in turn would otherwise fill the kept ones
 * with stale indexes of its earlier versions.
 */
export function forgetIndex(ledger: Ledger): void {
  indexes.delete(ledger);
}

/**
 * The ledger's index, taken from it: the caller extends it into the index of the ledger it derives. A
 * ledger whose index was taken builds a new one if it is recorded into again (a retry after a conflict).
 */
function takeIndex(ledger: Ledger): RecordIndex {
  const kept = indexes.get(ledger);
  if (kept) {
    indexes.delete(ledger);
    return kept;
  }
  return buildIndex(ledger);
}

function buildIndex(ledger: Ledger): RecordIndex {
  const index: RecordIndex = {
    known: new Map(),
    latest: new Map(),
    lastHeld: new Map(),
    latestAt: Number.NEGATIVE_INFINITY,
  };
  let inOrder = true;
  for (const c of ledger.changes) {
    if (c.at < index.latestAt) inOrder = false;
    index.known.set(keyOf(c), c);
    hold(index, c);
  }
  // A ledger out of time order (edited by hand) is sorted whole by the next record.
  if (!inOrder) index.latestAt = Number.POSITIVE_INFINITY;
  return index;
}

function hold(index: RecordIndex, c: AllocationChange): void {
  if (c.at > index.latestAt) index.latestAt = c.at;
  const series = `${c.subject}|${c.resource}`;
  const latest = index.latest.get(series);
  if (!latest || c.at > latest.at) index.latest.set(series, c);
  if (c.amount === 0n) return;
  if (c.at > (index.lastHeld.get(series) ?? Number.NEGATIVE_INFINITY)) index.lastHeld.set(series, c.at);
}

/**
 * Adds changes not yet recorded; returns the new ledger, how many were added and which. The first record
 * of a (subject, resource, instant) stands: a later observation of the same instant with another amount
 * (e.g. a resized volume re-derived from its creation time) must not re-price the past.
 */
export function record(
  ledger: Ledger,
  changes: readonly AllocationChange[],
): { ledger: Ledger; added: number; addedChanges: AllocationChange[] } {
  const index = takeIndex(ledger);
  const latestBefore = index.latestAt;
  const addedChanges: AllocationChange[] = [];
  for (const incoming of changes) {
    const change =
      incoming.amount === 0n
        ? endAfter(incoming, index.lastHeld.get(`${incoming.subject}|${incoming.resource}`))
        : incoming;
    const key = keyOf(change);
    if (index.known.has(key)) continue;
    index.known.set(key, change);
    hold(index, change);
    addedChanges.push(change);
  }
  if (addedChanges.length === 0) {
    keepIndex(ledger, index);
    return { ledger, added: 0, addedChanges };
  }
  const byTime = (a: AllocationChange, b: AllocationChange) => a.at - b.at;
  addedChanges.sort(byTime);
  // Changes mostly arrive in time order: then they go after the others, without sorting the whole ledger.
  const inOrder = (addedChanges[0]?.at ?? 0) >= latestBefore;
  const merged = inOrder
    ? ledger.changes.concat(addedChanges)
    : [...ledger.changes, ...addedChanges].sort(byTime);
  const next = { ...ledger, changes: merged };
  if (!inOrder) index.latestAt = merged.at(-1)?.at ?? Number.NEGATIVE_INFINITY;
  keepIndex(next, index);
  return { ledger: next, added: addedChanges.length, addedChanges };
}

/**
 * Deletion timestamps have whole-second resolution while resizes are stamped when observed (milliseconds),
 * so an end can sort before a resize seen just before it. Objects do not come back after they end, so the
 * end moves to just after the series' last held instant (1 ms) rather than leaving that change open.
 */
function endAfter(end: AllocationChange, lastHeldAt: number | undefined): AllocationChange {
  return lastHeldAt !== undefined && lastHeldAt >= end.at ? { ...end, at: lastHeldAt + 1 } : end;
}

/**
 * Folds everything before `cutoff` (the start of the oldest month whose statement may still change) into
 * one change per live allocation at `cutoff`: allocations that ended before it go, and each open one keeps
 * only its amount at that instant. Integration over any interval from `cutoff` on is unchanged, so drafts
 * stay exact while the ledger stays bounded by recent activity.
 */
export function compact(ledger: Ledger, cutoff: number): Ledger {
  const carried = new Map<string, AllocationChange>();
  const kept: AllocationChange[] = [];
  for (const change of ledger.changes) {
    if (change.at >= cutoff) kept.push(change);
    else carried.set(`${change.subject}|${change.resource}`, change);
  }
  const folded = [...carried.values()].filter((c) => c.amount !== 0n).map((c) => ({ ...c, at: cutoff }));
  return { ...ledger, changes: [...folded, ...kept].sort((a, b) => a.at - b.at) };
}

type Row = [
  at: number,
  subject: string,
  environment: string,
  resource: MeteredResource,
  amount: string,
  eservice?: string,
  item?: string,
  priceMinor?: string,
];

/** Compact JSON (one row per change) for the ConfigMap. */
export function serialize(ledger: Ledger): string {
  const rows: Row[] = ledger.changes.map((c) => {
    const row: Row = [c.at, c.subject, c.environment, c.resource, c.amount.toString()];
    if (c.eservice || c.item || c.priceMinor) row.push(c.eservice ?? "");
    if (c.item || c.priceMinor) row.push(c.item ?? "", c.priceMinor ?? "");
    return row;
  });
  return JSON.stringify(rows);
}

/**
 * Ledgers parsed or recorded lately, by their text: a busy department's shard is parsed to be checked,
 * recorded into and priced on every batch, and its text is most often the one written the batch before.
 * Only long texts (parsing a short one costs less than keeping it), the most recently used first, and at
 * most `recentLimit` of them or `recentCharsLimit` characters of text (a few large shards).
 */
const recent = new Map<string, Ledger>();
const recentLimit = 64;
const recentCharsLimit = 4 * 1024 * 1024;
const rememberAboveChars = 4096;
let recentChars = 0;

/**
 * Remembers that `text` parses to `ledger` (`text` is its serialization), so parsing it again costs a
 * lookup. The ledger's changes are frozen: it may now be handed to several readers.
 */
export function rememberParsed(text: string, ledger: Ledger): void {
  if (text.length <= rememberAboveChars || text.length > recentCharsLimit) return;
  Object.freeze(ledger.changes);
  if (!recent.delete(text)) recentChars += text.length;
  recent.set(text, ledger);
  for (const [oldest] of recent) {
    if (recent.size <= recentLimit && recentChars <= recentCharsLimit) break;
    recent.delete(oldest);
    recentChars -= oldest.length;
  }
}

/** The ledger in `text`. A ledger is never changed in place: every function here returns a new one. */
export function parse(department: string, text: string | undefined): Ledger {
  if (!text) return { department, changes: [] };
  const known = recent.get(text);
  if (known?.department === department) {
    rememberParsed(text, known);
    return known;
  }
  const ledger = parseRows(department, text);
  rememberParsed(text, ledger);
  return ledger;
}

function parseRows(department: string, text: string): Ledger {
  const rows = JSON.parse(text) as Row[];
  return {
    department,
    changes: rows.map(([at, subject, environment, resource, amount, eservice, item, priceMinor]) => ({
      at,
      subject,
      department,
      environment,
      resource,
      amount: BigInt(amount),
      ...(eservice ? { eservice } : {}),
      ...(item ? { item } : {}),
      ...(priceMinor ? { priceMinor } : {}),
    })),
  };
}

/**
 * A shard's ledger is its base (`changes`, compressed once large) and the changes appended since the base
 * was last written (`appended`, plain): a batch appends its few rows instead of serializing and
 * compressing the whole shard again. The appended rows are merged into the base once they pass a quarter
 * of its size (so the cost of rewriting the base is spread over as many changes as it holds, whatever its
 * size), between 16 KiB and 128 KiB.
 */
export function appendedLimit(baseChars: number): number {
  return Math.min(128 * 1024, Math.max(16 * 1024, Math.floor(baseChars / 4)));
}

/** A shard's data as last read or written, with the ledger it holds (base and appended rows as one). */
const contents = new WeakMap<object, Ledger>();

/** The ledger a shard's data holds: its base with the appended changes recorded into it. */
export function ledgerOf(department: string, data: Readonly<Record<string, string | undefined>>): Ledger {
  const known = contents.get(data);
  if (known?.department === department) return known;
  const base = parse(department, data[ledgerKeys.changes]);
  const appended = data[ledgerKeys.appended];
  const ledger = appended ? record(base, parseRows(department, appended).changes).ledger : base;
  contents.set(data, ledger);
  return ledger;
}

/** Remembers that `data` (about to be written) holds `ledger`, so reading it back costs a lookup. */
export function rememberContent(data: Readonly<Record<string, string | undefined>>, ledger: Ledger): void {
  contents.set(data, ledger);
}

/** The appended rows with `changes` added after them (ledgerOf sorts them into the ledger). */
export function appendRows(appended: string | undefined, changes: AllocationChange[]): string {
  const rows = serialize({ department: "", changes });
  return appended && appended.length > 2 ? `${appended.slice(0, -1)},${rows.slice(1)}` : rows;
}

/** The most recent change per subject and resource, keyed `subject|resource` (from the ledger's index). */
function latestChanges(ledger: Ledger): ReadonlyMap<string, AllocationChange> {
  const kept = indexes.get(ledger);
  if (kept) return kept.latest;
  // Kept for the record that usually follows (meter.ts asks this of the ledger it records into).
  const index = buildIndex(ledger);
  keepIndex(ledger, index);
  return index.latest;
}

/**
 * The most recent amount recorded per subject and resource (resizes and the reserved quota ask it for
 * every live allocation). Ask it before recording into the ledger: the lookup reads the ledger's index,
 * which the record takes over and extends.
 */
export function latestAmounts(
  ledger: Ledger,
): (subject: string, resource: MeteredResource) => bigint | undefined {
  const latest = latestChanges(ledger);
  return (subject, resource) => latest.get(`${subject}|${resource}`)?.amount;
}

/** The latest change of every allocation that is still open (amount above zero). */
export function openAllocations(ledger: Ledger): AllocationChange[] {
  return [...latestChanges(ledger).values()].filter((c) => c.amount > 0n);
}

/**
 * The keys of a ledger ConfigMap: the allocation changes (a base and the rows appended since, see
 * appendedLimit), the integrals of allocations folded away (fold.ts), and usage above requests
 * (above-request.ts).
 */
export const ledgerKeys = {
  changes: "changes",
  appended: "appended",
  folded: "folded",
  aboveRequest: "aboveRequest",
} as const;

/** A ledger ConfigMap as stored: small values in `data`, large ones gzip-compressed in `binaryData`. */
export interface StoredLedger {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/** Values above this many characters are stored compressed. */
const compressAboveChars = 4096;
const compressedSuffix = ".gz";

/**
 * How ledger values are compressed: the fastest level. A busy shard's base is compressed again whenever
 * its appended rows are merged into it and at every compaction; measured on 16,000 pod changes (1.3 MB of
 * rows), level 1 takes 7.2 ms where the default level 6 takes 17.6 ms, for 12% more bytes (5.1 times
 * smaller instead of 5.7), which the shard threshold absorbs (a shard holds that many fewer changes).
 */
export const ledgerCompression: ZlibOptions = { level: constants.Z_BEST_SPEED };

/**
 * The ledger's keys as text, whichever way each was stored. The API server caps an object near 1 MiB;
 * the ledger's rows compress about 5 to 6 times (ledgerCompression), so one shard holds some 30,000
 * changes at the default 512 KiB shard threshold.
 */
export function ledgerDataOf(map: StoredLedger | undefined): Record<string, string> {
  const data: Record<string, string> = { ...map?.data };
  for (const [key, value] of Object.entries(map?.binaryData ?? {})) {
    if (!key.endsWith(compressedSuffix)) continue;
    data[key.slice(0, -compressedSuffix.length)] = gunzipSync(Buffer.from(value, "base64")).toString("utf8");
  }
  return data;
}

/**
 * How `data` is stored: large values compressed into binaryData (see ledgerDataOf), except the appended
 * rows, which are bounded (appendedLimit) and change with every batch.
 */
export function storedLedger(data: Record<string, string>): Required<StoredLedger> {
  const stored: Required<StoredLedger> = { data: {}, binaryData: {} };
  for (const [key, value] of Object.entries(data)) {
    if (value.length > compressAboveChars && key !== ledgerKeys.appended)
      stored.binaryData[`${key}${compressedSuffix}`] = compressed(value);
    else stored.data[key] = value;
  }
  return stored;
}

/**
 * Values compressed lately, by their text: a base that did not change since the last write is written
 * again as it was, not compressed again. A few large ones (a busy shard's base, folded integrals).
 */
const compressedTexts = new Map<string, string>();
const compressedTextsLimit = 16;

function compressed(value: string): string {
  const known = compressedTexts.get(value);
  if (known !== undefined) {
    compressedTexts.delete(value);
    compressedTexts.set(value, known);
    return known;
  }
  const encoded = gzipSync(value, ledgerCompression).toString("base64");
  compressedTexts.set(value, encoded);
  if (compressedTexts.size > compressedTextsLimit)
    compressedTexts.delete(compressedTexts.keys().next().value as string);
  return encoded;
}

export function parseFolded(text: string | undefined): IntegralBucket[] {
  return text ? bucketsFromRows(JSON.parse(text) as Parameters<typeof bucketsFromRows>[0]) : [];
}

export function serializeFolded(buckets: IntegralBucket[]): string {
  return JSON.stringify(bucketRows(buckets));
}

/**
 * What a department is billed from one ledger's data (billedShardChanges reads a sharded ledger): in
 * `consumed` mode the pods, volumes and lifetimes plus usage above requests; in `reserved` mode the quota
 * instead of pods and volumes.
 */
export function billedChanges(
  department: string,
  data: Record<string, string | undefined> | undefined,
  mode: "reserved" | "consumed",
): AllocationChange[] {
  const ledger = data ? ledgerOf(department, data) : { department, changes: [] };
  const folded = bucketChanges(department, "folded", parseFolded(data?.[ledgerKeys.folded]));
  const aboveRequest = aboveRequestChanges(department, parseUsage(data?.[ledgerKeys.aboveRequest]));
  return billable([...ledger.changes, ...folded, ...aboveRequest], mode);
}

export function ledgerName(department: string): string {
  return `govhost-ledger-${department}`;
}

import { fnv1a } from "../fnv1a.ts";
import { type AboveRequestUsage, aboveRequestChanges, parseUsage, serializeUsage } from "./above-request.ts";
import { billable } from "./allocations.ts";
import { bucketChanges, type IntegralBucket, mergeBuckets } from "./buckets.ts";
import type { AllocationChange } from "./engine.ts";
import {
  type Ledger,
  ledgerDataOf,
  ledgerKeys,
  ledgerName,
  ledgerOf,
  parseFolded,
  type StoredLedger,
  serialize,
  serializeFolded,
} from "./ledger.ts";

// A department's ledger spread over several ConfigMaps (shards) behind a head, so it is not capped by one
// object's size (docs/metering.md, "Ledger shards"). Pure: which shard owns what, the head and shard
// markers and their validation, how a generation is split into the next one, and the union readers use.
//
// - Allocation changes belong to the shard of their subject: recording, deduplication, ends moved after a
//   series' last change, compaction and folding all work on one subject's series, so each stays in one
//   shard and behaves exactly as in a single ledger.
// - Usage above requests belongs to the shard of its line's environment and e-service; each shard keeps
//   its own watermark (every poll advances all of them).
// - Folded integrals belong to no subject: each shard folds its own series, and readers sum buckets that
//   share an interval and line.

/** A generation of shards: its number and how many shards it has. */
export interface Generation {
  generation: number;
  shards: number;
}

/**
 * The head: the generation readers follow; `next` while a re-shard is under way (the current generation is
 * being sealed and copied); `retired` while the previous generation's shards are being deleted.
 */
export interface LedgerHead extends Generation {
  next?: Generation;
  retired?: Generation;
}

/** Where a shard stands: which generation and index it is, and whether it is sealed for a re-shard. */
export interface ShardMarker extends Generation {
  index: number;
  sealed?: boolean;
}

/** A hand-edited, truncated or otherwise unreadable head or shard: reported, never overwritten. */
export class LedgerCorruptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LedgerCorruptError";
  }
}

/** The head's key in the head ConfigMap, and the marker's key in each shard. */
export const shardKeys = { head: "head", shard: "shard" } as const;

export const maxShards = 256;

/**
 * Generation 0 is the single ConfigMap every ledger starts as (and every ledger written before shards
 * existed is): the head object holds the ledger itself.
 */
const single: Generation = { generation: 0, shards: 1 };

export function shardOf(key: string, shards: number): number {
  return shards === 1 ? 0 : fnv1a(key) % shards;
}

/** What decides the shard of usage above requests and of folded integrals: the statement line's owner. */
export function lineShardKey(line: { environment: string; eservice?: string }): string {
  return `line/${line.environment}/${line.eservice ?? ""}`;
}

export function shardName(department: string, generation: number, index: number): string {
  return generation === 0 ? ledgerName(department) : `${ledgerName(department)}-g${generation}-${index}`;
}

const isCount = (n: unknown, min: number): n is number =>
  typeof n === "number" && Number.isSafeInteger(n) && n >= min;

function generationOf(value: unknown, what: string): Generation {
  const g = value as Partial<Generation> | null;
  if (typeof g !== "object" || g === null || !isCount(g.generation, 0) || !isCount(g.shards, 1))
    throw new LedgerCorruptError(`${what}: generation and shards must be whole numbers`);
  if (g.shards > maxShards) throw new LedgerCorruptError(`${what}: more than ${maxShards} shards`);
  if (g.generation === 0 && g.shards !== 1)
    throw new LedgerCorruptError(`${what}: generation 0 is the single ConfigMap`);
  return { generation: g.generation, shards: g.shards };
}

function json(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new LedgerCorruptError(`${what} is not JSON`);
  }
}

/** The head as stored (its key in the head ConfigMap), or generation 0 when there is none. */
export function parseHead(text: string | undefined): LedgerHead {
  if (text === undefined) return { ...single };
  const raw = json(text, "the ledger head") as { next?: unknown; retired?: unknown };
  const head: LedgerHead = generationOf(raw, "the ledger head");
  if (raw.next !== undefined) {
    head.next = generationOf(raw.next, "the ledger head's next generation");
    if (head.next.generation !== head.generation + 1)
      throw new LedgerCorruptError("the ledger head's next generation does not follow the current one");
  }
  if (raw.retired !== undefined) {
    head.retired = generationOf(raw.retired, "the ledger head's retired generation");
    if (head.retired.generation >= head.generation || head.retired.generation === 0)
      throw new LedgerCorruptError("the ledger head's retired generation is not an earlier one");
  }
  return head;
}

export function serializeHead(head: LedgerHead): string {
  return JSON.stringify(head);
}

/** A shard's marker, checked against where the head says it is. */
export function parseMarker(text: string | undefined, expected: Omit<ShardMarker, "sealed">): ShardMarker {
  const what = `ledger shard ${expected.generation}/${expected.index}`;
  if (text === undefined) throw new LedgerCorruptError(`${what} has no marker`);
  const raw = json(text, `${what}'s marker`) as Partial<ShardMarker>;
  const marker = { ...generationOf(raw, what), index: raw.index };
  if (
    marker.generation !== expected.generation ||
    marker.shards !== expected.shards ||
    marker.index !== expected.index
  )
    throw new LedgerCorruptError(`${what}'s marker names another shard`);
  if (raw.sealed !== undefined && raw.sealed !== true)
    throw new LedgerCorruptError(`${what}'s marker has an invalid seal`);
  return { ...expected, ...(raw.sealed ? { sealed: true } : {}) };
}

export function serializeMarker(marker: ShardMarker): string {
  return JSON.stringify(marker);
}

const contentKeys = new Set<string>(Object.values(ledgerKeys));

/**
 * The ledger keys of a stored shard (or of a generation-0 head), decoded and checked: nothing but ledger
 * keys and the marker, every part parseable, and every change and usage line in the shard that owns it
 * (a change in the wrong shard could be recorded twice).
 */
export function shardContent(
  department: string,
  stored: StoredLedger | undefined,
  where: { index: number; shards: number },
  markerKey: string,
): Record<string, string> {
  const what = `ledger shard ${where.index} of ${where.shards}`;
  for (const key of Object.keys(stored?.binaryData ?? {})) {
    const plain = key.endsWith(".gz") ? key.slice(0, -".gz".length) : undefined;
    // ledgerDataOf would skip the one and prefer it over a plain value: either hides a value.
    if (plain === undefined || stored?.data?.[plain] !== undefined)
      throw new LedgerCorruptError(`${what} has a compressed value ${key} that hides or is no ledger key`);
  }
  let data: Record<string, string>;
  try {
    data = ledgerDataOf(stored);
  } catch {
    throw new LedgerCorruptError(`${what} has a value that does not decompress`);
  }
  const content: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    if (key === markerKey) continue;
    if (!contentKeys.has(key)) throw new LedgerCorruptError(`${what} has an unknown key ${key}`);
    content[key] = value;
  }
  const parsed = parseContent(department, content, what);
  const misplaced =
    parsed.ledger.changes.find((c) => shardOf(c.subject, where.shards) !== where.index)?.subject ??
    parsed.usage.buckets.find((b) => shardOf(lineShardKey(b), where.shards) !== where.index)?.environment;
  if (misplaced !== undefined) throw new LedgerCorruptError(`${what} holds ${misplaced} of another shard`);
  return content;
}

interface Content {
  ledger: Ledger;
  folded: IntegralBucket[];
  usage: AboveRequestUsage;
}

function parseContent(department: string, data: Record<string, string | undefined>, what: string): Content {
  try {
    const ledger = ledgerOf(department, data);
    const folded = parseFolded(data[ledgerKeys.folded]);
    const usage = parseUsage(data[ledgerKeys.aboveRequest]);
    const badChange = ledger.changes.some(
      (c) => !Number.isFinite(c.at) || typeof c.subject !== "string" || typeof c.environment !== "string",
    );
    const badBucket = [...folded, ...usage.buckets].some(
      (b) => !Number.isFinite(b.at) || typeof b.environment !== "string",
    );
    if (badChange || badBucket) throw new Error("malformed row");
    return { ledger, folded, usage };
  } catch (error) {
    if (error instanceof LedgerCorruptError) throw error;
    throw new LedgerCorruptError(`${what} has unreadable rows`);
  }
}

/**
 * The union of a generation's shards: every change, the folded integrals summed, all usage lines. The
 * changes are each shard's in turn, not in time order across shards: a subject's changes are all in one
 * shard, in time order, which is what grouping them into series needs (sorting the whole department's
 * ledger each time it was priced cost 4% of the controller's time under steady churn).
 */
function union(department: string, shards: Record<string, string | undefined>[]): Content {
  const parts = shards.map((data, i) => parseContent(department, data, `ledger shard ${i}`));
  const throughs = parts.flatMap((p) => (p.usage.through === undefined ? [] : [p.usage.through]));
  return {
    ledger: {
      department,
      changes: parts.flatMap((p) => p.ledger.changes),
    },
    folded: mergeBuckets(parts.map((p) => p.folded)),
    usage: {
      // A shard whose watermark lags (a poll cut short) would count an interval twice if it took a lower
      // one; the highest leaves that interval uncounted, in the department's favour.
      ...(throughs.length > 0 ? { through: Math.max(...throughs) } : {}),
      buckets: mergeBuckets(parts.map((p) => p.usage.buckets)),
    },
  };
}

/** What a department is billed from its ledger's shards (see billedChanges in ledger.ts). */
export function billedShardChanges(
  department: string,
  shards: Record<string, string | undefined>[],
  mode: "reserved" | "consumed",
): AllocationChange[] {
  const { ledger, folded, usage } = union(department, shards);
  return billable(
    [
      ...ledger.changes,
      ...bucketChanges(department, "folded", folded),
      ...aboveRequestChanges(department, usage),
    ],
    mode,
  );
}

/**
 * The next generation's shards from the current one's (sealed, so they no longer change): deterministic,
 * so every replica that completes the same re-shard writes the same shards.
 */
export function partitionLedger(
  department: string,
  shards: Record<string, string | undefined>[],
  count: number,
): Record<string, string>[] {
  const { ledger, folded, usage } = union(department, shards);
  const owner = (key: string) => shardOf(key, count);
  return Array.from({ length: count }, (_, index) => {
    const data: Record<string, string> = {};
    const changes = ledger.changes.filter((c) => owner(c.subject) === index).sort((a, b) => a.at - b.at);
    if (changes.length > 0) data[ledgerKeys.changes] = serialize({ department, changes });
    const buckets = folded.filter((b) => owner(lineShardKey(b)) === index);
    if (buckets.length > 0) data[ledgerKeys.folded] = serializeFolded(buckets);
    const lines = usage.buckets.filter((b) => owner(lineShardKey(b)) === index);
    if (usage.through !== undefined || lines.length > 0)
      data[ledgerKeys.aboveRequest] = serializeUsage({ ...usage, buckets: lines });
    return data;
  });
}

/**
 * How many shards the next generation has: at least twice the current number, and enough for the
 * shards to average half the threshold (so one write does not re-shard again at once).
 */
export function nextShardCount(current: number, totalBytes: number, thresholdBytes: number): number {
  const needed = Math.ceil((2 * totalBytes) / thresholdBytes);
  return Math.min(maxShards, Math.max(2 * current, needed));
}

import type { Logger } from "pino";
import { Gauge, type Registry } from "prom-client";
import { ledgerName } from "../../lib/chargeback/ledger.ts";
import { findLedgerMap, headOf, type LedgerMap } from "../../lib/chargeback/ledger-read.ts";
import {
  LedgerCorruptError,
  type LedgerHead,
  nextShardCount,
  parseMarker,
  type ShardMarker,
  serializeMarker,
  shardContent,
  shardKeys,
  shardName,
  shardOf,
} from "../../lib/chargeback/ledger-shards.ts";
import { isConflict } from "../../lib/kube/client.ts";
import { compressedSize, isTooLarge, type LedgerClient, ledgerMap, storedSize } from "./ledger-objects.ts";
import { completeReshard, planReshard, type ReshardContext, retire } from "./ledger-reshard.ts";

// Where a department's ledger lives: a head ConfigMap in the platform namespace naming the current
// generation of shards, each shard a ConfigMap written with optimistic concurrency (compare-and-swap on
// resourceVersion). A ledger starts as generation 0, one ConfigMap that is its own head (the format every
// ledger had before shards, so an existing one is read as it is); a shard that grows past the threshold
// re-shards the ledger into a new generation (ledger-reshard.ts). What goes in which shard: ledger-shards.ts.

/**
 * Sees one shard's content and whether a key (a change's subject, a usage line) belongs to that shard;
 * returns new content to write (or none). Re-run on a conflict and after a re-shard, so it must be
 * idempotent: recording what is already recorded adds nothing.
 */
export type ShardUpdate<T> = (
  data: Record<string, string>,
  owns: (key: string) => boolean,
) => { result: T; data?: Record<string, string> };

export interface ShardResult<T> {
  result: T;
  /** The shard's content as written (or as read, when nothing was written). */
  data: Record<string, string>;
}

/** A shard updated (its stored size and its weight, compressedSize), stale, or refused for its size. */
type Outcome<T> =
  | (ShardResult<T> & { bytes: number; weight: number })
  | { stale: true }
  | { tooLarge: number; weight: number };

type Shard =
  | { name: string; content: Record<string, string>; object?: LedgerMap; marker?: ShardMarker }
  | { stale: true };

export interface LedgerStoreOptions {
  client: LedgerClient;
  log: Logger;
  registry: Registry;
  /** A shard whose content passes this, compressed (compressedSize), re-shards the ledger. */
  shardAboveBytes: number;
}

/** Shards whose checked content the store keeps, most recently used last (a busy department's few). */
const knownShardsLimit = 4096;

export class LedgerStore {
  private readonly options: LedgerStoreOptions;
  /**
   * Each shard's content as this store last read or wrote it, with the resourceVersion it had: a read
   * that finds the same version skips decompressing and checking it again (a busy department's shard is
   * read on every batch, and is most often as this store wrote it the batch before).
   */
  private readonly known = new Map<string, { version: string; content: Record<string, string> }>();
  private readonly largest: Gauge;
  private readonly shards: Gauge;
  private readonly unreadable: Gauge;

  constructor(options: LedgerStoreOptions) {
    this.options = options;
    const gauge = (name: string, help: string) =>
      new Gauge({ name, help, labelNames: ["department"], registers: [options.registry] });
    this.largest = gauge(
      "govhost_metering_ledger_bytes",
      "Stored size of the largest shard of a department's metering ledger as last read or written, or refused for its size (each shard is one object: alert well before 1 MiB, the API server's object limit)",
    );
    this.shards = gauge("govhost_metering_ledger_shards", "Shards of a department's metering ledger");
    this.unreadable = gauge(
      "govhost_metering_ledger_unreadable",
      "1 while a department's metering ledger has a head or shard the controller cannot trust (see the error log); its metering waits, nothing is dropped",
    );
  }

  /**
   * Runs `update` on every shard of the department's ledger, writing each changed shard with
   * compare-and-swap; re-shards once a shard passes the threshold. Returns every shard's content.
   */
  async update<T>(department: string, update: ShardUpdate<T>): Promise<ShardResult<T>[]> {
    try {
      const results = await this.updateShards(department, update);
      this.unreadable.set({ department }, 0);
      return results;
    } catch (error) {
      if (error instanceof LedgerCorruptError) {
        this.unreadable.set({ department }, 1);
        this.options.log.error(
          { department, problem: error.message },
          "the metering ledger cannot be trusted; its changes stay pending until an operator repairs it (docs/metering.md)",
        );
      }
      throw error;
    }
  }

  private async updateShards<T>(department: string, update: ShardUpdate<T>): Promise<ShardResult<T>[]> {
    const ctx: ReshardContext = { client: this.options.client, log: this.options.log, department };
    let staleUnder: string | undefined;
    for (let attempt = 0; attempt < 20; attempt++) {
      const { object, head } = await this.settledHead(ctx);
      // Every shard is read and checked before any is written: a ledger with one untrustworthy shard is
      // left exactly as it is.
      const read: Shard[] = [];
      for (let index = 0; index < head.shards && !read.some((r) => "stale" in r); index++)
        // Generation 0's one shard is the head just read: no second read of the same object.
        read.push(await this.readShard(department, head, index, head.generation === 0 ? object : undefined));
      const outcomes: Outcome<T>[] = [];
      for (const [index, shard] of read.entries()) {
        if ("stale" in shard) outcomes.push(shard);
        else outcomes.push(await this.updateShard(department, head, index, shard, update));
        if ("stale" in (outcomes.at(-1) ?? {})) break;
      }
      if (outcomes.some((o) => "stale" in o)) {
        // Sealed or gone: the head moved on, unless it still reads the same (then it names a lost shard).
        const version = object?.metadata?.resourceVersion;
        if (version !== undefined && version === staleUnder)
          throw new LedgerCorruptError(
            `a shard of generation ${head.generation} is missing or sealed without a re-shard`,
          );
        staleUnder = version;
        continue;
      }
      const bytes = outcomes.map((o) => ("tooLarge" in o ? o.tooLarge : "bytes" in o ? o.bytes : 0));
      const weights = outcomes.map((o) => ("weight" in o ? o.weight : 0));
      this.largest.set({ department }, Math.max(...bytes));
      this.shards.set({ department }, head.shards);
      const refused = outcomes.some((o) => "tooLarge" in o);
      if (refused || weights.some((w) => w > this.options.shardAboveBytes)) {
        const resharded = await this.reshard(ctx, head, weights);
        if (refused && !resharded)
          throw new Error(`the metering ledger of ${department} is full and cannot be sharded further`);
      }
      if (!refused) return outcomes as ShardResult<T>[];
    }
    throw new Error(`the metering ledger of ${department} kept changing under its writer`);
  }

  /** The head once no re-shard is under way: a pending one is finished first (whoever started it). */
  private async settledHead(ctx: ReshardContext): Promise<{ object?: LedgerMap; head: LedgerHead }> {
    let unchanged: string | undefined;
    for (let attempt = 0; attempt < 20; attempt++) {
      const object = await findLedgerMap(ctx.client, ledgerName(ctx.department));
      const head = headOf(object);
      if (!object || (!head.next && !head.retired)) return { ...(object ? { object } : {}), head };
      const version = object.metadata?.resourceVersion;
      if (version === unchanged)
        throw new LedgerCorruptError(
          `the ledger's re-shard of generation ${head.generation} cannot finish: a shard it names is missing`,
        );
      unchanged = version;
      if (head.next) await completeReshard(ctx, object, { ...head, next: head.next });
      else if (head.retired) await retire(ctx, object, { ...head, retired: head.retired });
    }
    throw new Error(`the metering ledger head of ${ctx.department} kept moving`);
  }

  /** A shard of `head` read and checked, or stale: sealed or gone (the head moved on, or it is lost). */
  private async readShard(
    department: string,
    head: LedgerHead,
    index: number,
    alreadyRead?: LedgerMap,
  ): Promise<Shard> {
    const name = shardName(department, head.generation, index);
    const object = alreadyRead ?? (await findLedgerMap(this.options.client, name));
    if (head.generation === 0 ? object?.data?.[shardKeys.head] !== undefined : !object)
      return { stale: true };
    const marker =
      head.generation === 0 ? undefined : parseMarker(object?.data?.[shardKeys.shard], { ...head, index });
    if (marker?.sealed) return { stale: true };
    const markerKey = head.generation === 0 ? shardKeys.head : shardKeys.shard;
    const version = object?.metadata?.resourceVersion;
    const known = this.known.get(name);
    const content =
      known && known.version === version
        ? known.content
        : shardContent(department, object, { index, shards: head.shards }, markerKey);
    this.remember(name, version, content);
    return { name, content, ...(object ? { object } : {}), ...(marker ? { marker } : {}) };
  }

  private remember(name: string, version: string | undefined, content: Record<string, string>): void {
    this.known.delete(name);
    if (version === undefined) return;
    this.known.set(name, { version, content });
    if (this.known.size > knownShardsLimit) this.known.delete(this.known.keys().next().value as string);
  }

  private async updateShard<T>(
    department: string,
    head: LedgerHead,
    index: number,
    first: Extract<Shard, { content: unknown }>,
    update: ShardUpdate<T>,
  ): Promise<Outcome<T>> {
    const owns = (key: string) => shardOf(key, head.shards) === index;
    let shard: Shard = first;
    for (let attempt = 0; ; attempt++) {
      if ("stale" in shard) return shard;
      const { name, object, marker, content } = shard;
      const { result, data } = update(content, owns);
      if (!data) return { result, data: content, bytes: storedSize(object), weight: compressedSize(object) };
      const extra: Record<string, string> = marker ? { [shardKeys.shard]: serializeMarker(marker) } : {};
      const body = ledgerMap(department, name, data, extra, object?.metadata?.resourceVersion);
      try {
        // The answer's metadata is all that is read (its resourceVersion): not the shard sent back.
        const written = object
          ? await this.options.client.replace(body, { metadataOnly: true })
          : await this.options.client.create(body, { metadataOnly: true });
        this.remember(name, written.metadata?.resourceVersion, data);
        return { result, data, bytes: storedSize(body), weight: compressedSize(body) };
      } catch (error) {
        if (isTooLarge(error)) {
          // Nothing is lost: the changes stay pending, and the ledger re-shards before they are retried.
          this.options.log.error(
            { department, shard: name, bytes: storedSize(body) },
            "a metering ledger shard is full",
          );
          return { tooLarge: storedSize(body), weight: compressedSize(body) };
        }
        // 409: changed since read (or sealed meanwhile), or created meanwhile (AlreadyExists).
        if (!isConflict(error) || attempt >= 5) throw error;
      }
      shard = await this.readShard(department, head, index);
    }
  }

  /** Plans and completes a re-shard of `head` into enough shards for `weights`; false if it cannot grow. */
  private async reshard(ctx: ReshardContext, head: LedgerHead, weights: number[]): Promise<boolean> {
    const total = weights.reduce((a, b) => a + b, 0);
    const shards = nextShardCount(head.shards, total, this.options.shardAboveBytes);
    if (shards <= head.shards) return false;
    // Generation 0's head is the shard just written: read it again for its current version.
    const object = await findLedgerMap(ctx.client, ledgerName(ctx.department));
    if (!object) return false;
    const current = headOf(object);
    if (current.generation !== head.generation || current.next || current.retired) return true;
    if (!(await planReshard(ctx, object, current, shards))) return true;
    // Finished here or by whoever reads the head next (settledHead).
    await this.settledHead(ctx);
    return true;
  }
}

import type { Logger } from "pino";
import { ledgerName } from "../../lib/chargeback/ledger.ts";
import { findLedgerMap, type LedgerMap } from "../../lib/chargeback/ledger-read.ts";
import {
  type Generation,
  type LedgerHead,
  parseMarker,
  partitionLedger,
  serializeHead,
  serializeMarker,
  shardContent,
  shardKeys,
  shardName,
} from "../../lib/chargeback/ledger-shards.ts";
import { isConflict } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { controllerIdentity } from "../api/rbac.ts";
import { type LedgerClient, ledgerMap } from "./ledger-objects.ts";

// Re-sharding a ledger into a new generation, in steps that each leave it readable and exact (readers
// only follow the head; docs/metering.md, "Ledger shards"):
// 1. plan: the head names the next generation (compare-and-swap on the head);
// 2. seal: each current shard is marked sealed (compare-and-swap), so a writer that read it before gets a
//    conflict, sees the seal, and helps finish instead of writing to a generation about to be left;
// 3. copy: the next generation's shards are created from the sealed ones (deterministic, so two replicas
//    finishing the same re-shard create the same shards; one that exists is left alone);
// 4. switch: the head names the next generation (compare-and-swap), and the previous one as retired;
// 5. retire: the previous generation's shards are deleted, then the head forgets them.
// A crash after any step leaves the head saying what remains, and the next writer finishes it.

export interface ReshardContext {
  client: LedgerClient;
  log: Logger;
  department: string;
}

type Planned = LedgerHead & { next: Generation };

const generationOf = (g: Generation): Generation => ({ generation: g.generation, shards: g.shards });

/** Step 1: writes the plan into the head read as `object`; false if the head changed meanwhile. */
export async function planReshard(ctx: ReshardContext, object: LedgerMap, head: LedgerHead, shards: number) {
  const planned: Planned = { ...generationOf(head), next: { generation: head.generation + 1, shards } };
  try {
    await ctx.client.replace<LedgerMap>({
      ...object,
      data: { ...object.data, [shardKeys.head]: serializeHead(planned) },
    });
    return true;
  } catch (error) {
    if (isConflict(error)) return false;
    throw error;
  }
}

/**
 * Steps 2 to 4 for the head read as `object`. Returns false when the head or a shard moved under it
 * (another replica finished first): the caller reads the head again.
 */
export async function completeReshard(ctx: ReshardContext, object: LedgerMap, head: Planned) {
  const { department } = ctx;
  const sealed: Record<string, string>[] = [];
  for (let index = 0; index < head.shards; index++) {
    const content =
      head.generation === 0
        ? // Generation 0 is the head object itself: writing the plan into it sealed it.
          shardContent(department, object, { index: 0, shards: 1 }, shardKeys.head)
        : await sealShard(ctx, head, index);
    if (!content) return false;
    sealed.push(content);
  }
  const parts = partitionLedger(department, sealed, head.next.shards);
  for (const [index, content] of parts.entries()) await createShard(ctx, head.next, index, content);
  const switched: LedgerHead = {
    ...head.next,
    ...(head.generation > 0 ? { retired: generationOf(head) } : {}),
  };
  const body = ledgerMap(
    department,
    ledgerName(department),
    {},
    { [shardKeys.head]: serializeHead(switched) },
    object.metadata?.resourceVersion,
  );
  try {
    await ctx.client.replace(body);
  } catch (error) {
    if (isConflict(error)) return false;
    throw error;
  }
  ctx.log.info({ department, from: generationOf(head), to: head.next }, "re-sharded the metering ledger");
  return true;
}

/** Step 2 for one shard: its content once sealed, or undefined when it is gone (the head moved on). */
async function sealShard(ctx: ReshardContext, head: Generation, index: number) {
  const name = shardName(ctx.department, head.generation, index);
  for (;;) {
    const shard = await findLedgerMap(ctx.client, name);
    if (!shard) return undefined;
    const marker = parseMarker(shard.data?.[shardKeys.shard], { ...generationOf(head), index });
    const content = shardContent(ctx.department, shard, { index, shards: head.shards }, shardKeys.shard);
    if (marker.sealed) return content;
    try {
      await ctx.client.replace<LedgerMap>({
        ...shard,
        data: { ...shard.data, [shardKeys.shard]: serializeMarker({ ...marker, sealed: true }) },
      });
      return content;
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
  }
}

async function createShard(
  ctx: ReshardContext,
  next: Generation,
  index: number,
  content: Record<string, string>,
) {
  const marker = serializeMarker({ ...next, index });
  const name = shardName(ctx.department, next.generation, index);
  try {
    await ctx.client.create(
      ledgerMap(ctx.department, name, content, { [shardKeys.shard]: marker }, undefined),
    );
  } catch (error) {
    // Created by another replica finishing the same re-shard (or by this step before a crash): the same
    // content, and possibly written to since the switch, so it is left as it is.
    if (!isConflict(error)) throw error;
  }
}

/** Step 5: deletes the retired generation's shards, then clears `retired` from the head. */
export async function retire(
  ctx: ReshardContext,
  object: LedgerMap,
  head: LedgerHead & { retired: Generation },
) {
  const { retired, ...current } = head;
  for (let index = 0; index < retired.shards; index++)
    await ctx.client.delete(
      resources.configMap,
      shardName(ctx.department, retired.generation, index),
      controllerIdentity.namespace,
    );
  const body = ledgerMap(
    ctx.department,
    ledgerName(ctx.department),
    {},
    { [shardKeys.head]: serializeHead(current) },
    object.metadata?.resourceVersion,
  );
  try {
    await ctx.client.replace(body);
  } catch (error) {
    if (!isConflict(error)) throw error;
  }
}

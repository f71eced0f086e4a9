import { controllerIdentity } from "../../controller/api/rbac.ts";
import type { KubeClient, KubeObject } from "../kube/client.ts";
import { resources } from "../kube/resources.ts";
import { ledgerName } from "./ledger.ts";
import {
  LedgerCorruptError,
  type LedgerHead,
  parseHead,
  parseMarker,
  shardContent,
  shardKeys,
  shardName,
} from "./ledger-shards.ts";

// Reading a department's ledger the way every reader must: follow the head to its generation and read
// that generation's shards (the controller's store writes them, ledger-shards.ts says what they hold).

export interface LedgerMap extends KubeObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

export const findLedgerMap = (client: Pick<KubeClient, "find">, name: string) =>
  client.find<LedgerMap>(resources.configMap, name, controllerIdentity.namespace);

/** What the head ConfigMap says. Past generation 0 it must hold nothing but the head. */
export function headOf(object: LedgerMap | undefined): LedgerHead {
  const head = parseHead(object?.data?.[shardKeys.head]);
  if (head.generation > 0) {
    const keys = [...Object.keys(object?.data ?? {}), ...Object.keys(object?.binaryData ?? {})];
    const stray = keys.find((k) => k !== shardKeys.head);
    if (stray)
      throw new LedgerCorruptError(
        `the ledger head (generation ${head.generation}) also holds ${stray}, which no reader follows`,
      );
  }
  return head;
}

/**
 * The content of every shard of the department's current generation (one entry per shard; no ledger yet:
 * none). A shard deleted under the reader means the head moved on: it starts again from the head.
 * Throws LedgerCorruptError for a head or shard it cannot trust.
 */
export async function readLedger(
  client: Pick<KubeClient, "find">,
  department: string,
): Promise<Record<string, string>[]> {
  let missingUnder: string | undefined;
  for (let attempt = 0; attempt < 10; attempt++) {
    const object = await findLedgerMap(client, ledgerName(department));
    if (!object) return [];
    const head = headOf(object);
    if (head.generation === 0)
      return [shardContent(department, object, { index: 0, shards: 1 }, shardKeys.head)];
    const shards: Record<string, string>[] = [];
    for (let index = 0; index < head.shards; index++) {
      const shard = await findLedgerMap(client, shardName(department, head.generation, index));
      if (!shard) break;
      parseMarker(shard.data?.[shardKeys.shard], { ...head, index });
      shards.push(shardContent(department, shard, { index, shards: head.shards }, shardKeys.shard));
    }
    if (shards.length === head.shards) return shards;
    const version = object.metadata?.resourceVersion;
    if (missingUnder === version)
      throw new LedgerCorruptError(
        `ledger shard ${head.generation}/${shards.length} is missing while the head still names it`,
      );
    missingUnder = version;
  }
  throw new Error(`the ledger head of ${department} kept moving while it was read`);
}

import { gzipSync } from "node:zlib";
import { ledgerCompression, ledgerKeys, storedLedger } from "../../lib/chargeback/ledger.ts";
import type { LedgerMap } from "../../lib/chargeback/ledger-read.ts";
import { KubeApiError, type KubeClient } from "../../lib/kube/client.ts";
import { labels } from "../api/group.ts";
import { controllerIdentity } from "../api/rbac.ts";

// The ConfigMaps a ledger is made of (the head and its shards) as the store writes them: always in the
// platform namespace, labelled with their department, large values compressed (ledger.ts).

/** The calls the store makes: a KubeClient, or a fake of it in unit tests. */
export type LedgerClient = Pick<KubeClient, "find" | "create" | "replace" | "delete">;

/** Bytes a stored ConfigMap's values count against the API server's object size limit. */
export function storedSize(stored: LedgerMap | undefined): number {
  let size = 0;
  for (const value of Object.values(stored?.data ?? {})) size += Buffer.byteLength(value);
  for (const value of Object.values(stored?.binaryData ?? {})) size += Buffer.byteLength(value, "base64");
  return size;
}

/**
 * What a shard weighs for re-sharding: its values as if all were compressed (values under 4 KiB and the
 * appended rows are stored plain, ledger.ts), so the threshold follows the ledger's content rather than
 * where compression starts. A shard's plain values are at most 128 KiB and a few times 4 KiB, far from the
 * API server's limit.
 */
export function compressedSize(stored: LedgerMap | undefined): number {
  let size = 0;
  // The appended rows (up to 128 KiB, changed by every batch) are weighed at a quarter of their length
  // instead of being compressed on every write: rows compress about 5 times, so this over-weighs them.
  for (const [key, value] of Object.entries(stored?.data ?? {}))
    size +=
      key === ledgerKeys.appended ? Math.ceil(value.length / 4) : gzipSync(value, ledgerCompression).length;
  for (const value of Object.values(stored?.binaryData ?? {})) size += Buffer.byteLength(value, "base64");
  return size;
}

/** The API server refused an object for its size (etcd's request limit, or a ConfigMap's 1 MiB). */
export function isTooLarge(error: unknown): boolean {
  return (
    error instanceof KubeApiError &&
    (error.code === 413 || /too long|too large|must have at most|exceeds the maximum/i.test(error.message))
  );
}

/**
 * A ledger ConfigMap to write: `content` stored as ledger.ts stores it, `extra` (the head or a shard's
 * marker, both short) as plain data, and the resourceVersion it replaces, if any.
 */
export function ledgerMap(
  department: string,
  name: string,
  content: Record<string, string>,
  extra: Record<string, string>,
  resourceVersion: string | undefined,
): LedgerMap {
  const stored = storedLedger(content);
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name,
      namespace: controllerIdentity.namespace,
      labels: {
        [labels.managedBy]: "govhost",
        [labels.department]: department,
        "govhost.io/component": "metering",
      },
      ...(resourceVersion ? { resourceVersion } : {}),
    },
    data: { ...stored.data, ...extra },
    binaryData: stored.binaryData,
  };
}

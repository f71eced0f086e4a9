import type { Logger } from "pino";
import { Gauge, type Registry } from "prom-client";
import { ledgerDataOf, ledgerName, type StoredLedger, storedLedger } from "../../lib/chargeback/ledger.ts";
import { isConflict, KubeApiError, type KubeClient, type KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { labels } from "../api/group.ts";
import { controllerIdentity } from "../api/rbac.ts";

// Where a department's ledger lives: one ConfigMap in the platform namespace, written with optimistic
// concurrency (compare-and-swap on resourceVersion), large values gzip-compressed (lib/chargeback/ledger.ts).

interface LedgerMap extends KubeObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/** Bytes a stored ledger counts against the API server's object size limit. */
function storedSize(stored: Required<StoredLedger>): number {
  let size = 0;
  for (const value of Object.values(stored.data)) size += Buffer.byteLength(value);
  for (const value of Object.values(stored.binaryData)) size += Buffer.byteLength(value, "base64");
  return size;
}

/** The API server refused an object for its size (etcd's request limit, or a ConfigMap's 1 MiB). */
function isTooLarge(error: unknown): boolean {
  return (
    error instanceof KubeApiError &&
    (error.code === 413 || /too long|too large|must have at most|exceeds the maximum/i.test(error.message))
  );
}

export class LedgerStore {
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly ledgerBytes: Gauge;

  constructor(client: KubeClient, log: Logger, registry: Registry) {
    this.client = client;
    this.log = log;
    this.ledgerBytes = new Gauge({
      name: "govhost_metering_ledger_bytes",
      help: "Size of a department's metering ledger as last written, or refused for its size (alert well before 1 MiB, the API server's object limit)",
      labelNames: ["department"],
      registers: [registry],
    });
  }

  /**
   * Read-modify-write of a department's ledger ConfigMap with optimistic concurrency: `update` sees the
   * current data and returns new data to write (or none), and is re-run on a conflict.
   */
  async update<T>(
    department: string,
    update: (data: Record<string, string>) => { result: T; data?: Record<string, string> },
  ): Promise<{ result: T; data: Record<string, string> }> {
    const { client } = this;
    const name = ledgerName(department);
    const namespace = controllerIdentity.namespace;
    for (let attempt = 0; ; attempt++) {
      const current = await client.find<LedgerMap>(resources.configMap, name, namespace);
      const stored = ledgerDataOf(current);
      const { result, data } = update(stored);
      if (!data) return { result, data: stored };
      const encoded = storedLedger(data);
      const body: LedgerMap = {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name,
          namespace,
          labels: {
            [labels.managedBy]: "govhost",
            [labels.department]: department,
            "govhost.io/component": "metering",
          },
          ...(current?.metadata?.resourceVersion
            ? { resourceVersion: current.metadata.resourceVersion }
            : {}),
        },
        ...encoded,
      };
      const bytes = storedSize(encoded);
      this.ledgerBytes.set({ department }, bytes);
      try {
        if (current) await client.replace(body);
        else await client.create(body);
        return { result, data };
      } catch (error) {
        if (isTooLarge(error)) {
          // Nothing is lost: the changes stay pending and are retried; the gauge and the log say why.
          this.log.error(
            { department, bytes },
            "the metering ledger is full (the API server caps an object near 1 MiB even compressed); statements stop updating until allocations end and fold",
          );
        }
        // 409: changed since read, or created meanwhile (AlreadyExists).
        if (!isConflict(error) || attempt >= 5) throw error;
      }
    }
  }
}

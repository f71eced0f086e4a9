import { setTimeout as sleep } from "node:timers/promises";
import { KubeApiError, type KubeClient, type KubeObject } from "./client.ts";
import type { ResourceType } from "./resources.ts";

export type InformerEvent = "add" | "update" | "delete";

/** Items per page of a relist (client-go's reflector asks for 500). */
const listPageSize = 500;

/** A change callback; `previous` is the cached object an update replaces. */
export type InformerHandler<T> = (event: InformerEvent, object: T, previous?: T) => void;

export function objectKey(object: KubeObject): string {
  const { namespace, name } = object.metadata ?? {};
  return namespace ? `${namespace}/${name}` : `${name}`;
}

export interface InformerOptions {
  labelSelector?: string;
  /** E.g. `metadata.name=x`: how RBAC lets a watch be limited to the objects a role names. */
  fieldSelector?: string;
  /** Keep only apiVersion, kind and metadata (for caches that only say which object changed). */
  metadataOnly?: boolean;
  /** Items per page of a list (default 500, as client-go's reflector asks). */
  pageSize?: number;
  /**
   * What the cache keeps of each object, applied as it arrives (like client-go's SetTransform): a cache
   * whose readers need a few fields need not hold the rest. Not combined with metadataOnly.
   */
  transform?: (object: KubeObject) => KubeObject;
  /** Read the watch in batches, this many ms apart (KubeClient.watch's readEveryMs): for busy resources. */
  readEveryMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * List-then-watch cache of one resource type (like client-go's informer): a local copy of every object,
 * change callbacks, watch restarts from the last resourceVersion, and a full relist (with synthesized
 * deletes) when the server says the version is too old.
 */
export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly changeWaiters = new Set<() => void>();
  /**
   * How often the watch was started again from the last version seen (the server ended it, at its timeout
   * or because it fell behind, or it failed), and how often the cache was listed again because that version
   * was too old (410): a cache that keeps relisting is behind the API server (a metric; benches print it).
   */
  readonly watchCounts = { restarts: 0, relists: 0 };
  private resourceVersion = "";
  private markSynced: () => void = () => {};
  readonly synced: Promise<void> = new Promise((resolve) => {
    this.markSynced = resolve;
  });

  private readonly client: KubeClient;
  private readonly type: ResourceType;
  private readonly handlers: InformerHandler<T>[] = [];
  private readonly options: InformerOptions;

  constructor(
    client: KubeClient,
    type: ResourceType,
    onChange: InformerHandler<T> | undefined,
    options: InformerOptions = {},
  ) {
    this.client = client;
    this.type = type;
    if (onChange) this.handlers.push(onChange);
    this.options = options;
  }

  /** Adds a change callback; register before `run`, so the initial list reaches it too. */
  addHandler(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
  }

  private onChange(event: InformerEvent, object: T, previous?: T): void {
    for (const handler of this.handlers) handler(event, object, previous);
  }

  /**
   * Resolves true once the cache reflects the store at `resourceVersion` or later (a write's own version:
   * read-your-writes), false after `timeoutMs`. Versions are compared as etcd revisions (integers); a
   * version that is not one is never reported reached.
   */
  reached(resourceVersion: string, timeoutMs: number): Promise<boolean> {
    const wanted = revision(resourceVersion);
    return this.until(() => {
      const current = revision(this.resourceVersion);
      return wanted !== undefined && current !== undefined && current >= wanted;
    }, timeoutMs);
  }

  /** Resolves true once `check` holds (looked at again after every event), false after `timeoutMs`. */
  async until(check: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (check()) return true;
      if (Date.now() >= deadline) return false;
      await new Promise<void>((resolve) => {
        const waiter = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          this.changeWaiters.delete(waiter);
          resolve();
        }, deadline - Date.now());
        this.changeWaiters.add(waiter);
      });
    }
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  /** Runs until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    let needList = true;
    let watched = false;
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
          this.markSynced();
        } else if (watched) this.watchCounts.restarts++;
        watched = true;
        await this.client.watch<T>(this.type, this.resourceVersion, (event) => this.apply(event), {
          labelSelector: this.options.labelSelector,
          fieldSelector: this.options.fieldSelector,
          signal,
          withoutManagedFields: true,
          ...(this.options.metadataOnly ? { metadataOnly: true } : {}),
          ...(this.options.readEveryMs ? { readEveryMs: this.options.readEveryMs } : {}),
        });
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof KubeApiError && error.code === 410) {
          needList = true;
          watched = false;
          this.watchCounts.relists++;
        } else {
          this.options.onError?.(error);
          await sleep(1000, undefined, { signal }).catch(() => {});
        }
      }
    }
  }

  /**
   * Lists in pages (like client-go's reflector): each page's items are trimmed to what the cache keeps
   * before the next is read, so a relist of 20,000 pods never holds them all as the API server sent them.
   * The cache and the handlers see the list once every page is in. A continue token that expired (410)
   * fails the relist, and `run` lists again from the start.
   */
  private async relist(): Promise<void> {
    const listed = new Map<string, T>();
    let resourceVersion = "";
    let token: string | undefined;
    do {
      const page = await this.client.list<T>(this.type, {
        labelSelector: this.options.labelSelector,
        fieldSelector: this.options.fieldSelector,
        limit: this.options.pageSize ?? listPageSize,
        ...(token ? { continue: token } : {}),
        ...(this.options.metadataOnly ? { metadataOnly: true } : {}),
      });
      for (const item of page.items) {
        const object = this.kept({
          ...item,
          apiVersion: item.apiVersion ?? this.apiVersion(),
          kind: item.kind ?? this.type.kind,
        });
        listed.set(objectKey(object), object);
      }
      resourceVersion = page.metadata.resourceVersion;
      token = page.metadata.continue || undefined;
    } while (token);
    for (const [key, object] of listed) {
      const previous = this.cache.get(key);
      this.cache.set(key, object);
      this.onChange(previous ? "update" : "add", object, previous);
    }
    for (const [key, object] of this.cache) {
      if (!listed.has(key)) {
        this.cache.delete(key);
        this.onChange("delete", object);
      }
    }
    this.resourceVersion = resourceVersion;
    this.changed();
  }

  /** What the cache keeps of an object. */
  private kept(object: T): T {
    const trimmed = withoutManagedFields(object);
    if (this.options.transform) return this.options.transform(trimmed) as T;
    if (!this.options.metadataOnly) return trimmed;
    // Received as PartialObjectMetadata: kept under the resource's own kind.
    return { apiVersion: this.apiVersion(), kind: this.type.kind, metadata: trimmed.metadata } as T;
  }

  private apiVersion(): string {
    return this.type.group ? `${this.type.group}/${this.type.version}` : this.type.version;
  }

  private apply(event: { type: string; object: T }): void {
    if (event.type === "ERROR") {
      const status = event.object as unknown as { code?: number; message?: string };
      throw new KubeApiError(status.code ?? 500, "WatchError", status.message ?? "watch error");
    }
    const rv = event.object.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (event.type !== "BOOKMARK") {
      const object = this.kept(event.object);
      const key = objectKey(object);
      if (event.type === "DELETED") {
        this.cache.delete(key);
        this.onChange("delete", object);
      } else {
        const previous = this.cache.get(key);
        this.cache.set(key, object);
        this.onChange(previous ? "update" : "add", object, previous);
      }
    }
    this.changed();
  }

  private changed(): void {
    if (this.changeWaiters.size === 0) return;
    const waiters = [...this.changeWaiters];
    this.changeWaiters.clear();
    for (const waiter of waiters) waiter();
  }
}

/**
 * Server-side apply's field ownership records are often the larger part of an object and nothing reads
 * them from a cache (writes are applies, which the server merges): like client-go's
 * TransformStripManagedFields, caches keep objects without them. Watch events arrive without them already
 * (cut from the text before parsing, lib/kube/managed-fields.ts); a list's items still carry them.
 */
function withoutManagedFields<T extends KubeObject>(object: T): T {
  if (!object.metadata?.managedFields) return object;
  const { managedFields: _, ...metadata } = object.metadata;
  return { ...object, metadata };
}

function revision(resourceVersion: string): bigint | undefined {
  return /^[0-9]{1,30}$/.test(resourceVersion) ? BigInt(resourceVersion) : undefined;
}

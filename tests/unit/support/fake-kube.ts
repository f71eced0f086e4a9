import { KubeApiError, type KubeClient, type KubeObject, type WatchEvent } from "../../../lib/kube/client.ts";

// An in-memory stand-in for the few KubeClient calls the runtime's unit tests exercise (informer, leader
// election, status writer, the metering ledger store). Integration tests use the real API server; these pin the runtime's own logic:
// optimistic concurrency (409 on a stale resourceVersion), watch streams and "too old" (410) relists.

type Watcher = {
  onEvent: (event: WatchEvent<KubeObject>) => void;
  fail: (error: Error) => void;
  end: () => void;
};

export class FakeKube {
  readonly objects = new Map<string, KubeObject>();
  readonly applied: { object: KubeObject; options: unknown }[] = [];
  private version = 1;
  private readonly watchers = new Set<Watcher>();
  /** Makes the next calls of these methods fail with the given error. */
  readonly failNext = new Map<string, Error>();
  listCalls = 0;
  /** The resourceVersion each watch was started from, in order. */
  readonly watchedFrom: string[] = [];

  asClient(): KubeClient {
    return this as unknown as KubeClient;
  }

  private key(object: KubeObject): string {
    return `${object.metadata?.namespace ?? ""}/${object.metadata?.name}`;
  }

  private failing(method: string): void {
    const error = this.failNext.get(method);
    if (error) {
      this.failNext.delete(method);
      throw error;
    }
  }

  /** Stores an object as if another client wrote it, and tells the watchers. */
  put(object: KubeObject): KubeObject {
    const existed = this.objects.has(this.key(object));
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.version) } };
    this.objects.set(this.key(stored), stored);
    for (const w of this.watchers) w.onEvent({ type: existed ? "MODIFIED" : "ADDED", object: stored });
    return stored;
  }

  remove(namespace: string | undefined, name: string): void {
    const key = `${namespace ?? ""}/${name}`;
    const object = this.objects.get(key);
    if (!object) return;
    this.objects.delete(key);
    for (const w of this.watchers) w.onEvent({ type: "DELETED", object });
  }

  /** Deletes without telling the watchers (a change missed while disconnected). */
  removeQuietly(namespace: string | undefined, name: string): void {
    this.objects.delete(`${namespace ?? ""}/${name}`);
    this.version++;
  }

  /** Ends every open watch with 410 Gone, as the API server does when a version is compacted away. */
  expireWatches(): void {
    for (const w of [...this.watchers]) w.fail(new KubeApiError(410, "Expired", "too old resource version"));
  }

  /** Ends every open watch as the API server does at a watch's timeout: the stream closes, no error. */
  endWatches(): void {
    for (const w of [...this.watchers]) w.end();
  }

  /** Pages like the API server when asked (`limit`; `continue` is the offset of the next page here). */
  async list<T extends KubeObject>(_type?: unknown, options: { limit?: number; continue?: string } = {}) {
    this.listCalls++;
    this.failing("list");
    const all = [...this.objects.values()] as T[];
    const from = Number(options.continue ?? 0);
    const to = options.limit ? from + options.limit : all.length;
    return {
      items: all.slice(from, to),
      metadata: {
        resourceVersion: String(this.version),
        ...(to < all.length ? { continue: String(to) } : {}),
      },
    };
  }

  watch<T extends KubeObject>(
    _type: unknown,
    resourceVersion: string,
    onEvent: (event: WatchEvent<T>) => void,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    this.watchedFrom.push(resourceVersion);
    return new Promise((resolve, reject) => {
      const watcher: Watcher = {
        onEvent: onEvent as Watcher["onEvent"],
        fail: (error) => {
          this.watchers.delete(watcher);
          reject(error);
        },
        end: () => {
          this.watchers.delete(watcher);
          resolve();
        },
      };
      this.watchers.add(watcher);
      options.signal?.addEventListener("abort", () => {
        this.watchers.delete(watcher);
        resolve();
      });
    });
  }

  async find<T extends KubeObject>(_type: unknown, name: string, namespace?: string): Promise<T | undefined> {
    this.failing("find");
    const found = this.objects.get(`${namespace ?? ""}/${name}`);
    return found ? (structuredClone(found) as T) : undefined;
  }

  async create<T extends KubeObject>(object: T, options: { metadataOnly?: boolean } = {}): Promise<T> {
    this.failing("create");
    if (this.objects.has(this.key(object))) throw new KubeApiError(409, "AlreadyExists", "already exists");
    return answer(this.put(object), options) as T;
  }

  async replace<T extends KubeObject>(object: T, options: { metadataOnly?: boolean } = {}): Promise<T> {
    this.failing("replace");
    const current = this.objects.get(this.key(object));
    if (!current) throw new KubeApiError(404, "NotFound", "not found");
    if (current.metadata?.resourceVersion !== object.metadata?.resourceVersion)
      throw new KubeApiError(409, "Conflict", "the object has been modified");
    return answer(this.put(object), options) as T;
  }

  async delete(_type: unknown, name: string, namespace?: string): Promise<boolean> {
    this.failing("delete");
    const key = `${namespace ?? ""}/${name}`;
    if (!this.objects.has(key)) return false;
    this.remove(namespace, name);
    return true;
  }

  async apply<T extends KubeObject>(object: T, options: unknown): Promise<T> {
    this.failing("apply");
    this.applied.push({ object: structuredClone(object), options });
    return object;
  }

  close(): void {}
}

/** A write's answer as the API server gives it: the object, or its metadata only when asked. */
function answer(object: KubeObject, options: { metadataOnly?: boolean }): KubeObject {
  if (!options.metadataOnly) return object;
  return { apiVersion: "meta.k8s.io/v1", kind: "PartialObjectMetadata", metadata: { ...object.metadata } };
}

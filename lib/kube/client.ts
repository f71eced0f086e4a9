import type { ClientRequest, IncomingMessage } from "node:http";
import { Agent, type RequestOptions, request } from "node:https";
import type { Socket } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { TLSSocket } from "node:tls";
import type { KubeConfig } from "@kubernetes/client-node";
import { type ClusterCredentials, credentialsOf, defaultCredentials } from "./credentials.ts";
import { withoutManagedFieldsJson } from "./managed-fields.ts";
import { apiVersionOf, type ResourceType, resourcePath, resourceTypeOf } from "./resources.ts";

/** The parts of a Kubernetes object every caller relies on. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string;
    creationTimestamp?: string;
    ownerReferences?: unknown[];
    /** Server-side apply's field ownership; informer caches drop it. */
    managedFields?: unknown[];
  };
  [key: string]: unknown;
}

export interface KubeList<T> {
  items: T[];
  metadata: { resourceVersion: string; continue?: string };
}

export interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

/** A failed API call: the HTTP status and the API server's Status reason and message. */
export class KubeApiError extends Error {
  readonly code: number;
  readonly reason: string;
  /** The server's Retry-After, when it sent one (429 from API Priority and Fairness does). */
  readonly retryAfterMs: number | undefined;
  constructor(code: number, reason: string, message: string, retryAfterMs?: number) {
    super(message);
    this.name = "KubeApiError";
    this.code = code;
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * How often a request the API server throttled (429) is sent again, as client-go does: API Priority and
 * Fairness refuses it before it is executed (writes included), and says when to come back (Retry-After).
 */
export const throttledRequestAttempts = 5;
const maxRetryAfterMs = 10_000;

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const seconds = Number(Array.isArray(header) ? header[0] : header);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, maxRetryAfterMs) : undefined;
}

/** The name of the object's controlling owner of `kind` (its ownerReference with controller: true), if any. */
export function controllerOwnerName(object: KubeObject, kind: string): string | undefined {
  const refs = (object.metadata?.ownerReferences ?? []) as {
    kind?: string;
    name?: string;
    controller?: boolean;
  }[];
  return refs.find((ref) => ref.controller && ref.kind === kind)?.name;
}

export const isNotFound = (error: unknown) => error instanceof KubeApiError && error.code === 404;
export const isConflict = (error: unknown) => error instanceof KubeApiError && error.code === 409;

const policyRefusal = /denied request|violates PodSecurity|ValidatingAdmissionPolicy|admission webhook/;

/** Admission refused the object (a baseline rule, Pod Security, the schema): the object must change. */
export function isAdmissionRefusal(error: unknown): error is KubeApiError {
  if (!(error instanceof KubeApiError)) return false;
  if (error.code === 422 || error.code === 400) return true;
  return error.code === 403 && policyRefusal.test(error.message);
}

/**
 * Of admission refusals, those a policy made (a baseline rule, Pod Security, a webhook); the others are the
 * object's own validation, e.g. a Service whose ports, merged with ports someone added by hand, repeat a name.
 */
export const isPolicyRefusal = (error: KubeApiError) => policyRefusal.test(error.message);

/** The API server refused a create because a ResourceQuota in the namespace is used up. */
export function isQuotaRefusal(error: unknown): error is KubeApiError {
  return error instanceof KubeApiError && error.code === 403 && /exceeded quota/.test(error.message);
}

interface CallOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Receives the API server's warnings (e.g. from admission policies in Warn mode). */
  warnings?: string[];
  /** The Accept header (JSON by default). */
  accept?: string;
}

/**
 * Accept headers that ask the API server for objects' metadata only (PartialObjectMetadata), with JSON as
 * the fallback for a server that cannot: a cache that keeps only metadata then neither receives nor
 * decodes the rest (a ResourceQuota's status changes with every pod that starts or ends). A write's answer
 * can be its metadata only too (create and replace).
 */
const metadataOnlyAccept = {
  list: "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
  /** A watch's events, and a write's answer. */
  object: "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json",
} as const;

interface CreateOptions {
  dryRun?: boolean;
  warnings?: string[];
}

/** Who the client acts as when the kubeconfig identity impersonates (tests use it to check RBAC). */
export interface Impersonation {
  user: string;
  groups?: string[];
}

/** How a client presents itself and what it checks before writing (see `derived`). */
interface ClientShape {
  as?: Impersonation;
  /** Sent as User-Agent: the API server's audit log names who made each request. */
  userAgent?: string;
  /** Called before every request that is not a read; throwing refuses the request before it is sent. */
  beforeWrite?: (method: string, path: string) => void;
}

const readMethods = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Sends a request only once it has a connection, asking `check` again at that moment. A request can wait
 * for a free socket or a TLS handshake for a long time (a process that was stopped catches up on its queue
 * when it resumes), and a check made when the request was queued may no longer hold when its bytes leave:
 * the leader's fence (beforeWrite) must be asked right before they do. Nothing is written until `send`
 * (Node sends a request's headers with its first body write).
 */
function sendWhenConnected(
  req: ClientRequest,
  check: () => void,
  send: () => void,
  refuse: (error: unknown) => void,
): void {
  req.once("socket", (socket) => {
    const go = () => {
      try {
        check();
      } catch (error) {
        refuse(error);
        req.destroy();
        return;
      }
      send();
    };
    // A socket from the pool is connected; a new one is still connecting or in its TLS handshake.
    if (socket instanceof TLSSocket) {
      const protocol = socket.getProtocol();
      if (protocol && protocol !== "unknown") go();
      else socket.once("secureConnect", go);
    } else if ((socket as Socket).connecting) socket.once("connect", go);
    else go();
  });
}

/** How many connections a KubeClient opens to the API server at most (its own pool). */
export const connectionsPerClient = 32;

/**
 * A small Kubernetes REST client: the kubeconfig's TLS and credentials (via @kubernetes/client-node), plain
 * JSON, keep-alive connections, typed errors, and streaming watches. Only what govhost needs.
 */
export class KubeClient {
  readonly server: string;
  private readonly agent: Agent;
  private readonly credentials: ClusterCredentials;
  private readonly shape: ClientShape;
  private readonly ownsAgent: boolean;
  private base: { options: RequestOptions; loadedAt: number } | undefined;

  private constructor(credentials: ClusterCredentials, shape: ClientShape, agent?: Agent) {
    this.server = credentials.server;
    this.credentials = credentials;
    this.shape = shape;
    this.ownsAgent = agent === undefined;
    this.agent = agent ?? new Agent({ keepAlive: true, maxSockets: connectionsPerClient });
  }

  /**
   * The same credentials acting as another identity (Impersonate-User/-Group): RBAC and admission then
   * judge that identity. Shares this client's connections; closing it leaves them open.
   */
  impersonating(as: Impersonation): KubeClient {
    return new KubeClient(this.credentials, { ...this.shape, as }, this.agent);
  }

  /**
   * The same credentials and connections with a User-Agent, or a check before every write (a controller
   * replica writes only while it holds the lease). Closing it leaves the connections open.
   */
  derived(shape: Omit<ClientShape, "as">): KubeClient {
    return new KubeClient(this.credentials, { ...this.shape, ...shape }, this.agent);
  }

  /**
   * From the KubeConfig given, else $KUBECONFIG / ~/.kube/config, or the in-cluster service account when
   * running in a pod (credentials.ts).
   */
  static async fromKubeConfig(kc?: KubeConfig, as?: Impersonation): Promise<KubeClient> {
    const client = new KubeClient(kc ? credentialsOf(kc) : await defaultCredentials(), as ? { as } : {});
    await client.requestOptions();
    return client;
  }

  /**
   * TLS material and credentials, reloaded every minute: projected service-account tokens and exec/OIDC
   * credentials rotate, so a long-running controller must not keep the first one forever.
   */
  private async requestOptions(): Promise<RequestOptions> {
    if (this.base && Date.now() - this.base.loadedAt < 60_000) return this.base.options;
    const opts: RequestOptions = { headers: {} };
    await this.credentials.apply(opts);
    const headers = { ...(opts.headers as Record<string, string | string[]>) };
    const { as, userAgent } = this.shape;
    if (as) {
      headers["Impersonate-User"] = as.user;
      if (as.groups?.length) headers["Impersonate-Group"] = as.groups;
    }
    if (userAgent) headers["user-agent"] = userAgent;
    this.base = { options: { ...opts, headers, agent: this.agent }, loadedAt: Date.now() };
    return this.base.options;
  }

  close(): void {
    if (this.ownsAgent) this.agent.destroy();
  }

  private url(path: string, query: CallOptions["query"]): URL {
    const url = new URL(path, this.server);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url;
  }

  /**
   * One request; resolves to the parsed JSON body, rejects with KubeApiError on a non-2xx status. A
   * throttled request (429) is sent again after the server's Retry-After (1 s without one), at most
   * `throttledRequestAttempts` times in all.
   */
  async call<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.callOnce<T>(method, path, options);
      } catch (error) {
        const throttled = error instanceof KubeApiError && error.code === 429;
        if (!throttled || attempt >= throttledRequestAttempts || options.signal?.aborted) throw error;
        await delay(error.retryAfterMs ?? 1_000, undefined, options.signal ? { signal: options.signal } : {});
      }
    }
  }

  private async callOnce<T>(method: string, path: string, options: CallOptions): Promise<T> {
    if (this.shape.beforeWrite && !readMethods.has(method)) this.shape.beforeWrite(method, path);
    const base = await this.requestOptions();
    const url = this.url(path, options.query);
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string | string[]> = {
      ...(base.headers as Record<string, string | string[]>),
      accept: options.accept ?? "application/json",
    };
    if (payload !== undefined) {
      headers["content-type"] = options.contentType ?? "application/json";
      headers["content-length"] = String(Buffer.byteLength(payload));
    }
    return new Promise<T>((resolve, reject) => {
      const req = request(url, { ...base, method, headers, signal: options.signal }, (res) => {
        const warning = res.headers.warning;
        if (options.warnings && warning) {
          for (const w of Array.isArray(warning) ? warning : [warning])
            options.warnings.push(parseWarning(w));
        }
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = text;
          }
          if (status >= 200 && status < 300) resolve(body as T);
          else {
            const s = (body ?? {}) as { reason?: string; message?: string };
            reject(
              new KubeApiError(
                status,
                s.reason ?? "Unknown",
                s.message ?? `${method} ${path}: HTTP ${status}`,
                retryAfterMs(res.headers["retry-after"]),
              ),
            );
          }
        });
      });
      req.on("error", reject);
      const send = () => {
        if (payload !== undefined) req.write(payload);
        req.end();
      };
      const { beforeWrite } = this.shape;
      if (!beforeWrite || readMethods.has(method)) send();
      else sendWhenConnected(req, () => beforeWrite(method, path), send, reject);
    });
  }

  get<T extends KubeObject>(type: ResourceType, name: string, namespace?: string): Promise<T> {
    return this.call<T>("GET", resourcePath(type, { name, namespace }));
  }

  /** GET, or undefined when the object does not exist. */
  async find<T extends KubeObject>(
    type: ResourceType,
    name: string,
    namespace?: string,
  ): Promise<T | undefined> {
    try {
      return await this.get<T>(type, name, namespace);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async list<T extends KubeObject>(
    type: ResourceType,
    options: {
      namespace?: string;
      labelSelector?: string;
      fieldSelector?: string;
      metadataOnly?: boolean;
      /** At most this many items; the rest follow with `continue` (the list's metadata.continue). */
      limit?: number;
      continue?: string;
    } = {},
  ): Promise<KubeList<T>> {
    const list = await this.call<KubeList<T>>("GET", resourcePath(type, { namespace: options.namespace }), {
      query: {
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        limit: options.limit,
        continue: options.continue,
      },
      ...(options.metadataOnly ? { accept: metadataOnlyAccept.list } : {}),
    });
    // An empty PartialObjectMetadataList comes with `"items": null`.
    if (!list.items) return { ...list, items: [] };
    // A list's items carry no apiVersion and kind; set them, so an item can be written back as it is.
    if (!options.metadataOnly) {
      const apiVersion = apiVersionOf(type);
      for (const item of list.items) {
        item.apiVersion ??= apiVersion;
        item.kind ??= type.kind;
      }
    }
    return list;
  }

  /**
   * POST. With `metadataOnly`, the API server answers with the new object's metadata (PartialObjectMetadata)
   * rather than the whole object, which a large object's writer (a metering ledger) would decode for nothing.
   */
  create<T extends KubeObject>(object: T, options?: CreateOptions & { metadataOnly?: false }): Promise<T>;
  create(object: KubeObject, options: CreateOptions & { metadataOnly: true }): Promise<KubeObject>;
  create(object: KubeObject, options: CreateOptions & { metadataOnly?: boolean } = {}): Promise<KubeObject> {
    const type = resourceTypeOf(object);
    return this.call<KubeObject>("POST", resourcePath(type, { namespace: object.metadata?.namespace }), {
      body: object,
      query: { dryRun: options.dryRun ? "All" : undefined },
      warnings: options.warnings,
      ...(options.metadataOnly ? { accept: metadataOnlyAccept.object } : {}),
    });
  }

  /** Server-side apply: the caller's field manager owns exactly the fields in `object`. */
  apply<T extends KubeObject>(
    object: T,
    options: { fieldManager: string; force?: boolean; dryRun?: boolean; subresource?: "status" },
  ): Promise<T> {
    const type = resourceTypeOf(object);
    const name = object.metadata?.name;
    if (!name) throw new Error(`cannot apply a ${object.kind} without metadata.name`);
    const path = resourcePath(type, {
      name,
      namespace: object.metadata?.namespace,
      subresource: options.subresource,
    });
    return this.call<T>("PATCH", path, {
      body: object,
      contentType: "application/apply-patch+yaml",
      query: {
        fieldManager: options.fieldManager,
        force: options.force ?? true,
        dryRun: options.dryRun ? "All" : undefined,
      },
    });
  }

  /** JSON merge patch, optionally of a subresource (e.g. status). */
  mergePatch<T extends KubeObject>(
    type: ResourceType,
    name: string,
    patch: unknown,
    options: { namespace?: string; subresource?: "status"; dryRun?: boolean } = {},
  ): Promise<T> {
    const { dryRun, ...where } = options;
    return this.call<T>("PATCH", resourcePath(type, { name, ...where }), {
      body: patch,
      contentType: "application/merge-patch+json",
      query: { dryRun: dryRun ? "All" : undefined },
    });
  }

  /** PUT. With `metadataOnly`, the answer is the object's metadata only, as for create. */
  replace<T extends KubeObject>(object: T, options?: { metadataOnly?: false }): Promise<T>;
  replace(object: KubeObject, options: { metadataOnly: true }): Promise<KubeObject>;
  replace(object: KubeObject, options: { metadataOnly?: boolean } = {}): Promise<KubeObject> {
    const type = resourceTypeOf(object);
    const path = resourcePath(type, { name: object.metadata?.name, namespace: object.metadata?.namespace });
    return this.call<KubeObject>("PUT", path, {
      body: object,
      ...(options.metadataOnly ? { accept: metadataOnlyAccept.object } : {}),
    });
  }

  /** DELETE; resolves false when the object was already gone. */
  async delete(
    type: ResourceType,
    name: string,
    namespace?: string,
    propagation = "Background",
  ): Promise<boolean> {
    try {
      await this.call("DELETE", resourcePath(type, { name, namespace }), {
        body: { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: propagation },
      });
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /**
   * Streams watch events from `resourceVersion` until the server closes the stream, the signal aborts, or
   * an error occurs. The caller restarts it (and relists on 410 Gone).
   */
  async watch<T extends KubeObject>(
    type: ResourceType,
    resourceVersion: string,
    onEvent: (event: WatchEvent<T>) => void,
    options: {
      labelSelector?: string;
      fieldSelector?: string;
      signal?: AbortSignal;
      timeoutSeconds?: number;
      /** Objects' metadata only (PartialObjectMetadata), see metadataOnlyAccept. */
      metadataOnly?: boolean;
      /** Cut each object's metadata.managedFields out of the event's text before parsing it. */
      withoutManagedFields?: boolean;
      /**
       * After events arrive, read the stream again only this many ms later: the events that came meanwhile
       * are then read and handled together (see readInBatches). For busy watches whose readers can wait.
       */
      readEveryMs?: number;
    } = {},
  ): Promise<void> {
    const base = await this.requestOptions();
    const headers = options.metadataOnly
      ? { ...(base.headers as Record<string, string | string[]>), accept: metadataOnlyAccept.object }
      : base.headers;
    const url = this.url(resourcePath(type), {
      watch: 1,
      resourceVersion,
      allowWatchBookmarks: true,
      labelSelector: options.labelSelector,
      fieldSelector: options.fieldSelector,
      timeoutSeconds: options.timeoutSeconds ?? 300,
    });
    return new Promise<void>((resolve, reject) => {
      const req = request(url, { ...base, headers, method: "GET", signal: options.signal }, (res) => {
        if ((res.statusCode ?? 0) !== 200) {
          res.resume();
          reject(
            new KubeApiError(
              res.statusCode ?? 0,
              "WatchFailed",
              `watch ${type.plural}: HTTP ${res.statusCode}`,
            ),
          );
          return;
        }
        const readLater = options.readEveryMs ? readInBatches(res, options.readEveryMs) : undefined;
        // Each line is decoded once, whole, without its managedFields.
        const eachLine = splitLines((bytes) => {
          const text = options.withoutManagedFields
            ? withoutManagedFieldsJson(bytes)
            : bytes.toString("utf8");
          onEvent(JSON.parse(text) as WatchEvent<T>);
        });
        res.on("data", (chunk: Buffer) => {
          readLater?.();
          try {
            eachLine(chunk);
          } catch (error) {
            req.destroy(error as Error);
          }
        });
        res.on("end", () => resolve());
        res.on("error", reject);
      });
      req.on("error", (error) => (options.signal?.aborted ? resolve() : reject(error)));
      req.end();
    });
  }
}

/**
 * Reads a response in batches: once data came, what else the socket holds is read in the same turn of the
 * event loop, then the socket is not read for `everyMs`, and what arrived meanwhile is read in one go. A
 * busy watch's events are then decrypted, parsed and handled together rather than each on its own wake-up
 * of the process. The kernel holds what arrives in the pause (the API server's writes wait beyond its
 * buffer). Returns what to call on each chunk.
 */
function readInBatches(res: IncomingMessage, everyMs: number): () => void {
  let pausing = false;
  const readAgain = () => {
    pausing = false;
    res.socket?.resume();
    res.resume();
  };
  return () => {
    if (pausing) return;
    pausing = true;
    setImmediate(() => {
      // Complete: its socket may already be back in the client's pool, serving another request.
      if (res.complete || res.destroyed) {
        pausing = false;
        return;
      }
      res.pause();
      res.socket?.pause();
      setTimeout(readAgain, everyMs);
    });
  };
}

/**
 * A handler of a stream's chunks that calls `onLine` with each complete line that is not blank. Lines are cut
 * from the bytes (a newline byte is never part of a multi-byte UTF-8 character); a line split across chunks
 * is joined first.
 */
function splitLines(onLine: (bytes: Buffer) => void): (chunk: Buffer) => void {
  let partial: Buffer[] = [];
  return (chunk) => {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      if (newline < 0) {
        if (start < chunk.length) partial.push(chunk.subarray(start));
        return;
      }
      const tail = chunk.subarray(start, newline);
      const bytes = partial.length ? Buffer.concat([...partial, tail]) : tail;
      partial = [];
      start = newline + 1;
      if (!isBlank(bytes)) onLine(bytes);
    }
  };
}

/** A line (newline already cut) of nothing but JSON whitespace. */
function isBlank(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d) return false;
  return true;
}

/** A `Warning` header is `299 - "text"`; keep the text. */
function parseWarning(header: string): string {
  const match = /^\d{3} \S+ "(.*)"$/.exec(header);
  return match?.[1]?.replaceAll('\\"', '"') ?? header;
}

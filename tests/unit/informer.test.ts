import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { KubeApiError, type KubeObject } from "../../lib/kube/client.ts";
import { Informer, type InformerEvent } from "../../lib/kube/informer.ts";
import { resources } from "../../lib/kube/resources.ts";
import { FakeKube } from "./support/fake-kube.ts";

const cm = (name: string, data: Record<string, string> = {}): KubeObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: "ns" },
  data,
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await sleep(5);
  expect(check()).toBe(true);
}

describe("Informer", () => {
  let abort = new AbortController();
  beforeEach(() => {
    abort = new AbortController();
  });
  afterEach(() => abort.abort());

  it("lists, then follows the watch; every handler sees each change with the object it replaces", async () => {
    const kube = new FakeKube();
    kube.put(cm("a", { v: "1" }));
    const seen: [InformerEvent, string, string | undefined, string | undefined][] = [];
    const second: InformerEvent[] = [];
    const informer = new Informer<KubeObject>(
      kube.asClient(),
      resources.configMap,
      (event, object, previous) =>
        seen.push([
          event,
          object.metadata?.name as string,
          (object.data as Record<string, string>).v,
          (previous?.data as Record<string, string> | undefined)?.v,
        ]),
    );
    informer.addHandler((event) => second.push(event));
    void informer.run(abort.signal);
    await informer.synced;
    expect(seen).toEqual([["add", "a", "1", undefined]]);

    kube.put(cm("a", { v: "2" }));
    kube.put(cm("b", { v: "1" }));
    kube.remove("ns", "a");
    await until(() => seen.length === 4);
    expect(seen.slice(1)).toEqual([
      ["update", "a", "2", "1"],
      ["add", "b", "1", undefined],
      ["delete", "a", "2", undefined],
    ]);
    expect(second).toEqual(["add", "update", "add", "delete"]);
    expect(informer.list().map((o) => o.metadata?.name)).toEqual(["b"]);
  });

  it("relists when the watch expires (410) and synthesizes the deletes it missed", async () => {
    const kube = new FakeKube();
    kube.put(cm("kept", { v: "1" }));
    kube.put(cm("gone", { v: "1" }));
    const events: string[] = [];
    const informer = new Informer<KubeObject>(kube.asClient(), resources.configMap, (event, object) =>
      events.push(`${event} ${object.metadata?.name}`),
    );
    void informer.run(abort.signal);
    await informer.synced;
    events.length = 0;
    // While disconnected: one object deleted, one changed, without watch events.
    kube.removeQuietly("ns", "gone");
    kube.objects.set("ns/kept", {
      ...cm("kept", { v: "2" }),
      metadata: { name: "kept", namespace: "ns", resourceVersion: "99" },
    });
    kube.expireWatches();
    await until(() => events.length === 2);
    expect(events.sort()).toEqual(["delete gone", "update kept"]);
    expect(kube.listCalls).toBe(2);
    expect(informer.get("ns/gone")).toBeUndefined();
    expect(informer.get("ns/kept")?.data).toEqual({ v: "2" });
  });

  it("resumes an ended watch from the last version it saw, and counts resumes and relists apart", async () => {
    const kube = new FakeKube();
    kube.put(cm("a", { v: "1" }));
    const events: string[] = [];
    const informer = new Informer<KubeObject>(kube.asClient(), resources.configMap, (event, object) =>
      events.push(`${event} ${object.metadata?.name}`),
    );
    void informer.run(abort.signal);
    await informer.synced;
    expect(informer.watchCounts).toEqual({ restarts: 0, relists: 0 });

    const seen = kube.put(cm("b")).metadata?.resourceVersion as string;
    await until(() => events.length === 2);
    kube.endWatches();
    await until(() => kube.watchedFrom.length === 2);
    // Resumed where it left off: nothing listed again, nothing replayed.
    expect(kube.watchedFrom.at(-1)).toBe(seen);
    expect(kube.listCalls).toBe(1);
    kube.put(cm("c"));
    await until(() => events.length === 3);
    expect(informer.watchCounts).toEqual({ restarts: 1, relists: 0 });

    kube.expireWatches();
    await until(() => kube.listCalls === 2 && kube.watchedFrom.length === 3);
    expect(informer.watchCounts).toEqual({ restarts: 1, relists: 1 });
    expect(events).toEqual(["add a", "add b", "add c", "update a", "update b", "update c"]);
  });

  it("reports a failing list and retries it until the cache syncs", async () => {
    const kube = new FakeKube();
    kube.put(cm("a"));
    kube.failNext.set("list", new Error("connection refused"));
    const errors: unknown[] = [];
    const informer = new Informer<KubeObject>(kube.asClient(), resources.configMap, undefined, {
      onError: (error) => errors.push(error),
    });
    void informer.run(abort.signal);
    await informer.synced;
    expect(errors).toHaveLength(1);
    expect(informer.list()).toHaveLength(1);
  });

  it("tells a writer when its write is in the cache: waits for the version, and gives up after its time", async () => {
    const kube = new FakeKube();
    const informer = new Informer<KubeObject>(kube.asClient(), resources.configMap, undefined);
    void informer.run(abort.signal);
    await informer.synced;
    const next = String(Number(kube.put(cm("a")).metadata?.resourceVersion) + 1);
    const waiting = informer.reached(next, 5_000);
    let done: boolean | undefined;
    void waiting.then((reached) => {
      done = reached;
    });
    await sleep(20);
    expect(done).toBeUndefined();
    kube.put(cm("b"));
    expect(await waiting).toBe(true);
    expect(informer.get("ns/b")).toBeDefined();

    const started = Date.now();
    expect(await informer.reached("1000", 50)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(await informer.reached("not-a-revision", 10)).toBe(false);
  });

  it("keeps objects without server-side apply's field records, from the list and from the watch", async () => {
    const kube = new FakeKube();
    const owned = (name: string): KubeObject => ({
      ...cm(name),
      metadata: {
        name,
        namespace: "ns",
        managedFields: [{ manager: "govhost", fieldsV1: { "f:data": {} } }],
      },
    });
    kube.put(owned("listed"));
    const informer = new Informer<KubeObject>(kube.asClient(), resources.configMap, undefined);
    void informer.run(abort.signal);
    await informer.synced;
    kube.put(owned("watched"));
    await until(() => informer.get("ns/watched") !== undefined);
    for (const key of ["ns/listed", "ns/watched"]) {
      expect(informer.get(key)?.metadata?.managedFields).toBeUndefined();
      expect(informer.get(key)?.metadata?.name).toBe(key.slice(3));
    }
  });

  it("relists in pages of 500, and lists again from the start when a page's continue token has expired", async () => {
    const kube = new FakeKube();
    for (let i = 0; i < 1_201; i++) kube.put(cm(`c${i}`));
    const seen: string[] = [];
    const informer = new Informer<KubeObject>(kube.asClient(), resources.configMap, (event, object) => {
      seen.push(`${event} ${object.metadata?.name}`);
    });
    // The second page's token is too old: the page read before it is dropped, not half-applied.
    const list = kube.list.bind(kube);
    let calls = 0;
    kube.list = ((...args: Parameters<typeof list>) => {
      calls++;
      if (calls === 2)
        return Promise.reject(new KubeApiError(410, "Expired", "the provided continue parameter is too old"));
      return list(...args);
    }) as typeof kube.list;
    void informer.run(abort.signal);
    await informer.synced;
    expect(informer.list()).toHaveLength(1_201);
    // Each object added once: nothing of the failed attempt reached the cache or the handlers.
    expect(seen).toHaveLength(1_201);
    expect(seen.every((e) => e.startsWith("add "))).toBe(true);
    expect(new Set(seen).size).toBe(1_201);
    // A failed page, then a whole list of 3 pages.
    expect(calls).toBe(5);
  });

  it("keeps only metadata when asked: a cache that only says which object changed", async () => {
    const kube = new FakeKube();
    kube.put({
      ...cm("big", { payload: "x".repeat(10_000) }),
      metadata: { name: "big", namespace: "ns", labels: { a: "b" } },
    });
    const informer = new Informer<KubeObject>(kube.asClient(), resources.configMap, undefined, {
      metadataOnly: true,
    });
    void informer.run(abort.signal);
    await informer.synced;
    const kept = informer.get("ns/big");
    expect(Object.keys(kept ?? {}).sort()).toEqual(["apiVersion", "kind", "metadata"]);
    expect(kept?.metadata).toMatchObject({ name: "big", namespace: "ns", labels: { a: "b" } });
  });

  it("keeps what its transform makes of each object, from the list and from the watch, and hands that to handlers", async () => {
    const kube = new FakeKube();
    kube.put(cm("listed", { keep: "1", drop: "x".repeat(1000) }));
    const handled: unknown[] = [];
    const informer = new Informer<KubeObject>(
      kube.asClient(),
      resources.configMap,
      (_e, o) => handled.push(o.data),
      {
        transform: (o) => ({ ...o, data: { keep: (o.data as Record<string, string>).keep } }),
      },
    );
    void informer.run(abort.signal);
    await informer.synced;
    kube.put(cm("watched", { keep: "2", drop: "y" }));
    await until(() => informer.get("ns/watched") !== undefined);
    expect(informer.get("ns/listed")?.data).toEqual({ keep: "1" });
    expect(informer.get("ns/watched")?.data).toEqual({ keep: "2" });
    expect(handled).toEqual([{ keep: "1" }, { keep: "2" }]);
  });
});

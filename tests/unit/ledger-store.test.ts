import { pino } from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { compressedSize, type LedgerClient, storedSize } from "../../controller/metering/ledger-objects.ts";
import { LedgerStore } from "../../controller/metering/ledger-store.ts";
import { periodBounds } from "../../lib/chargeback/calendar.ts";
import { type AllocationChange, integrate, statementLines } from "../../lib/chargeback/engine.ts";
import {
  billedChanges,
  ledgerDataOf,
  ledgerKeys,
  ledgerName,
  parse,
  record,
  serialize,
  storedLedger,
} from "../../lib/chargeback/ledger.ts";
import { type LedgerMap, readLedger } from "../../lib/chargeback/ledger-read.ts";
import {
  billedShardChanges,
  LedgerCorruptError,
  parseHead,
  shardName,
} from "../../lib/chargeback/ledger-shards.ts";
import { KubeApiError, type KubeObject } from "../../lib/kube/client.ts";
import { flatPriceVersion } from "../fixtures/prices.ts";
import { FakeKube } from "./support/fake-kube.ts";

// The store's protocol against an in-memory API server with real compare-and-swap: a single-ConfigMap
// ledger is migrated without a figure changing, a crash at any write of a re-shard loses nothing and counts
// nothing twice, a writer racing a re-shard lands in the new generation, a refused (too large) write
// re-shards, and a hand-edited ledger is reported and left alone.

const department = "immd";
const namespace = "govhost-system";
const month = periodBounds("2026-11", "Asia/Hong_Kong");
const versions = [flatPriceVersion("v1", 0)];

function pods(from: number, to: number): AllocationChange[] {
  return Array.from({ length: to - from }, (_, k) => {
    const i = from + k;
    const base = {
      subject: `pod/${i}`,
      department,
      environment: i % 2 ? "prod" : "dev",
      resource: "cpu" as const,
    };
    const start = month.start + i * 61_000;
    return [
      { ...base, at: start, amount: BigInt(100 + (i % 7) * 50) },
      ...(i % 3 === 0 ? [{ ...base, at: start + 3_600_000 + i, amount: 0n }] : []),
    ];
  }).flat();
}

function statement(changes: AllocationChange[]) {
  return statementLines(integrate(changes, versions, { ...month, asOf: month.end }));
}

/** The changes a single ledger keeps of `changes` (deduplicated, ends placed as recorded). */
const recorded = (changes: AllocationChange[]) => record({ department, changes: [] }, changes).ledger.changes;

const expectedStatement = (changes: AllocationChange[]) =>
  statement(
    billedChanges(
      department,
      { [ledgerKeys.changes]: serialize(record({ department, changes: [] }, changes).ledger) },
      "consumed",
    ),
  );

function store(client: LedgerClient, shardAboveBytes = 1024) {
  const registry = new Registry();
  return {
    registry,
    store: new LedgerStore({ client, log: pino({ level: "silent" }), registry, shardAboveBytes }),
  };
}

/** What the meter does with pod changes: each shard records those of the subjects it owns. */
function recordInto(ledgers: LedgerStore, changes: AllocationChange[]) {
  return ledgers.update(department, (data, owns) => {
    const recorded = record(
      parse(department, data[ledgerKeys.changes]),
      changes.filter((c) => owns(c.subject)),
    );
    if (recorded.added === 0) return { result: undefined };
    return { result: undefined, data: { ...data, [ledgerKeys.changes]: serialize(recorded.ledger) } };
  });
}

async function union(fake: FakeKube) {
  const shards = await readLedger(fake.asClient(), department);
  return shards.flatMap((d) => parse(department, d[ledgerKeys.changes]).changes);
}

const head = (fake: FakeKube) =>
  parseHead(
    (fake.objects.get(`${namespace}/${ledgerName(department)}`) as LedgerMap | undefined)?.data?.head,
  );

/** The ledger's ConfigMaps: exactly the head and its generation's shards, nothing left behind. */
function ledgerObjects(fake: FakeKube): string[] {
  return [...fake.objects.keys()].filter((k) => k.startsWith(`${namespace}/govhost-ledger-`)).sort();
}
function expectedObjects(fake: FakeKube): string[] {
  const { generation, shards } = head(fake);
  const names = [ledgerName(department)];
  if (generation > 0) for (let i = 0; i < shards; i++) names.push(shardName(department, generation, i));
  return names.map((n) => `${namespace}/${n}`).sort();
}

function legacyLedger(fake: FakeKube, changes: AllocationChange[]) {
  const data = { [ledgerKeys.changes]: serialize(record({ department, changes: [] }, changes).ledger) };
  fake.put({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: ledgerName(department), namespace },
    ...storedLedger(data),
  } as KubeObject);
}

const writesOf = new WeakMap<LedgerClient, number>();

/** A client that dies (throws from then on) at its n-th write, before or after the write takes effect. */
function dyingClient(fake: FakeKube, n: number, when: "before" | "after"): LedgerClient {
  let writes = 0;
  const write =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      writes++;
      writesOf.set(client, writes);
      if (writes > n || (writes === n && when === "before")) throw new Error("SIGKILL");
      const result = await call(...args);
      if (writes === n) throw new Error("SIGKILL");
      return result;
    };
  const client = {
    find: fake.find.bind(fake),
    create: write(fake.create.bind(fake)),
    replace: write(fake.replace.bind(fake)),
    delete: write(fake.delete.bind(fake)),
  } as LedgerClient;
  return client;
}

describe("the sharded ledger store", () => {
  it("reads a single-ConfigMap ledger as it is and spreads it over shards with no figure changing", async () => {
    const fake = new FakeKube();
    const changes = pods(0, 400);
    legacyLedger(fake, changes);
    expect(
      statement(billedShardChanges(department, await readLedger(fake.asClient(), department), "consumed")),
    ).toEqual(expectedStatement(changes));
    const { store: ledgers, registry } = store(fake.asClient());
    await recordInto(ledgers, pods(400, 410));
    expect(head(fake).generation).toBe(1);
    expect(head(fake).shards).toBeGreaterThan(1);
    expect(ledgerObjects(fake)).toEqual(expectedObjects(fake));
    const after = await union(fake);
    expect(after).toHaveLength(record({ department, changes: [] }, pods(0, 410)).ledger.changes.length);
    expect(
      statement(billedShardChanges(department, await readLedger(fake.asClient(), department), "consumed")),
    ).toEqual(expectedStatement(pods(0, 410)));
    const shards = (await registry.getSingleMetric("govhost_metering_ledger_shards")?.get())?.values;
    expect(shards?.[0]?.value).toBeGreaterThan(0);
  });

  it("keeps re-sharding as it grows; each shard stays near the threshold and old generations are deleted", async () => {
    const fake = new FakeKube();
    const { store: ledgers, registry } = store(fake.asClient(), 2048);
    for (let batch = 0; batch < 8; batch++) await recordInto(ledgers, pods(batch * 150, (batch + 1) * 150));
    expect(head(fake).generation).toBeGreaterThan(1);
    expect(ledgerObjects(fake)).toEqual(expectedObjects(fake));
    const shards = expectedObjects(fake)
      .slice(1)
      .map((k) => fake.objects.get(k) as LedgerMap);
    expect(Math.max(...shards.map((m) => compressedSize(m)))).toBeLessThanOrEqual(2048);
    // The gauge is the largest shard as stored, as last read or written (a flush with nothing new reads all).
    await recordInto(ledgers, []);
    const largest = (await registry.getSingleMetric("govhost_metering_ledger_bytes")?.get())?.values[0]
      ?.value;
    expect(largest).toBe(Math.max(...shards.map((m) => storedSize(m))));
    expect(
      statement(billedShardChanges(department, await readLedger(fake.asClient(), department), "consumed")),
    ).toEqual(expectedStatement(pods(0, 1200)));
  });

  for (const when of ["before", "after"] as const) {
    it(`loses nothing and counts nothing twice when killed ${when} any write of a re-shard`, async () => {
      // Count the writes of one undisturbed run (gen 1 -> gen 2), then kill a run at each of them. The
      // second batch is large enough to outgrow generation 1's shards at the 2 KiB threshold.
      const last = 800;
      const setup = async () => {
        const fake = new FakeKube();
        await recordInto(store(fake.asClient(), 2048).store, pods(0, 300));
        expect(head(fake).generation).toBe(1);
        return fake;
      };
      const probe = await setup();
      const counting = dyingClient(probe, Number.POSITIVE_INFINITY, when);
      await recordInto(store(counting, 2048).store, pods(200, last));
      expect(head(probe).generation).toBeGreaterThan(1);
      const writes = writesOf.get(counting) ?? 0;
      expect(writes).toBeGreaterThan(5);
      let killedMidReshard = 0;
      for (let n = 1; n <= writes; n++) {
        const fake = await setup();
        await expect(
          recordInto(store(dyingClient(fake, n, when), 2048).store, pods(200, last)),
        ).rejects.toThrow("SIGKILL");
        const h = head(fake);
        if (h.next || h.retired) killedMidReshard++;
        // Readers meanwhile follow the head: everything recorded before is there, once, nothing invented.
        const keyOf = (c: AllocationChange) => `${c.subject}|${c.resource}|${c.at}`;
        const seen = (await union(fake)).map(keyOf);
        expect(new Set(seen).size).toBe(seen.length);
        expect(seen).toEqual(expect.arrayContaining(recorded(pods(0, 300)).map(keyOf)));
        expect(recorded(pods(0, last)).map(keyOf)).toEqual(expect.arrayContaining(seen));
        // A new controller records the same events again (the killed one never acknowledged them).
        await recordInto(store(fake.asClient(), 2048).store, pods(200, last));
        const h2 = head(fake);
        expect(h2.next ?? h2.retired).toBeUndefined();
        expect(ledgerObjects(fake)).toEqual(expectedObjects(fake));
        const changes = await union(fake);
        const keys = changes.map((c) => `${c.subject}|${c.resource}|${c.at}`);
        expect(new Set(keys).size).toBe(keys.length);
        expect(
          statement(
            billedShardChanges(department, await readLedger(fake.asClient(), department), "consumed"),
          ),
        ).toEqual(expectedStatement(pods(0, last)));
      }
      // The kills did land inside the re-shard, not only around it.
      expect(killedMidReshard).toBeGreaterThan(2);
    });
  }

  it("lands a writer that read a shard before it was sealed in the new generation", async () => {
    const fake = new FakeKube();
    await recordInto(store(fake.asClient(), 4096).store, pods(0, 200));
    const generation = head(fake).generation;
    const other = store(fake.asClient(), 512).store;
    let raced = false;
    const racing: LedgerClient = {
      find: fake.find.bind(fake),
      create: fake.create.bind(fake),
      delete: fake.delete.bind(fake),
      replace: async (object: KubeObject, options?: { metadataOnly?: boolean }) => {
        if (!raced) {
          // Between this writer's read and its compare-and-swap, another replica re-shards the ledger.
          raced = true;
          await recordInto(other, pods(200, 260));
          expect(head(fake).generation).toBeGreaterThan(generation);
        }
        return fake.replace(object, options);
      },
    } as LedgerClient;
    await recordInto(store(racing, 1_000_000).store, pods(260, 300));
    expect(raced).toBe(true);
    expect(
      statement(billedShardChanges(department, await readLedger(fake.asClient(), department), "consumed")),
    ).toEqual(expectedStatement(pods(0, 300)));
  });

  it("reads a shard again once another writer changed it, and takes its own last write from memory", async () => {
    const fake = new FakeKube();
    const one = store(fake.asClient(), 1_000_000).store;
    const two = store(fake.asClient(), 1_000_000).store;
    await recordInto(one, pods(0, 100));
    await recordInto(two, pods(100, 200));
    await recordInto(one, pods(200, 300));
    expect(
      statement(billedShardChanges(department, await readLedger(fake.asClient(), department), "consumed")),
    ).toEqual(expectedStatement(pods(0, 300)));
    // The stored copy is damaged behind the API server's back (its resourceVersion unchanged): the store
    // that wrote it does not decompress it again, a store that did not refuses it.
    const key = `${namespace}/${ledgerName(department)}`;
    const stored = fake.objects.get(key) as LedgerMap;
    expect(Object.keys(stored.binaryData ?? {})).toContain(`${ledgerKeys.changes}.gz`);
    fake.objects.set(key, { ...stored, binaryData: { [`${ledgerKeys.changes}.gz`]: "bm90IGd6aXA=" } });
    await expect(recordInto(two, pods(300, 310))).rejects.toThrow(LedgerCorruptError);
    await recordInto(one, pods(300, 310));
    expect(
      statement(billedShardChanges(department, await readLedger(fake.asClient(), department), "consumed")),
    ).toEqual(expectedStatement(pods(0, 310)));
  });

  it("re-shards when the API server refuses a shard for its size, and then records the changes", async () => {
    const fake = new FakeKube();
    const limit = 3000;
    const refusing = (call: (o: LedgerMap) => Promise<unknown>) => async (object: LedgerMap) => {
      if (storedSize(object) > limit)
        throw new KubeApiError(422, "Invalid", "ConfigMap is too long: must have at most 3000 bytes");
      return call(object);
    };
    const client = {
      find: fake.find.bind(fake),
      delete: fake.delete.bind(fake),
      create: refusing(fake.create.bind(fake)),
      replace: refusing(fake.replace.bind(fake)),
    } as LedgerClient;
    // The threshold is above the API server's limit (a misconfiguration): the refusal itself re-shards.
    const ledgers = store(client, 900 * 1024).store;
    for (let batch = 0; batch < 4; batch++) await recordInto(ledgers, pods(batch * 100, (batch + 1) * 100));
    expect(head(fake).shards).toBeGreaterThan(1);
    expect(
      statement(billedShardChanges(department, await readLedger(fake.asClient(), department), "consumed")),
    ).toEqual(expectedStatement(pods(0, 400)));
  });
});

describe("a hand-edited ledger", () => {
  async function sharded() {
    const fake = new FakeKube();
    await recordInto(store(fake.asClient(), 2048).store, pods(0, 300));
    expect(head(fake).generation).toBe(1);
    return fake;
  }

  function edit(fake: FakeKube, name: string, change: (map: LedgerMap) => LedgerMap | undefined) {
    const current = fake.objects.get(`${namespace}/${name}`) as LedgerMap;
    const edited = change(structuredClone(current));
    if (edited) fake.put(edited);
    else fake.remove(namespace, name);
  }

  const edits: [string, (fake: FakeKube) => void][] = [
    [
      "a head that is not JSON",
      (f) => edit(f, ledgerName(department), (m) => ({ ...m, data: { head: "{oops" } })),
    ],
    [
      "a head pointing at a generation that does not exist",
      (f) =>
        edit(f, ledgerName(department), (m) => ({ ...m, data: { head: '{"generation":7,"shards":2}' } })),
    ],
    [
      "a head that also holds changes no reader follows",
      (f) => edit(f, ledgerName(department), (m) => ({ ...m, data: { ...m.data, changes: "[]" } })),
    ],
    ["a deleted shard", (f) => edit(f, shardName(department, 1, 0), () => undefined)],
    [
      "a shard's marker naming another shard",
      (f) =>
        edit(f, shardName(department, 1, 0), (m) => ({
          ...m,
          data: { ...m.data, shard: m.data?.shard?.replace('"index":0', '"index":1') ?? "" },
        })),
    ],
    [
      "a shard sealed with no re-shard under way",
      (f) =>
        edit(f, shardName(department, 1, 0), (m) => ({
          ...m,
          data: { ...m.data, shard: m.data?.shard?.replace("}", ',"sealed":true}') ?? "" },
        })),
    ],
    [
      "a shard whose changes were truncated",
      (f) =>
        edit(f, shardName(department, 1, 1), (m) => ({ ...m, data: { ...m.data, changes: '[[1,"pod/' } })),
    ],
    [
      "a change moved into another shard",
      (f) =>
        edit(f, shardName(department, 1, 0), (m) => {
          const other = fake1(f);
          return {
            ...m,
            data: { ...m.data, changes: serialize({ department, changes: other }) },
            binaryData: {},
          };
        }),
    ],
  ];

  /** Changes of shard 1, to smuggle into shard 0. */
  function fake1(f: FakeKube): AllocationChange[] {
    const map = f.objects.get(`${namespace}/${shardName(department, 1, 1)}`) as LedgerMap;
    return parse(department, ledgerDataOf(map)[ledgerKeys.changes]).changes.slice(0, 3);
  }

  for (const [what, apply] of edits) {
    it(`reports ${what}, writes nothing and keeps the changes for a retry`, async () => {
      const fake = await sharded();
      apply(fake);
      const before = structuredClone([...fake.objects.entries()]);
      const { store: ledgers, registry } = store(fake.asClient(), 2048);
      await expect(recordInto(ledgers, pods(300, 320))).rejects.toThrow(LedgerCorruptError);
      expect([...fake.objects.entries()]).toEqual(before);
      const unreadable = (await registry.getSingleMetric("govhost_metering_ledger_unreadable")?.get())
        ?.values;
      expect(unreadable).toEqual([expect.objectContaining({ labels: { department }, value: 1 })]);
      // Readers refuse it too, except a stray seal: the shard's content is intact, only writers must stop.
      if (!what.includes("sealed"))
        await expect(readLedger(fake.asClient(), department)).rejects.toThrow(LedgerCorruptError);
    });
  }
});

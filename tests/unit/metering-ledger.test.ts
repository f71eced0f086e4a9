import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  billable,
  effectiveRequest,
  instanceAllocationChanges,
  lifetimeAllocationChanges,
  type PodLike,
  podAllocationChanges,
  pvcAllocationChanges,
  reservedChanges,
  resizeChanges,
} from "../../lib/chargeback/allocations.ts";
import { periodBounds } from "../../lib/chargeback/calendar.ts";
import {
  type AllocationChange,
  integrate,
  type PriceVersion,
  statementLines,
} from "../../lib/chargeback/engine.ts";
import {
  compact,
  type Ledger,
  latestAmounts,
  openAllocations,
  parse,
  record,
  serialize,
} from "../../lib/chargeback/ledger.ts";
import { flatPriceVersion } from "../fixtures/prices.ts";

const owner = { department: "immd", environment: "prod" };
const start = "2026-11-10T01:00:00Z";
const end = "2026-11-10T02:30:00Z";

function pod(extra: Record<string, unknown> = {}): PodLike {
  return {
    metadata: { uid: "u-1", namespace: "immd-prod" },
    spec: {
      containers: [
        { resources: { requests: { cpu: "500m", memory: "256Mi" } } },
        { resources: { requests: { cpu: "250m" } } },
      ],
      initContainers: [{ resources: { requests: { cpu: "1", memory: "64Mi" } } }],
    },
    status: { phase: "Running", startTime: start },
    ...extra,
  };
}

describe("allocation changes from objects", () => {
  it("use the effective request: max(sum of containers, largest init container)", () => {
    expect(effectiveRequest(pod(), "cpu")).toBe(1000n);
    expect(effectiveRequest(pod(), "memory")).toBe(256n * 2n ** 20n * 1000n);
  });

  it("start at status.startTime and end at the last container finish", () => {
    expect(podAllocationChanges(pod(), owner)).toEqual([
      { subject: "pod/u-1", ...owner, at: Date.parse(start), resource: "cpu", amount: 1000n },
      { subject: "pod/u-1", ...owner, at: Date.parse(start), resource: "memory", amount: 256n * 2n ** 20n },
    ]);
    const finished = pod({
      status: {
        phase: "Succeeded",
        startTime: start,
        containerStatuses: [{ state: { terminated: { finishedAt: end } } }],
      },
    });
    expect(
      podAllocationChanges(finished, owner)
        .filter((c) => c.amount === 0n)
        .map((c) => c.at),
    ).toEqual([Date.parse(end), Date.parse(end)]);
  });

  it("are nothing for a pod the kubelet has not started", () => {
    expect(podAllocationChanges(pod({ status: { phase: "Pending" } }), owner)).toEqual([]);
  });

  it("bill bound volume claims by capacity from creation to deletion", () => {
    const pvc = {
      metadata: { uid: "v-1", creationTimestamp: start, deletionTimestamp: end },
      status: { phase: "Bound", capacity: { storage: "20Gi" } },
    };
    expect(pvcAllocationChanges(pvc, owner).map((c) => [c.at, c.amount])).toEqual([
      [Date.parse(start), 20n * 2n ** 30n],
      [Date.parse(end), 0n],
    ]);
  });
});

describe("resizes", () => {
  it("count from when they are observed, only for allocations already recorded", () => {
    const [cpu, memory] = podAllocationChanges(pod(), owner);
    if (!cpu || !memory) throw new Error("no changes");
    const recorded = (_subject: string, resource: string) => (resource === "cpu" ? 500n : undefined);
    expect(resizeChanges([cpu, memory], recorded, 42)).toEqual([{ ...cpu, at: 42 }]);
    expect(resizeChanges([cpu], () => cpu.amount, 42)).toEqual([]);
  });
});

describe("public endpoints and e-services", () => {
  it("count one e-service from an EService's creation, open until it is deleted", () => {
    const es = { metadata: { uid: "e-1", name: "visa-status", creationTimestamp: start } };
    expect(lifetimeAllocationChanges(es, "eservice", owner)).toEqual([
      {
        subject: "eservice/e-1",
        ...owner,
        eservice: "visa-status",
        resource: "eservice",
        at: Date.parse(start),
        amount: 1n,
      },
    ]);
  });

  it("attribute an e-service's pods, volumes and Ingress to it by the platform-owned label", () => {
    const labels = { "govhost.io/eservice": "visa-status" };
    const servingPod = pod({ metadata: { uid: "u-2", namespace: "immd-prod", labels } });
    expect(new Set(podAllocationChanges(servingPod, owner).map((c) => c.eservice))).toEqual(
      new Set(["visa-status"]),
    );
    const claim = {
      metadata: { uid: "v-2", creationTimestamp: start, labels },
      status: { phase: "Bound", capacity: { storage: "1Gi" } },
    };
    expect(pvcAllocationChanges(claim, owner)[0]?.eservice).toBe("visa-status");
    const ingress = { metadata: { uid: "i-2", name: "visa-status", creationTimestamp: start, labels } };
    expect(lifetimeAllocationChanges(ingress, "ingress", owner)[0]?.eservice).toBe("visa-status");
    // Without the label, a pod is the environment's, not an e-service's.
    expect(podAllocationChanges(pod(), owner)[0]).not.toHaveProperty("eservice");
  });

  it("count one endpoint from an Ingress's creation to its deletion", () => {
    const ingress = { metadata: { uid: "i-1", creationTimestamp: start, deletionTimestamp: end } };
    expect(
      lifetimeAllocationChanges(ingress, "ingress", owner).map((c) => [c.resource, c.at, c.amount]),
    ).toEqual([
      ["public-endpoint", Date.parse(start), 1n],
      ["public-endpoint", Date.parse(end), 0n],
    ]);
  });
});

describe("ledger", () => {
  const empty: Ledger = { department: "immd", changes: [] };
  const changes = podAllocationChanges(pod(), owner);

  it("records each change once, however often it is observed", () => {
    const first = record(empty, changes);
    expect(first.added).toBe(2);
    const again = record(first.ledger, changes);
    expect(again.added).toBe(0);
    expect(again.ledger.changes).toHaveLength(2);
  });

  it("never re-prices the past: a second amount for a recorded instant is ignored", () => {
    const { ledger } = record(empty, changes);
    const resized = changes.map((c) => ({ ...c, amount: c.amount * 2n }));
    expect(record(ledger, resized)).toEqual({ ledger, added: 0, addedChanges: [] });
  });

  it("never lets an end recorded before a later change leave that change open", () => {
    const [start] = changes;
    if (!start) throw new Error("no change");
    const resized = { ...start, at: start.at + 5_700, amount: start.amount * 2n };
    const { ledger } = record(empty, [start, resized]);
    const end = { ...start, at: start.at + 5_000, amount: 0n };
    const { ledger: ended } = record(ledger, [end]);
    expect(
      ended.changes.filter((c) => c.resource === start.resource).map((c) => [c.at - start.at, c.amount]),
    ).toEqual([
      [0, start.amount],
      [5_700, start.amount * 2n],
      [5_701, 0n],
    ]);
  });

  it("round-trips through its stored form exactly", () => {
    const { ledger } = record(empty, [
      ...changes,
      { ...changes[0], eservice: "visa-apply", subject: "pod/u-2" } as (typeof changes)[0],
    ]);
    expect(parse("immd", serialize(ledger))).toEqual(ledger);
  });
});

describe("reserved mode", () => {
  const dept = {
    metadata: { name: "immd", uid: "d-1", creationTimestamp: start },
    spec: { quota: { cpu: "8", memory: "16Gi", storage: "100Gi" } },
  };
  const none = () => undefined;

  it("starts the quota at the department's creation and records later changes when observed", () => {
    const first = reservedChanges(dept, none, 5);
    expect(first.map((c) => [c.resource, c.at, c.amount])).toEqual([
      ["cpu", Date.parse(start), 8000n],
      ["memory", Date.parse(start), 16n * 2n ** 30n],
      ["storage", Date.parse(start), 100n * 2n ** 30n],
    ]);
    const latest = (_s: string, r: string) =>
      ({ cpu: 8000n, memory: 16n * 2n ** 30n, storage: 100n * 2n ** 30n })[r];
    expect(reservedChanges(dept, latest, 99)).toEqual([]);
    const grown = { ...dept, spec: { quota: { ...dept.spec.quota, cpu: "12" } } };
    expect(reservedChanges(grown, latest, 99).map((c) => [c.resource, c.at, c.amount])).toEqual([
      ["cpu", 99, 12000n],
    ]);
  });

  it("bills the quota in reserved mode and pods and volumes otherwise", () => {
    const pods = podAllocationChanges(pod(), owner);
    const quota = reservedChanges(dept, none, 5);
    expect(billable([...pods, ...quota], "reserved")).toEqual(quota);
    expect(billable([...pods, ...quota], "consumed")).toEqual(pods);
  });
});

/** One price version in force since the epoch, for tests about quantities rather than price changes. */
const versions: PriceVersion[] = [flatPriceVersion("v", 0)];

describe("ledger compaction", () => {
  const tz = "Asia/Hong_Kong";
  const months = ["2026-09", "2026-10", "2026-11"].map((p) => periodBounds(p, tz));
  const [sep, oct, nov] = months as [(typeof months)[0], (typeof months)[0], (typeof months)[0]];
  const day = 86_400_000;
  // Short-lived pods every day since September, a volume that was resized twice, a pod still running.
  const changes: AllocationChange[] = [];
  for (let at = sep.start; at < nov.start + 20 * day; at += day) {
    changes.push({ at, subject: `pod/${at}`, ...owner, resource: "cpu", amount: 250n });
    changes.push({ at: at + 3_600_000, subject: `pod/${at}`, ...owner, resource: "cpu", amount: 0n });
  }
  const gib = 2n ** 30n;
  changes.push({
    at: sep.start + 5 * day,
    subject: "pvc/a",
    ...owner,
    resource: "storage",
    amount: 5n * gib,
  });
  changes.push({
    at: sep.start + 40 * day,
    subject: "pvc/a",
    ...owner,
    resource: "storage",
    amount: 8n * gib,
  });
  changes.push({
    at: nov.start + 2 * day,
    subject: "pvc/a",
    ...owner,
    resource: "storage",
    amount: 10n * gib,
  });
  changes.push({
    at: sep.start + 12 * day,
    subject: "pod/long",
    ...owner,
    resource: "memory",
    amount: 512n * 2n ** 20n,
  });
  const ledger: Ledger = { department: "immd", changes: changes.sort((a, b) => a.at - b.at) };

  it("keeps every month from the cutoff exact while dropping what ended before it", () => {
    const compacted = compact(ledger, oct.start);
    for (const month of [oct, nov]) {
      expect(statementLines(integrate(compacted.changes, versions, month), versions)).toEqual(
        statementLines(integrate(ledger.changes, versions, month), versions),
      );
    }
    expect(compacted.changes.length).toBeLessThan(ledger.changes.length * 0.7);
    expect(compacted.changes.filter((c) => c.at < oct.start)).toEqual([]);
    // Open allocations carry their amount at the cutoff; September's pods are gone.
    expect(compacted.changes.filter((c) => c.at === oct.start).map((c) => [c.subject, c.amount])).toEqual(
      expect.arrayContaining([
        ["pvc/a", 5n * gib],
        ["pod/long", 512n * 2n ** 20n],
        [`pod/${oct.start}`, 250n],
      ]),
    );
    // Compacting again changes nothing; recording an old start again adds one row, and still prices the same.
    expect(compact(compacted, oct.start)).toEqual(compacted);
    const again = record(compacted, [
      {
        at: sep.start + 12 * day,
        subject: "pod/long",
        ...owner,
        resource: "memory",
        amount: 512n * 2n ** 20n,
      },
    ]);
    expect(again.added).toBe(1);
    expect(statementLines(integrate(again.ledger.changes, versions, nov), versions)).toEqual(
      statementLines(integrate(ledger.changes, versions, nov), versions),
    );
  });
});

describe("shared-service plan fees", () => {
  const tz = "Asia/Hong_Kong";
  const nov = periodBounds("2026-11", tz);
  const day = 86_400_000;
  const at = (d: number) => new Date(nov.start + d * day).toISOString();

  it("bills each plan pro rata at the fee recorded when it took effect, until the instance is deleted", () => {
    const instance = {
      metadata: { uid: "i-1", name: "wiki", deletionTimestamp: at(25) },
      spec: { service: "collaboration-workspace" },
      status: {
        planHistory: [
          { plan: "team", since: at(9), priceMinorPerMonth: 150_000 },
          { plan: "division", since: at(19), priceMinorPerMonth: 900_000 },
        ],
      },
    };
    const changes = instanceAllocationChanges(instance, owner);
    expect(changes.map((c) => [c.item ?? "", c.amount])).toEqual([
      ["collaboration-workspace/team/wiki", 1n],
      ["collaboration-workspace/division/wiki", 1n],
      ["", 0n],
    ]);
    // The ledger keeps the plan and its fee.
    expect(parse("immd", serialize({ department: "immd", changes })).changes).toEqual(changes);
    const { lines, totalMinor } = statementLines(integrate(changes, versions, nov), versions);
    // November has 30 days: 10 days of team, 6 days of division.
    expect(lines.map((l) => [l.item, l.unit, l.quantity, l.unitPriceMinor, l.amountMinor])).toEqual([
      ["collaboration-workspace/division/wiki", "plan-month", "0.2", "900000", 180_000],
      ["collaboration-workspace/team/wiki", "plan-month", "0.333333", "150000", 50_000],
    ]);
    expect(totalMinor).toBe(230_000);
  });
});

describe("ends recorded after a resize", () => {
  const held = (at: number, amount: bigint): AllocationChange => ({
    subject: "pod/u-9",
    department: "immd",
    environment: "prod",
    resource: "cpu",
    at,
    amount,
  });
  const other = { ...held(5_000, 0n), subject: "pod/u-8" };

  it("moves an end stamped before the series' last held instant to 1 ms after it, in the ledger or the same batch", () => {
    // Deletion timestamps have whole seconds; the resize was seen at 2,500 ms, the deletion says 2,000 ms.
    const ledger: Ledger = { department: "immd", changes: [held(1_000, 500n), held(2_500, 750n)] };
    expect(record(ledger, [held(2_000, 0n)]).ledger.changes.at(-1)).toEqual(held(2_501, 0n));
    const batch = record({ department: "immd", changes: [held(1_000, 500n)] }, [
      held(2_500, 750n),
      held(2_000, 0n),
    ]);
    expect(batch.ledger.changes.map((c) => [c.at, c.amount])).toEqual([
      [1_000, 500n],
      [2_500, 750n],
      [2_501, 0n],
    ]);
  });

  it("leaves an end after every held instant, and another series' changes do not move it", () => {
    const ledger: Ledger = {
      department: "immd",
      changes: [held(1_000, 500n), { ...held(9_000, 100n), subject: "pod/u-8" }],
    };
    const { ledger: next, added } = record(ledger, [held(3_000, 0n), other]);
    expect(added).toBe(2);
    expect(next.changes.filter((c) => c.subject === "pod/u-9").map((c) => c.at)).toEqual([1_000, 3_000]);
    expect(next.changes.find((c) => c.subject === "pod/u-8" && c.amount === 0n)?.at).toBe(9_001);
    // Recording the same end again adds nothing (a restart derives it again).
    expect(record(next, [held(3_000, 0n)]).added).toBe(0);
  });
});

describe("a ledger recorded into batch after batch", () => {
  it("keeps its changes, latest amounts and open allocations as a ledger recorded at once would", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.array(
            fc.record({
              subject: fc.constantFrom("pod/a", "pod/b", "pod/c", "pvc/d"),
              resource: fc.constantFrom("cpu" as const, "memory" as const),
              at: fc.integer({ min: 0, max: 40 }),
              amount: fc.constantFrom(0n, 100n, 250n),
            }),
            { maxLength: 8 },
          ),
          { maxLength: 12 },
        ),
        (batches) => {
          const at = <T extends { at: number }>(c: T): T => ({ ...c, at: 1_000_000 + c.at * 1000 });
          let ledger: Ledger = { department: "immd", changes: [] };
          for (const batch of batches) {
            const changes = batch.map((c) => ({ ...at(c), department: "immd", environment: "prod" }));
            // Asked before each record, as the meter does.
            const latest = latestAmounts(ledger);
            const open = openAllocations(ledger);
            const brute = new Map<string, AllocationChange>();
            for (const c of ledger.changes) {
              const previous = brute.get(`${c.subject}|${c.resource}`);
              if (!previous || c.at >= previous.at) brute.set(`${c.subject}|${c.resource}`, c);
            }
            for (const [series, c] of brute) {
              const [subject, resource] = series.split("|") as [string, "cpu" | "memory"];
              expect(latest(subject, resource)).toBe(c.amount);
            }
            expect(latest("pod/none", "cpu")).toBeUndefined();
            expect(new Set(open)).toEqual(new Set([...brute.values()].filter((c) => c.amount > 0n)));
            ledger = record(ledger, changes).ledger;
          }
          // The same as recording everything at once into a fresh ledger, then reading it back from text.
          const all = batches.flat().map((c) => ({ ...at(c), department: "immd", environment: "prod" }));
          const atOnce = record({ department: "immd", changes: [] }, all).ledger;
          expect(new Set(ledger.changes.map((c) => `${c.subject}|${c.resource}|${c.at}`))).toEqual(
            new Set(atOnce.changes.map((c) => `${c.subject}|${c.resource}|${c.at}`)),
          );
          expect(ledger.changes.map((c) => c.at)).toEqual(
            [...ledger.changes.map((c) => c.at)].sort((a, b) => a - b),
          );
          expect(parse("immd", serialize(ledger)).changes).toEqual(ledger.changes);
        },
      ),
      { numRuns: 300 },
    );
  });
});

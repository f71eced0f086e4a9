import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { LeaderElector } from "../../controller/runtime/leader.ts";
import { KubeApiError } from "../../lib/kube/client.ts";
import { FakeKube } from "./support/fake-kube.ts";

const lease = { namespace: "govhost-system", name: "govhost-controller" };
const fast = { leaseDurationSeconds: 1, retryPeriodMs: 50 };

describe("LeaderElector", () => {
  const aborts: AbortController[] = [];
  const signal = () => {
    const abort = new AbortController();
    aborts.push(abort);
    return abort.signal;
  };
  afterEach(() => {
    for (const abort of aborts.splice(0)) abort.abort();
  });

  it("one replica leads; a standby takes over only after the lease has not changed for its duration", async () => {
    const kube = new FakeKube();
    const a = new LeaderElector(kube.asClient(), { ...lease, identity: "a", ...fast });
    const b = new LeaderElector(kube.asClient(), { ...lease, identity: "b", ...fast });
    const aSignal = new AbortController();
    await a.acquire(aSignal.signal, () => {});
    expect(a.isLeader).toBe(true);
    expect(a.previousLeaderLastRenewal).toBeUndefined();

    let bLeads = false;
    const bAcquired = b
      .acquire(signal(), () => {})
      .then(() => {
        bLeads = true;
      });
    // While a renews, b waits however long it tries.
    await sleep(1_500);
    expect(bLeads).toBe(false);

    // a stops renewing (a crash: no release); b takes over one lease duration later.
    aSignal.abort();
    const stoppedAt = Date.now();
    await bAcquired;
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(900);
    const record = kube.objects.get("govhost-system/govhost-controller")?.spec as Record<string, unknown>;
    expect(record.holderIdentity).toBe("b");
    expect(record.leaseTransitions).toBe(1);
    // The instant a last renewed: until then a leader was watching (metering closes vanished objects there).
    expect(b.previousLeaderLastRenewal).toBeGreaterThan(stoppedAt - 200);
    expect(b.previousLeaderLastRenewal).toBeLessThanOrEqual(stoppedAt);
  });

  it("holds the lease (may write) only within its renew deadline: a replica that stopped renewing stops writing before anyone may take over", async () => {
    const kube = new FakeKube();
    const a = new LeaderElector(kube.asClient(), { ...lease, identity: "a", ...fast });
    expect(a.holdsLease).toBe(false); // not leading yet
    const aSignal = new AbortController();
    await a.acquire(aSignal.signal, () => {});
    expect(a.holdsLease).toBe(true);
    // The renew loop stops (as in a frozen process): within two thirds of the 1 s lease it may no longer
    // write, although nobody has told it and it still thinks it leads.
    aSignal.abort();
    await sleep(700);
    expect(a.isLeader).toBe(true);
    expect(a.holdsLease).toBe(false);
  });

  it("a released lease is taken over at once", async () => {
    const kube = new FakeKube();
    const a = new LeaderElector(kube.asClient(), {
      ...lease,
      identity: "a",
      leaseDurationSeconds: 15,
      retryPeriodMs: 50,
    });
    const b = new LeaderElector(kube.asClient(), {
      ...lease,
      identity: "b",
      leaseDurationSeconds: 15,
      retryPeriodMs: 50,
    });
    const aSignal = new AbortController();
    await a.acquire(aSignal.signal, () => {});
    const bAcquired = b.acquire(signal(), () => {});
    await sleep(200);
    aSignal.abort();
    await a.release();
    const releasedAt = Date.now();
    await bAcquired;
    // Far less than the 15 s lease: the released lease lasts 1 s as b observes it.
    expect(Date.now() - releasedAt).toBeLessThan(3_000);
    expect(b.isLeader).toBe(true);
  });

  it("calls onLost when renewals fail for most of a lease duration", async () => {
    const kube = new FakeKube();
    const a = new LeaderElector(kube.asClient(), { ...lease, identity: "a", ...fast });
    let lostAt = 0;
    await a.acquire(signal(), () => {
      lostAt = Date.now();
    });
    const failingFrom = Date.now();
    // The API server refuses every call from now on.
    const refuse = () => kube.failNext.set("find", new KubeApiError(503, "ServiceUnavailable", "etcd down"));
    const refusing = setInterval(refuse, 10);
    refuse();
    while (!lostAt && Date.now() - failingFrom < 3_000) await sleep(20);
    clearInterval(refusing);
    expect(lostAt).toBeGreaterThan(0);
    expect(a.isLeader).toBe(false);
    // 0.66 of the 1 s lease, checked each 50 ms retry.
    expect(lostAt - failingFrom).toBeGreaterThanOrEqual(600);
  });

  it("logs each failed renewal and hands the last failure to onLost as its cause", async () => {
    const kube = new FakeKube();
    const lines: string[] = [];
    const log = pino({ level: "warn" }, { write: (line: string) => lines.push(line) });
    const a = new LeaderElector(kube.asClient(), { ...lease, identity: "a", ...fast, log });
    let cause: unknown;
    await a.acquire(signal(), (c) => {
      cause = c;
    });
    const refuse = () => kube.failNext.set("find", new KubeApiError(503, "ServiceUnavailable", "etcd down"));
    const refusing = setInterval(refuse, 10);
    refuse();
    const from = Date.now();
    while (!cause && Date.now() - from < 3_000) await sleep(20);
    clearInterval(refusing);
    expect(cause).toBeInstanceOf(KubeApiError);
    expect((cause as KubeApiError).code).toBe(503);
    const records = lines.map((line) => JSON.parse(line) as { level: number; msg: string; lease: string });
    const warnings = records.filter((r) => r.msg === "lease renew failed; trying again");
    expect(warnings.length).toBeGreaterThanOrEqual(5);
    expect(warnings[0]?.lease).toBe("govhost-system/govhost-controller");
    expect(lines.find((l) => l.includes("lease renew failed"))).toContain("etcd down");
    expect(records.at(-1)?.msg).toBe("lease lost: not renewed within two thirds of its duration");
  });

  it("keeps trying to acquire through API errors instead of giving up, logging each", async () => {
    const kube = new FakeKube();
    const lines: string[] = [];
    const log = pino({ level: "warn" }, { write: (line: string) => lines.push(line) });
    const a = new LeaderElector(kube.asClient(), { ...lease, identity: "a", ...fast, log });
    kube.failNext.set("find", new KubeApiError(500, "InternalError", "apiserver restarting"));
    await a.acquire(signal(), () => {});
    expect(a.isLeader).toBe(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("lease acquire failed; trying again");
    expect(lines[0]).toContain("apiserver restarting");
  });

  it("logs a failed release instead of throwing (a standby then waits for the lease to expire)", async () => {
    const kube = new FakeKube();
    const lines: string[] = [];
    const log = pino({ level: "warn" }, { write: (line: string) => lines.push(line) });
    const a = new LeaderElector(kube.asClient(), { ...lease, identity: "a", ...fast, log });
    await a.acquire(signal(), () => {});
    kube.failNext.set("replace", new KubeApiError(503, "ServiceUnavailable", "etcd down"));
    await expect(a.release()).resolves.toBeUndefined();
    expect(a.isLeader).toBe(false);
    expect(lines.join("")).toContain("lease release failed");
  });

  it("two replicas racing for a new lease: exactly one wins (optimistic concurrency)", async () => {
    const kube = new FakeKube();
    const electors = ["a", "b", "c"].map(
      (identity) => new LeaderElector(kube.asClient(), { ...lease, identity, ...fast }),
    );
    const winners: string[] = [];
    for (const [i, elector] of electors.entries())
      void elector.acquire(signal(), () => {}).then(() => winners.push(String(i)));
    await sleep(400);
    expect(winners).toHaveLength(1);
    expect(electors.filter((e) => e.isLeader)).toHaveLength(1);
  });
});

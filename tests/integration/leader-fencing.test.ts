import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controllerLeaseName } from "../../controller/api/rbac.ts";
import { KubeClient, type KubeObject } from "../../lib/kube/client.ts";
import { type AuditEvent, auditedWrites, replicaOf } from "../../tools/cluster/api-audit.ts";
import {
  apiAuditLogOf,
  type ControlPlaneState,
  startControlPlane,
  stopControlPlane,
} from "../../tools/cluster/controlplane.ts";
import { kubeConfigFrom } from "../../tools/cluster/credentials.ts";
import { type ControllerProcess, spawnController } from "../../tools/controller-process.ts";
import { localStackBaseline, preparePlatform } from "../../tools/install-platform.ts";
import { resolveControlPlaneBinaries } from "../../tools/upstream/binaries.ts";
import { departmentManifest } from "../fixtures/departments.ts";
import { isReady, waitForDepartment } from "./support/govhost.ts";
import { eventually } from "./support/kube.ts";

// #18: two would-be leaders. The leading replica is frozen (SIGSTOP: a long GC pause, a stalled VM, a cut
// network) while Departments keep coming; the standby takes the lease once it expires and carries on; then
// the old leader wakes up with reconciles in flight and watch events queued. It must not write: every
// write either replica made is read back from the API server's own audit log (each replica names itself in
// User-Agent) and checked against who held the lease at that instant. This file runs its own control plane
// (it needs the lease to itself and the audit log of that API server alone).

const isLeaseWrite = (event: AuditEvent) =>
  event.objectRef?.resource === "leases" && event.objectRef.name === controllerLeaseName;

let dir: string;
let state: ControlPlaneState;
let admin: KubeClient;
let controllerKubeconfig: string;
const replicas: ControllerProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "govhost-fencing-"));
  state = await startControlPlane({
    binaries: resolveControlPlaneBinaries({ build: false }),
    kubeconfig: join(dir, "kubeconfig"),
    tmpRoot: dir,
  });
  controllerKubeconfig = join(dir, "controller.kubeconfig");
  await preparePlatform(state.kubeconfig, controllerKubeconfig, undefined, { baseline: localStackBaseline });
  admin = await KubeClient.fromKubeConfig(kubeConfigFrom(state.kubeconfig));
}, 240_000);

afterAll(async () => {
  for (const replica of replicas) {
    replica.process.kill("SIGCONT");
    await replica.kill();
  }
  admin?.close();
  if (state) await stopControlPlane(state);
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe("two replicas, one frozen while it leads", () => {
  it("the frozen leader writes nothing once it wakes: no write by a replica that did not hold the lease", async () => {
    const a = await spawnController({ kubeconfig: controllerKubeconfig, identity: "replica-a" });
    replicas.push(a);
    const b = await spawnController({
      kubeconfig: controllerKubeconfig,
      identity: "replica-b",
      waitReady: false,
    });
    replicas.push(b);

    // A steady stream of Departments, so the leader always has reconciles in flight and events queued.
    const names: string[] = [];
    let creating = true;
    const load = (async () => {
      for (let i = 0; creating; i++) {
        const name = `fence${i}`;
        await admin.create(departmentManifest(name, { environments: ["dev", "prod"] }) as KubeObject);
        names.push(name);
        await sleep(250);
      }
    })();
    await eventually("replica-a to reconcile under the load", async () =>
      names.length >= 8 ? true : undefined,
    );

    const frozenAt = Date.now();
    a.process.kill("SIGSTOP");
    const leads = (replica: ControllerProcess) =>
      fetch(`http://127.0.0.1:${replica.port}/readyz`).then(
        (r) => r.ok || undefined,
        () => undefined,
      );
    await eventually("replica-b to take the lease and sync", () => leads(b), 60_000);
    const takeoverSeconds = (Date.now() - frozenAt) / 1000;
    await sleep(3_000); // replica-b at work while replica-a is still frozen
    a.process.kill("SIGCONT");
    const exitCode = await new Promise<number | null>((resolve) => {
      if (a.process.exitCode !== null) resolve(a.process.exitCode);
      else a.process.once("exit", (code) => resolve(code));
    });
    creating = false;
    await load;
    for (const name of names) await waitForDepartment(admin, name, isReady, "Ready", 120_000);

    const events = auditedWrites(apiAuditLogOf(state)).filter((e) => replicaOf(e) !== undefined);
    // Who held the lease when: every lease write that succeeded, in the order the API server finished them.
    const holds = events
      .filter((e) => isLeaseWrite(e) && (e.responseStatus?.code ?? 0) < 300)
      .map((e) => ({ replica: replicaOf(e), from: Date.parse(e.stageTimestamp) }))
      .sort((x, y) => x.from - y.from);
    const holderAt = (at: number) => holds.filter((h) => h.from <= at).at(-1)?.replica;
    const writes = events.filter((e) => !isLeaseWrite(e));
    const conflicting = writes
      .filter((e) => replicaOf(e) !== holderAt(Date.parse(e.requestReceivedTimestamp)))
      .map(
        (e) =>
          `${replicaOf(e)} ${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name} at ${e.requestReceivedTimestamp} (holder ${holderAt(Date.parse(e.requestReceivedTimestamp))}, answered ${e.responseStatus?.code})`,
      );
    const byReplica = (replica: string) => writes.filter((e) => replicaOf(e) === replica).length;
    process.stderr.write(
      `leader fencing: ${names.length} Departments, replica-b led ${takeoverSeconds.toFixed(1)} s after replica-a froze; writes replica-a ${byReplica("replica-a")}, replica-b ${byReplica("replica-b")}, by a replica not holding the lease ${conflicting.length}; replica-a exited ${exitCode}\n`,
    );

    expect(conflicting).toEqual([]);
    // The log saw both at work, and the lease changed hands exactly once (a to b).
    expect(byReplica("replica-a")).toBeGreaterThan(0);
    expect(byReplica("replica-b")).toBeGreaterThan(0);
    expect(holds.map((h) => h.replica).filter((r, i, all) => r !== all[i - 1])).toEqual([
      "replica-a",
      "replica-b",
    ]);
    // The woken replica found the lease gone and left (a fresh process would rejoin as the standby).
    expect(exitCode).toBe(1);
    expect(a.output()).toContain("lease lost");
  }, 300_000);
});

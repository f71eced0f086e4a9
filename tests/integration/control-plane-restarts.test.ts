import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject } from "../../lib/kube/client.ts";
import { KubeClient } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import type { RunningPortalApi } from "../../portal-api/app.ts";
import {
  type ControlPlaneState,
  crashAndRestart,
  startControlPlane,
  stopControlPlane,
} from "../../tools/cluster/controlplane.ts";
import { kubeConfigFrom } from "../../tools/cluster/credentials.ts";
import { type ControllerProcess, spawnController } from "../../tools/controller-process.ts";
import { localStackBaseline, preparePlatform } from "../../tools/install-platform.ts";
import { loginAs } from "../../tools/oidc/login.ts";
import { type LocalProvider, startLocalProvider } from "../../tools/oidc/provider.ts";
import { type ControlPlaneBinaries, resolveControlPlaneBinaries } from "../../tools/upstream/binaries.ts";
import { departmentManifest } from "../fixtures/departments.ts";
import { isReady, waitForDepartment } from "./support/govhost.ts";
import { eventually, uniqueName } from "./support/kube.ts";
import { startTestPortalApi, testAudience } from "./support/portal-api.ts";

// #18's faults: the kube-apiserver, then etcd, crash in the middle of provisioning and come back (as a
// supervisor would restart them). The controller and the portal API are not restarted: their watches must
// resume, the work in flight must finish, and nothing may be lost. This file runs its own control plane,
// since crashing the shared one would fail every other test running meanwhile.

let dir: string;
let binaries: ControlPlaneBinaries;
let state: ControlPlaneState;
let admin: KubeClient;
let controller: ControllerProcess;
let provider: LocalProvider;
let api: RunningPortalApi;
let token: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "govhost-restarts-"));
  binaries = resolveControlPlaneBinaries({ build: false });
  state = await startControlPlane({ binaries, kubeconfig: join(dir, "kubeconfig"), tmpRoot: dir });
  const controllerKubeconfig = join(dir, "controller.kubeconfig");
  const portalApiKubeconfig = join(dir, "portal-api.kubeconfig");
  await preparePlatform(state.kubeconfig, controllerKubeconfig, portalApiKubeconfig, {
    baseline: localStackBaseline,
  });
  admin = await KubeClient.fromKubeConfig(kubeConfigFrom(state.kubeconfig));
  controller = await spawnController({ kubeconfig: controllerKubeconfig, identity: "restarts" });
  provider = await startLocalProvider({
    audience: testAudience,
    users: { operator: { name: "Op", groups: ["govhost:platform-operators"] } },
  });
  api = await startTestPortalApi(provider.issuer, join(dir, "audit.log"), 100_000, {
    kubeconfig: portalApiKubeconfig,
  });
  token = await loginAs(provider.issuer, "operator", testAudience);
}, 240_000);

afterAll(async () => {
  await api?.close();
  await provider?.close();
  await controller?.stop();
  admin?.close();
  if (state) await stopControlPlane(state);
  rmSync(dir, { recursive: true, force: true });
});

/** Departments as the portal API lists them to an operator (from its watch cache). */
async function listedByApi(): Promise<string[]> {
  const response = await fetch(`${api.url}/api/v1/departments`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!response.ok) return [];
  const body = (await response.json()) as { items: { name: string }[] };
  return body.items.map((d) => d.name);
}

async function crashDuringProvisioning(component: "etcd" | "kube-apiserver") {
  const pid = controller.process.pid;
  const before = Array.from({ length: 10 }, () => uniqueName("rs"));
  for (const name of before) await admin.create(departmentManifest(name, { environments: ["dev", "prod"] }));
  // Mid-reconcile: the departments were just created; the crash lands while their namespaces are made.
  const started = Date.now();
  await crashAndRestart(state, binaries, component, { downMs: 2_000 });
  const back = Date.now() - started;
  const after = uniqueName("rs");
  await admin.create(departmentManifest(after, { environments: ["dev", "prod"] }));
  for (const name of [...before, after]) await waitForDepartment(admin, name, isReady, "ready", 120_000);
  const recovered = Date.now() - started;
  // Nothing lost: every department has each of its namespaces.
  const namespaces = await admin.list<KubeObject>(resources.namespace);
  const names = new Set(namespaces.items.map((ns) => ns.metadata?.name));
  for (const name of [...before, after])
    for (const env of ["dev", "prod"]) expect(names.has(`${name}-${env}`), `${name}-${env}`).toBe(true);
  // The portal API's caches followed: the department made after the restart is listed.
  await eventually("the portal API to list the department made after the restart", async () =>
    (await listedByApi()).includes(after) ? true : undefined,
  );
  // Neither the controller nor the API was restarted.
  expect(controller.process.pid).toBe(pid);
  expect(controller.process.exitCode).toBeNull();
  process.stderr.write(
    `control-plane-restarts: ${component} killed and back in ${(back / 1000).toFixed(1)} s; all 11 departments Ready ${(recovered / 1000).toFixed(1)} s after the kill\n`,
  );
}

describe("the control plane crashes in the middle of provisioning", () => {
  it("kube-apiserver: the controller and the portal API resume their watches and finish the work, nothing lost", async () => {
    await crashDuringProvisioning("kube-apiserver");
  });

  it("etcd: the same, with the API server cut off from its store meanwhile", async () => {
    await crashDuringProvisioning("etcd");
  });
});

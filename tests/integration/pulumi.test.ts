import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { controllerIdentity } from "../../controller/api/rbac.ts";
import { KubeClient, type KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { baselineRules } from "../../policies/baseline.ts";
import {
  type ControlPlaneState,
  startControlPlane,
  stopControlPlane,
} from "../../tools/cluster/controlplane.ts";
import { kubeConfigFrom, writeServiceAccountKubeconfig } from "../../tools/cluster/credentials.ts";
import { type ControllerProcess, spawnController } from "../../tools/controller-process.ts";
import { localStackBaseline, preparePlatform } from "../../tools/install-platform.ts";
import { type ChangeSummary, runStack, type StackOperation } from "../../tools/pulumi.ts";
import {
  ensurePulumiBinaries,
  missingPulumiGroups,
  resolveControlPlaneBinaries,
} from "../../tools/upstream/binaries.ts";
import { departmentManifest, isReady, waitForDepartment } from "./support/govhost.ts";
import { eventually } from "./support/kube.ts";

// `npm run pulumi` for real: the platform program (infra/) run by the Automation API with the Pulumi CLI and
// Kubernetes provider built from their Go modules, on a local file backend, against a control plane of its
// own (the shared one already has the platform, installed by the test setup).

const minutes = 60_000;
let dir: string;
let cluster: ControlPlaneState;
let admin: KubeClient;
let created = 0;

// On a cold cache the run's global setup builds the Pulumi CLI and provider in the background while the other
// files run (this file runs last, see vitest.config.ts); here it waits for that build, or builds them itself.
beforeAll(async () => {
  const missing = missingPulumiGroups();
  if (missing.length > 0)
    process.stderr.write(`pulumi test: waiting for ${missing.join(", ")} to be built\n`);
  await ensurePulumiBinaries();
}, 45 * minutes);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "govhost-pulumi-"));
  cluster = await startControlPlane({
    binaries: resolveControlPlaneBinaries({ build: false }),
    kubeconfig: join(dir, "kubeconfig"),
    tmpRoot: dir,
  });
  admin = await KubeClient.fromKubeConfig(kubeConfigFrom(cluster.kubeconfig));
  mkdirSync(join(dir, "stack"));
}, 2 * minutes);

afterAll(async () => {
  admin?.close();
  if (cluster) await stopControlPlane(cluster);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function pulumi(operation: StackOperation): Promise<ChangeSummary> {
  return runStack({
    operation,
    stack: "e2e",
    workDir: join(dir, "stack"),
    stateDir: join(dir, "state"),
    config: { "govhost:clusterMode": "local", "govhost:kubeconfig": cluster.kubeconfig },
  });
}

const crd = (name: string) =>
  admin
    .call<KubeObject>("GET", `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`)
    .then(() => true)
    .catch(() => false);

describe("pulumi up, a Department, pulumi destroy", () => {
  it(
    "creates the platform, and a second up changes nothing",
    async () => {
      const first = await pulumi("up");
      expect(Object.keys(first)).toEqual(["create"]);
      created = first.create ?? 0;
      expect(created).toBeGreaterThan(50);
      expect(await crd("departments.govhost.io")).toBe(true);
      expect(await crd("chargebackstatements.govhost.io")).toBe(true);
      const bindings = await admin.call<{ items: { metadata: { name: string } }[] }>(
        "GET",
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
      );
      expect(bindings.items.filter((b) => b.metadata.name.startsWith("govhost-")).length).toBe(
        baselineRules.length,
      );
      expect(await pulumi("up")).toEqual({ same: created });
    },
    5 * minutes,
  );

  it(
    "installs what the controller needs: a Department created afterwards is reconciled",
    async () => {
      const kubeconfig = join(dir, "controller.kubeconfig");
      await writeServiceAccountKubeconfig(admin, cluster.kubeconfig, controllerIdentity, kubeconfig);
      let controller: ControllerProcess | undefined;
      try {
        controller = await spawnController({ kubeconfig, identity: "pulumi-e2e" });
        await admin.create(departmentManifest("pulumi", { environments: ["dev"] }));
        const ready = await waitForDepartment(admin, "pulumi", isReady);
        expect(ready.status?.namespaces).toContain("pulumi-dev");
        // Deleted while the controller runs, so its finalizer is released before the CRD goes.
        await admin.delete(resources.department, "pulumi");
        await eventually("the Department to be gone", async () =>
          (await admin.find(resources.department, "pulumi")) ? undefined : true,
        );
      } finally {
        await controller?.stop();
      }
    },
    3 * minutes,
  );

  it(
    "destroys everything it created",
    async () => {
      expect(await pulumi("destroy")).toEqual({ delete: created });
      expect(await crd("departments.govhost.io")).toBe(false);
      const bindings = await admin.call<{ items: { metadata: { name: string } }[] }>(
        "GET",
        "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings",
      );
      expect(bindings.items.filter((b) => b.metadata.name.startsWith("govhost-"))).toEqual([]);
    },
    3 * minutes,
  );
});

describe("one install path", () => {
  it(
    "adopts a platform that npm start installed (another field manager), without field conflicts, and destroys it",
    async () => {
      // What `npm start` installs (tools/install-platform.ts, field manager govhost-installer, the local
      // stack's baseline), on the cluster the stack above left empty.
      await preparePlatform(cluster.kubeconfig, join(dir, "installer-controller.kubeconfig"), undefined, {
        baseline: localStackBaseline,
      });
      expect(await crd("departments.govhost.io")).toBe(true);
      expect(await pulumi("up")).toEqual({ create: created });
      // Every baseline binding is now Pulumi's (it applied its own fields over the installer's).
      const bindings = await admin.call<{
        items: { metadata: { name: string; managedFields?: { manager: string }[] } }[];
      }>("GET", "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings");
      const ours = bindings.items.filter((b) => b.metadata.name.startsWith("govhost-"));
      expect(ours.length).toBe(baselineRules.length);
      for (const binding of ours)
        expect(
          binding.metadata.managedFields?.some((f) => f.manager.startsWith("pulumi")),
          binding.metadata.name,
        ).toBe(true);
      expect(await pulumi("up")).toEqual({ same: created });
      expect(await pulumi("destroy")).toEqual({ delete: created });
      expect(await crd("departments.govhost.io")).toBe(false);
    },
    8 * minutes,
  );
});

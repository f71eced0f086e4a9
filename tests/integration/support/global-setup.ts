import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { apiAuditLogOf, startControlPlane, stopControlPlane } from "../../../tools/cluster/controlplane.ts";
import { localStackBaseline, preparePlatform } from "../../../tools/install-platform.ts";
import { startBackgroundBuild } from "../../../tools/upstream/background-build.ts";
import { missingPulumiGroups, resolveControlPlaneBinaries } from "../../../tools/upstream/binaries.ts";
import { govhostCacheDir } from "../../../tools/upstream/versions.ts";

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string;
    controllerKubeconfig: string;
    portalApiKubeconfig: string;
    kubernetesVersion: string;
    /** The shared API server's audit log (writes, metadata only): support/api-audit.ts reads it. */
    apiAuditLog: string;
    /** kube-controller-manager's process, for tests that pause it (files run one at a time). */
    controllerManagerPid: number;
  }
}

/** Starts one real control plane (etcd, kube-apiserver, kube-controller-manager) for the integration run. */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), "govhost-it-"));
  const started = Date.now();
  const state = await startControlPlane({
    binaries: resolveControlPlaneBinaries({ build: true }),
    kubeconfig: join(dir, "kubeconfig"),
    tmpRoot: dir,
  });
  process.stderr.write(
    `integration: ${state.version} ready at ${state.server} in ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
  );
  // The Pulumi CLI and provider (18 minutes of compiling, cold) are built while the tests run, at low
  // priority; tests/integration/pulumi.test.ts runs last and waits for them.
  const missing = missingPulumiGroups();
  const pulumiBuild =
    missing.length > 0
      ? startBackgroundBuild(missing, join(govhostCacheDir(), "build", "pulumi-background.log"))
      : undefined;
  if (pulumiBuild)
    process.stderr.write(
      `integration: building ${missing.join(", ")} in the background at low priority (log: ${pulumiBuild.logPath})\n`,
    );
  const teardown = async () => {
    await pulumiBuild?.stop();
    await stopControlPlane(state);
    rmSync(dir, { recursive: true, force: true });
  };
  const controllerKubeconfig = join(dir, "controller.kubeconfig");
  const portalApiKubeconfig = join(dir, "portal-api.kubeconfig");
  try {
    await preparePlatform(state.kubeconfig, controllerKubeconfig, portalApiKubeconfig, {
      baseline: localStackBaseline,
    });
  } catch (error) {
    // vitest runs no teardown when setup throws: stop the processes here so none outlive the run.
    await teardown();
    throw error;
  }
  project.provide("kubeconfig", state.kubeconfig);
  project.provide("controllerKubeconfig", controllerKubeconfig);
  project.provide("portalApiKubeconfig", portalApiKubeconfig);
  project.provide("kubernetesVersion", state.version);
  project.provide("apiAuditLog", apiAuditLogOf(state));
  const controllerManager = state.processes.find((p) => p.name === "kube-controller-manager");
  if (!controllerManager) throw new Error("the control plane has no kube-controller-manager");
  project.provide("controllerManagerPid", controllerManager.pid);
  return teardown;
}

import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { localClusterState, localKubeconfig } from "../../lib/local-state.ts";
import { resolveControlPlaneBinaries } from "../upstream/binaries.ts";
import {
  type ControlPlaneState,
  loadState,
  runningProcesses,
  saveState,
  startControlPlane,
  stopControlPlane,
} from "./controlplane.ts";

/** The project's own local control plane: state in .govhost/cluster.json, admin kubeconfig beside it. */
export async function ensureLocalControlPlane(
  onProgress: (message: string) => void,
): Promise<{ state: ControlPlaneState; startedHere: boolean }> {
  const existing = loadState(localClusterState);
  if (existing && runningProcesses(existing).length === existing.processes.length) {
    return { state: existing, startedHere: false };
  }
  if (existing) {
    onProgress("a previous control plane is partly running; stopping it first");
    await stopControlPlane(existing);
  }
  const state = await startControlPlane({
    binaries: resolveControlPlaneBinaries({ build: true }),
    kubeconfig: localKubeconfig,
    tmpRoot: process.env.GOVHOST_TMPDIR,
    onProgress,
  });
  saveState(localClusterState, state);
  return { state, startedHere: true };
}

/** Stops the local control plane, if any; returns what was stopped. */
export async function stopLocalControlPlane(): Promise<ControlPlaneState | undefined> {
  const state = loadState(localClusterState);
  if (!state) return undefined;
  await stopControlPlane(state);
  rmSync(localClusterState, { force: true });
  rmSync(localKubeconfig, { force: true });
  // The controller's token belongs to the cluster that is gone.
  rmSync(join(dirname(localKubeconfig), "controller.kubeconfig"), { force: true });
  return state;
}

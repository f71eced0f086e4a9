import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { localClusterState, localKubeconfig } from "../../lib/local-state.ts";
import { loadLocalToolConfig } from "../config.ts";
import { resolveControlPlaneBinaries } from "../upstream/binaries.ts";
import { type CloudState, startCloud, stopCloud } from "./cloud.ts";
import { loadState, saveState } from "./controlplane.ts";
import { isRunning } from "./processes.ts";

/** Where a local cloud keeps its state and admin kubeconfig (default: the project's .govhost/). */
export interface LocalPaths {
  state: string;
  kubeconfig: string;
}

const defaultPaths: LocalPaths = { state: localClusterState, kubeconfig: localKubeconfig };

export function loadCloudState(paths: LocalPaths = defaultPaths): CloudState | undefined {
  return loadState(paths.state) as CloudState | undefined;
}

/** Does every process of the cloud (control plane and node) still run? */
export function allRunning(state: CloudState): boolean {
  return [...state.processes, ...(state.node?.processes ?? [])].every(isRunning);
}

/**
 * The project's own local cloud: the control plane and, where the machine allows, a real node; state in
 * .govhost/cluster.json, admin kubeconfig beside it. Reused when everything still runs.
 */
export async function ensureLocalControlPlane(
  onProgress: (message: string) => void,
  paths: LocalPaths = defaultPaths,
  options: { node?: boolean } = {},
): Promise<{ state: CloudState; startedHere: boolean }> {
  const existing = loadCloudState(paths);
  if (existing && allRunning(existing)) return { state: existing, startedHere: false };
  if (existing) {
    onProgress("a previous local cloud is partly running; stopping it first");
    await stopCloud(existing, onProgress);
  }
  const state = await startCloud({
    binaries: resolveControlPlaneBinaries({ build: true }),
    kubeconfig: paths.kubeconfig,
    tmpRoot: loadLocalToolConfig().tmpDir,
    onProgress,
    // Without a node where none is wanted (it would take the machine's one node from whoever needs it).
    node: options.node ?? true,
    statePath: paths.state,
  });
  saveState(paths.state, state);
  return { state, startedHere: true };
}

/** Stops the local cloud, if any; returns what was stopped and what could not be undone. */
export async function stopLocalControlPlane(
  onProgress: (message: string) => void = () => {},
  paths: LocalPaths = defaultPaths,
): Promise<{ state: CloudState; problems: string[] } | undefined> {
  const state = loadCloudState(paths);
  if (!state) return undefined;
  const problems = await stopCloud(state, onProgress);
  rmSync(paths.state, { force: true });
  rmSync(paths.kubeconfig, { force: true });
  // The controller's token belongs to the cluster that is gone.
  rmSync(join(dirname(paths.kubeconfig), "controller.kubeconfig"), { force: true });
  return { state, problems };
}

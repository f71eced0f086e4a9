import {
  type ControlPlaneState,
  type StartOptions,
  startControlPlane,
  stopControlPlane,
} from "./controlplane.ts";
import { nodeNetwork } from "./node/network.ts";
import { abandonPreparedNode, prepareNode } from "./node/prepare.ts";
import { startNode } from "./node/start.ts";
import type { NodeState } from "./node/state.ts";
import { stopNodeDaemons, undoNodeHostChanges } from "./node/stop.ts";

/** A control plane with its node, or with the reason why it has none. */
export interface CloudState extends ControlPlaneState {
  node?: NodeState;
  /** Why no node runs beside this control plane (not root, another node on this machine, ...). */
  nodeAbsent?: string;
}

/**
 * Starts the local cloud: the control plane and, when this machine allows it, one real node. A node needs
 * root, cgroups and the machine-wide node lock (one node per machine); without them the control plane still
 * starts and `nodeAbsent` says why. With a node the API server listens on the node address (pods reach it).
 */
export async function startCloud(
  options: StartOptions & {
    node: boolean;
    /** Where the caller saves the state: the lock names it, so another worktree knows how to stop it. */
    statePath?: string;
  },
): Promise<CloudState> {
  const progress = options.onProgress ?? (() => {});
  if (!options.node) return { ...(await startControlPlane(options)), nodeAbsent: "no node was asked for" };
  const prepared = prepareNode(progress, options.statePath);
  if (!prepared.ready) {
    progress(`no node: ${prepared.reason}`);
    return { ...(await startControlPlane(options)), nodeAbsent: prepared.reason };
  }
  let cp: ControlPlaneState;
  try {
    cp = await startControlPlane({ ...options, address: nodeNetwork.nodeIp });
  } catch (error) {
    abandonPreparedNode(prepared.node);
    throw error;
  }
  try {
    const node = await startNode(cp, prepared.node, progress);
    return { ...cp, node };
  } catch (error) {
    // startNode put the machine back; the control plane listens on the node address that is gone now.
    await stopControlPlane(cp);
    throw error;
  }
}

/** Stops the node (undoing its side effects), then the control plane; returns what could not be undone. */
export async function stopCloud(
  state: CloudState,
  progress: (message: string) => void = () => {},
  options: { keepWorkDir?: boolean } = {},
): Promise<string[]> {
  const problems = state.node ? await stopNodeDaemons(state.node, state, progress) : [];
  // The API server listens on the node address: stop it before that address goes.
  await stopControlPlane(state, options);
  return state.node ? [...problems, ...undoNodeHostChanges(state.node, progress)] : problems;
}

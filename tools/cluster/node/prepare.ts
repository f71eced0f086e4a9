import { projectRoot } from "../../../lib/local-state.ts";
import { resolveNodeBinaries } from "../../upstream/binaries.ts";
import { recordHostState } from "./host-state.ts";
import { acquireNodeLock, releaseNodeLock } from "./lock.ts";
import { createNodeInterface, deleteNodeLinks, existingNodeLinks } from "./network.ts";
import { ensureNodePackages, nodeUnavailableReason } from "./preflight.ts";
import { newLockId, type PreparedNode } from "./state.ts";

export type NodePreparation = { ready: true; node: PreparedNode } | { ready: false; reason: string };

/**
 * Everything before the control plane starts: can a node run here (root, cgroups), its packages and
 * binaries (installed or built on first use), the machine-wide lock, the machine's state recorded, and the
 * node address's link created (the API server then binds to it). When the answer is no, `reason` says why
 * and nothing was changed.
 */
export function prepareNode(progress: (message: string) => void, statePath?: string): NodePreparation {
  const unavailable = nodeUnavailableReason();
  if (unavailable) return { ready: false, reason: unavailable };
  const packages = ensureNodePackages();
  if (packages) return { ready: false, reason: packages };
  let binaries: PreparedNode["binaries"];
  try {
    binaries = resolveNodeBinaries({ build: true });
  } catch (error) {
    return { ready: false, reason: `the node's binaries could not be built: ${String(error)}` };
  }
  const lockId = newLockId();
  const lock = acquireNodeLock(
    {
      id: lockId,
      owner: projectRoot,
      workDir: "(starting)",
      statePath,
      pids: [process.pid],
      since: new Date().toISOString(),
    },
    () => {
      const links = existingNodeLinks();
      return links.length > 0 ? `links ${links.join(", ")} exist` : undefined;
    },
  );
  if (!lock.acquired) return { ready: false, reason: lock.reason };
  const links = existingNodeLinks();
  if (links.length > 0) {
    releaseNodeLock(lockId);
    return {
      ready: false,
      reason: `links ${links.join(", ")} exist without a govhost node lock (leftovers of a node that did not stop, or not govhost's); delete them with \`ip link delete ${links[0]}\` if nothing uses them`,
    };
  }
  const hostBefore = recordHostState();
  try {
    createNodeInterface();
  } catch (error) {
    deleteNodeLinks();
    releaseNodeLock(lockId);
    return { ready: false, reason: `could not create the node's link: ${String(error)}` };
  }
  progress("node: lock taken, node address ready");
  return { ready: true, node: { lockId, owner: projectRoot, statePath, binaries, hostBefore } };
}

/** Undoes prepareNode when the control plane could not start: the link goes, the lock is released. */
export function abandonPreparedNode(node: PreparedNode): void {
  deleteNodeLinks();
  releaseNodeLock(node.lockId);
}

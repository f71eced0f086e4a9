import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { isAlive } from "../processes.ts";

/**
 * The machine-wide node lock. A node's kubelet, kube-proxy rules and /kubepods cgroups are global to the
 * machine, so at most one govhost node may run on it, whichever worktree or test run starts it. The lock
 * file is created exclusively (O_EXCL) and names its holder: the process that is starting the node, then the
 * node's own daemons once they run. It lives in /run so a reboot (which ends every node) clears it.
 */
export const nodeLockPath = "/run/govhost-node.lock";

export interface NodeLockHolder {
  /** Unique per start, so only the start that took the lock releases it. */
  id: string;
  /** Who holds it: the project directory (worktree) and the node's work directory. */
  owner: string;
  workDir: string;
  /** The saved cluster state that `cluster:down --state` stops it from (tests keep theirs elsewhere). */
  statePath?: string;
  /** Processes whose life keeps the lock held: the starter first, then the node's daemons. */
  pids: number[];
  since: string;
}

export function readNodeLock(path = nodeLockPath): NodeLockHolder | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as NodeLockHolder;
  } catch {
    return undefined;
  }
}

/** A holder is live while any of its processes runs. */
export function lockIsLive(holder: NodeLockHolder): boolean {
  return holder.pids.some(isAlive);
}

function write(path: string, holder: NodeLockHolder, flags: "wx" | "w"): void {
  const fd = openSync(path, flags, 0o644);
  try {
    writeSync(fd, `${JSON.stringify(holder)}\n`);
  } finally {
    closeSync(fd);
  }
}

function downCommand(holder: NodeLockHolder): string {
  const state = holder.statePath ? ` -- --state ${holder.statePath}` : "";
  return `\`npm run cluster:down${state}\` in ${holder.owner}`;
}

export type LockResult = { acquired: true } | { acquired: false; reason: string };

/**
 * Takes the lock for `holder`, or says who has it. A lock whose processes are all gone is stale: it is taken
 * over only when `staleIsFree` says the machine shows no sign of that node (its links are gone).
 */
export function acquireNodeLock(
  holder: NodeLockHolder,
  staleIsFree: () => string | undefined,
  path = nodeLockPath,
): LockResult {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      write(path, holder, "wx");
      return { acquired: true };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const current = readNodeLock(path);
    if (current && lockIsLive(current)) {
      return {
        acquired: false,
        reason: `another govhost node runs on this machine (lock ${path}: ${current.owner}, pids ${current.pids.join(" ")}, since ${current.since}); stop it with ${downCommand(current)}`,
      };
    }
    const leftovers = staleIsFree();
    if (leftovers) {
      return {
        acquired: false,
        reason: `a previous govhost node did not stop cleanly (${leftovers}; stale lock ${path} of ${current?.owner ?? "unknown"}); run ${current ? downCommand(current) : "`npm run cluster:down` in its worktree"}`,
      };
    }
    // Stale and nothing left of it: remove it and try once more (another starter may win that race).
    rmSync(path, { force: true });
  }
  return { acquired: false, reason: `could not take the node lock ${path}` };
}

/** Records the node's daemons as the holders, so the lock stays held after the starting process exits. */
export function updateNodeLock(holder: NodeLockHolder, path = nodeLockPath): void {
  write(path, holder, "w");
}

/** Releases the lock if the start `id` holds it. */
export function releaseNodeLock(id: string, path = nodeLockPath): void {
  if (readNodeLock(path)?.id === id) rmSync(path, { force: true });
}

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  acquireNodeLock,
  type NodeLockHolder,
  readNodeLock,
  releaseNodeLock,
} from "../../tools/cluster/node/lock.ts";

const dirs: string[] = [];
const lockPath = () => {
  const dir = mkdtempSync(join(tmpdir(), "govhost-lock-"));
  dirs.push(dir);
  return join(dir, "node.lock");
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const holder = (id: string, pids: number[]): NodeLockHolder => ({
  id,
  owner: `/work/${id}`,
  workDir: `/tmp/${id}`,
  pids,
  since: "2026-11-30T00:00:00Z",
});
/** A pid that certainly does not run: a child that has exited and been reaped. */
const deadPid = () => spawnSync("true").pid as number;
const noLeftovers = () => undefined;

describe("the machine-wide node lock", () => {
  it("is taken by the first start and refused to a second while the first's processes run", () => {
    const path = lockPath();
    expect(acquireNodeLock(holder("a", [process.pid]), noLeftovers, path)).toEqual({ acquired: true });
    const second = acquireNodeLock(holder("b", [process.pid]), noLeftovers, path);
    expect(second.acquired).toBe(false);
    if (!second.acquired) {
      expect(second.reason).toContain("another govhost node runs on this machine");
      expect(second.reason).toContain("/work/a");
    }
    expect(readNodeLock(path)?.id).toBe("a");
  });

  it("takes over a stale lock when the machine shows nothing of its node", () => {
    const path = lockPath();
    writeFileSync(path, JSON.stringify(holder("old", [deadPid()])));
    expect(acquireNodeLock(holder("new", [process.pid]), noLeftovers, path)).toEqual({ acquired: true });
    expect(readNodeLock(path)?.id).toBe("new");
  });

  it("refuses a stale lock whose node left links behind, and says so", () => {
    const path = lockPath();
    writeFileSync(path, JSON.stringify(holder("old", [deadPid()])));
    const result = acquireNodeLock(holder("new", [process.pid]), () => "links govhost-node exist", path);
    expect(result.acquired).toBe(false);
    if (!result.acquired) expect(result.reason).toMatch(/did not stop cleanly \(links govhost-node exist/);
  });

  it("is released only by the start that holds it", () => {
    const path = lockPath();
    acquireNodeLock(holder("a", [process.pid]), noLeftovers, path);
    releaseNodeLock("b", path);
    expect(readNodeLock(path)?.id).toBe("a");
    releaseNodeLock("a", path);
    expect(readNodeLock(path)).toBeUndefined();
  });
});

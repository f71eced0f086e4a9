import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** What is left after the node's daemons stopped: processes and mounts, found and removed. */

/** Pids of processes whose command line mentions `marker` (the node's directory: shims name its socket). */
export function processesMentioning(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(marker)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

export function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/** Mount points (from /proc/mounts) at or below any of `prefixes`. */
export function mountsUnder(prefixes: string[]): string[] {
  const points = readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1])
    .filter((p): p is string => Boolean(p))
    .map((p) => p.replace(/\\040/g, " "));
  return points.filter((p) => prefixes.some((prefix) => p === prefix || p.startsWith(`${prefix}/`)));
}

/** Unmounts everything below `prefixes`, deepest first; returns what stayed mounted. */
export function unmountUnder(prefixes: string[]): string[] {
  for (let round = 0; round < 3; round++) {
    const points = mountsUnder(prefixes).sort((a, b) => b.length - a.length);
    if (points.length === 0) return [];
    for (const point of points) {
      try {
        execFileSync("umount", [point], { stdio: "ignore" });
      } catch {
        try {
          execFileSync("umount", ["-l", point], { stdio: "ignore" });
        } catch {
          // retried next round
        }
      }
    }
  }
  return mountsUnder(prefixes);
}

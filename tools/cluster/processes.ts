import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

export interface ManagedProcess {
  name: string;
  pid: number;
  log: string;
}

/** Starts a daemon in its own process group, output appended to `log`, not tied to this process. */
export function startDaemon(
  name: string,
  command: string,
  args: string[],
  log: string,
  extraEnv: Record<string, string> = {},
): ManagedProcess {
  const fd = openSync(log, "a");
  const env = { ...process.env, ...extraEnv };
  const child = spawn(command, args, { detached: true, stdio: ["ignore", fd, fd], env });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  return { name, pid: child.pid, log };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True when `proc` still runs and is the program we started (guards against a recycled pid). */
export function isRunning(proc: ManagedProcess): boolean {
  if (!isAlive(proc.pid)) return false;
  try {
    return readFileSync(`/proc/${proc.pid}/cmdline`, "utf8").includes(proc.name);
  } catch {
    return true; // no procfs: trust the pid
  }
}

export function logTail(path: string, lines = 15): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(proc: ManagedProcess, graceMs = 10_000): Promise<void> {
  if (!isRunning(proc)) return;
  signalGroup(proc.pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isAlive(proc.pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(proc.pid)) {
    signalGroup(proc.pid, "SIGKILL");
    while (isAlive(proc.pid)) await sleep(50);
  }
}

import { spawn } from "node:child_process";
import { mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";

// Builds upstream groups while something else runs (the test run), at the lowest CPU priority (nice 19):
// the build takes only the CPU the tests leave idle, so a cold run overlaps its last builds with the tests
// instead of waiting for them. Whoever needs a group's binaries runs build.sh for it as usual: build.sh's
// per-group lock makes that wait for this build and then find its result.

export interface BackgroundBuild {
  groups: readonly string[];
  logPath: string;
  /** Resolves to the exit code once every group is built (or one failed). */
  finished: Promise<number | null>;
  /** Stops the build if it still runs (its finished groups stay cached, and so do Go's compiled packages). */
  stop(): Promise<void>;
}

const script = new URL("./build.sh", import.meta.url).pathname;

export function startBackgroundBuild(groups: readonly string[], logPath: string): BackgroundBuild {
  mkdirSync(dirname(logPath), { recursive: true });
  const log = openSync(logPath, "a");
  // One group after another; a failure ends the build (the foreground build then reports it).
  const loop = 'script=$1; shift; for group; do bash "$script" "$group" || exit $?; done';
  const child = spawn("nice", ["-n", "19", "bash", "-c", loop, "background-build", script, ...groups], {
    // Its own process group, so stop() reaches the go commands it starts.
    detached: true,
    stdio: ["ignore", log, log],
  });
  const finished = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", () => resolve(null));
  });
  return {
    groups,
    logPath,
    finished,
    async stop() {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        try {
          process.kill(-child.pid, "SIGTERM");
        } catch {
          // Already gone.
        }
      }
      await finished;
    },
  };
}

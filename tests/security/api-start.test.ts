import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, inject, it } from "vitest";
import { projectRoot } from "../../lib/local-state.ts";
import { freePort } from "../../tools/cluster/ports.ts";

// Issue #17, finding 15: `npm start` left the controller running when the portal API failed to start.
// Runs the real `tools/start.ts` against this run's cluster with an OpenID provider that does not answer,
// and checks that every process it started is gone once it has exited.

const marker = randomUUID();
const stateDir = mkdtempSync(join(tmpdir(), "govhost-sec-start-"));

/** Processes (of any depth) started by this test's `npm start`: they inherit the marker variable. */
function markedProcesses(): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, "utf8");
      if (environ.split("\0").includes(`GOVHOST_START_TEST_MARKER=${marker}`)) found.push(Number(entry));
    } catch {
      // gone already, or not ours to read
    }
  }
  return found;
}

afterAll(() => {
  // Whatever a broken start left behind is stopped here, by pid, so it does not outlive the run.
  for (const pid of markedProcesses()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(stateDir, { recursive: true, force: true });
});

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== "object" || address === null) throw new Error("no port");
  return address.port;
}

describe("npm start", () => {
  it("stops the controller (and everything else it started) when the portal API fails to start", async () => {
    const controllerPort = await freePort();
    const child = spawn(process.execPath, ["tools/start.ts"], {
      cwd: projectRoot,
      env: {
        ...process.env,
        KUBECONFIG: inject("kubeconfig"),
        GOVHOST_STATE_DIR: stateDir,
        GOVHOST_CONTROLLER_PORT: String(controllerPort),
        GOVHOST_API_PORT: String(await freePort()),
        // An OpenID provider that is not there: the portal API cannot discover it and fails to start.
        GOVHOST_OIDC_ISSUER: `http://127.0.0.1:${await closedPort()}`,
        GOVHOST_OIDC_ALLOW_HTTP: "true",
        GOVHOST_START_TEST_MARKER: marker,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      output += c.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    // The start got as far as running the controller, then failed at the portal API.
    expect(output).toContain("controller running");
    expect(code, output.slice(-2_000)).not.toBe(0);
    // Nothing it started is left: no process, and the controller's port is closed.
    let left = markedProcesses();
    for (let i = 0; i < 20 && left.length; i++) {
      await sleep(250);
      left = markedProcesses();
    }
    expect(left, `still running after npm start exited:\n${output.slice(-2_000)}`).toEqual([]);
    const answered = await fetch(`http://127.0.0.1:${controllerPort}/readyz`).then(
      () => true,
      () => false,
    );
    expect(answered).toBe(false);
  }, 180_000);
});

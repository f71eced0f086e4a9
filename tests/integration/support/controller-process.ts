import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { inject } from "vitest";
import { freePort } from "../../../tools/cluster/ports.ts";

export interface ControllerProcess {
  process: ChildProcess;
  port: number;
  output: () => string;
  /** SIGTERM and wait (graceful: releases the lease). */
  stop(): Promise<void>;
  /** SIGKILL and wait (no cleanup at all, as in a crash or OOM kill). */
  kill(): Promise<void>;
}

/**
 * Starts `controller/main.ts` as a separate process with the controller service account's credentials,
 * and waits until it is leading and its caches are synced (/readyz).
 */
export async function startController(
  options: { identity?: string; waitReady?: boolean } = {},
): Promise<ControllerProcess> {
  const port = await freePort();
  let output = "";
  const child = spawn(process.execPath, ["controller/main.ts"], {
    env: {
      ...process.env,
      KUBECONFIG: inject("controllerKubeconfig"),
      GOVHOST_CONTROLLER_PORT: String(port),
      GOVHOST_CONTROLLER_ID: options.identity ?? `test-${process.pid}-${port}`,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const handle: ControllerProcess = {
    process: child,
    port,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
  if (options.waitReady === false) return handle;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`controller exited early:\n${output}`);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return handle;
    await sleep(200);
  }
  await handle.kill();
  throw new Error(`controller did not become ready within 60s:\n${output}`);
}

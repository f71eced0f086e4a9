import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { controllerNodeFlags } from "../controller/api/defaults.ts";
import { projectRoot } from "../lib/local-state.ts";
import { freePort } from "./cluster/ports.ts";

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
 * Starts `controller/main.ts` as its own process with the given kubeconfig and, unless told otherwise,
 * waits until it leads and its caches are synced (/readyz).
 */
export async function spawnController(options: {
  kubeconfig: string;
  identity?: string;
  waitReady?: boolean;
  inheritOutput?: boolean;
  env?: Record<string, string>;
  /** Node and V8 flags after the controller's own (a bench trying another garbage collector setting). */
  nodeFlags?: string[];
}): Promise<ControllerProcess> {
  const port = options.env?.GOVHOST_CONTROLLER_PORT
    ? Number(options.env.GOVHOST_CONTROLLER_PORT)
    : await freePort();
  let output = "";
  const child = spawn(
    process.execPath,
    [...controllerNodeFlags, ...(options.nodeFlags ?? []), "controller/main.ts"],
    {
      cwd: projectRoot,
      env: {
        ...process.env,
        ...options.env,
        KUBECONFIG: options.kubeconfig,
        GOVHOST_CONTROLLER_PORT: String(port),
        GOVHOST_CONTROLLER_ID: options.identity ?? `controller-${process.pid}-${port}`,
      },
      stdio: [
        "ignore",
        options.inheritOutput ? "inherit" : "pipe",
        options.inheritOutput ? "inherit" : "pipe",
      ],
    },
  );
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-200_000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const handle: ControllerProcess = {
    process: child,
    port,
    output: () => output,
    async stop() {
      if (alive()) child.kill("SIGTERM");
      await exited;
    },
    async kill() {
      if (alive()) child.kill("SIGKILL");
      await exited;
    },
  };
  if (options.waitReady === false) return handle;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`controller exited early:\n${output}`);
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

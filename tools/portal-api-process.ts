import { type ChildProcess, spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { projectRoot } from "../lib/local-state.ts";
import { freePort } from "./cluster/ports.ts";
import { apiClient } from "./oidc/users.ts";

export interface PortalApiProcess {
  process: ChildProcess;
  url: string;
  /** SIGKILL and wait (as in a crash or an OOM kill). */
  kill(): Promise<void>;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
}

/**
 * Starts `portal-api/main.ts` as its own process (benchmarks and fault tests, where the API must be a
 * process of its own to be measured or killed), trusting a local OpenID provider over plain HTTP, on a free
 * loopback port; resolves once /readyz answers.
 */
export async function spawnPortalApi(options: {
  kubeconfig: string;
  issuer: string;
  audience: string;
  auditLog: string;
  rateLimitPerMinute?: number;
  /** The API's stderr goes to this process's (default: dropped). */
  inheritStderr?: boolean;
}): Promise<PortalApiProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ["portal-api/main.ts"], {
    cwd: projectRoot,
    env: {
      ...process.env,
      KUBECONFIG: options.kubeconfig,
      GOVHOST_OIDC_ISSUER: options.issuer,
      GOVHOST_OIDC_AUDIENCE: options.audience,
      GOVHOST_OIDC_CLIENT_ID: apiClient.id,
      GOVHOST_OIDC_CLIENT_SECRET: apiClient.secret,
      GOVHOST_OIDC_ALLOW_HTTP: "true",
      GOVHOST_API_HOST: "127.0.0.1",
      GOVHOST_API_PORT: String(port),
      GOVHOST_API_RATE_LIMIT: String(options.rateLimitPerMinute ?? 100_000),
      GOVHOST_AUDIT_LOG: options.auditLog,
    },
    stdio: ["ignore", "ignore", options.inheritStderr ? "inherit" : "ignore"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (!alive()) throw new Error(`the portal API exited before it was ready (code ${child.exitCode})`);
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error("the portal API was not ready within 60 s");
    }
    await sleep(200);
  }
  const signal = async (name: NodeJS.Signals) => {
    if (alive()) child.kill(name);
    await exited;
  };
  return { process: child, url, kill: () => signal("SIGKILL"), stop: () => signal("SIGTERM") };
}

import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { setTimeout as sleep } from "node:timers/promises";
import type { KubeClient } from "../../../lib/kube/client.ts";
import { isAlive, logTail, type ManagedProcess } from "../processes.ts";

/** True when `url` answers 200 (https verified with `ca` when given). */
export function httpOk(url: string, ca?: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const request = url.startsWith("https:") ? httpsRequest : httpRequest;
    const req = request(url, { timeout: 2_000, ...(ca ? { ca } : {}) }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  procs: ManagedProcess[],
  ms: number,
) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const dead = procs.find((p) => !isAlive(p.pid));
    if (dead)
      throw new Error(`${dead.name} exited while waiting for ${what}; last log lines:\n${logTail(dead.log)}`);
    if (await check()) return;
    await sleep(200);
  }
  const logs = procs.map((p) => `--- ${p.name} (${p.log})\n${logTail(p.log, 8)}`).join("\n");
  throw new Error(`timed out after ${ms / 1000}s waiting for ${what}\n${logs}`);
}

interface NodeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** The Node's Ready condition as the API server has it, or undefined when the Node is not registered. */
export async function nodeReadiness(admin: KubeClient, name: string): Promise<NodeCondition | undefined> {
  try {
    const node = await admin.call<{ status?: { conditions?: NodeCondition[] } }>(
      "GET",
      `/api/v1/nodes/${name}`,
    );
    return node.status?.conditions?.find((c) => c.type === "Ready") ?? { type: "Ready", status: "Unknown" };
  } catch {
    return undefined;
  }
}

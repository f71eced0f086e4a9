import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { scannerBrowser } from "../../../controller/api/scanner-browser.ts";
import { freePort } from "../../../tools/cluster/ports.ts";

const projectRoot = resolve(import.meta.dirname, "../../..");

export interface BrowserServer {
  endpoint: string;
  /** Chromium processes whose parent is this server (its browsers). */
  browsers(): number;
  stop(): Promise<void>;
}

/**
 * The controller pod's browser container as a host process: the same command (Playwright's server on the
 * loopback, one Chromium per connection), on a free port, with an environment holding nothing but PATH and
 * HOME, as the container's.
 */
export async function startBrowserServer(maxBrowsers = 2): Promise<BrowserServer> {
  const port = await freePort();
  const [, ...args] = scannerBrowser.command(maxBrowsers, port);
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const deadline = Date.now() + 15_000;
  while (!output.includes("Listening on")) {
    if (child.exitCode !== null) throw new Error(`the browser server exited (${child.exitCode}): ${output}`);
    if (Date.now() > deadline) throw new Error(`the browser server did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint: `ws://127.0.0.1:${port}/`,
    browsers: () => childrenNamed(child.pid as number, "chromium"),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

function childrenNamed(parent: number, name: string): number {
  try {
    const children = readFileSync(`/proc/${parent}/task/${parent}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    return children.filter((pid: string) => readFileSync(`/proc/${pid}/comm`, "utf8").trim().startsWith(name))
      .length;
  } catch {
    return 0;
  }
}

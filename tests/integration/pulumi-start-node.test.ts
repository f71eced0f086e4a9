import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { platformDefaults } from "../../controller/api/defaults.ts";
import type { CloudState } from "../../tools/cluster/cloud.ts";
import { type LocalPaths, loadCloudState, stopLocalControlPlane } from "../../tools/cluster/local.ts";
import { readNodeLock } from "../../tools/cluster/node/lock.ts";
import { nodeNetwork } from "../../tools/cluster/node/network.ts";
import { freePort } from "../../tools/cluster/ports.ts";
import { loginAs } from "../../tools/oidc/login.ts";
import { inClusterApiHost } from "../../tools/start-in-cluster.ts";
import { ensurePulumiBinaries } from "../../tools/upstream/binaries.ts";
import { getThroughIngress } from "./support/ingress.ts";
import { eventually } from "./support/kube.ts";
import { govhostLinks } from "./support/node.ts";

// `npm start -- --in-cluster` as a person runs it (the real command, its state in a directory of its own):
// the local cloud, the platform deployed by the local stack from this checkout's image, the demo seeded; the
// in-cluster API answers through the ingress with a token from npm start's OpenID provider; Ctrl-C removes the
// departments, the platform and the cloud, and leaves the machine clean. (The in-cluster controller's
// accessibility scans do not pass yet: Chromium cannot start its sandbox in a restricted pod; see README.)

const minutes = 60_000;
const projectRoot = resolve(import.meta.dirname, "../..");
let dir: string;
let paths: LocalPaths;
let start: ChildProcess;
let output = "";
let exited: Promise<number | null>;
let issuer: string;
let ca: Buffer;

beforeAll(async () => {
  await ensurePulumiBinaries();
  dir = mkdtempSync(join(tmpdir(), "govhost-start-in-cluster-"));
  paths = { state: join(dir, "cluster.json"), kubeconfig: join(dir, "kubeconfig") };
  const oidcPort = await freePort();
  issuer = `http://${nodeNetwork.nodeIp}:${oidcPort}`;
  start = spawn(process.execPath, ["tools/start.ts", "--in-cluster"], {
    cwd: projectRoot,
    env: { ...process.env, GOVHOST_STATE_DIR: dir, GOVHOST_OIDC_PORT: String(oidcPort), KUBECONFIG: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  start.stdout?.on("data", collect);
  start.stderr?.on("data", collect);
  exited = new Promise((done) => start.once("exit", (code) => done(code)));
  await eventually(
    "npm start -- --in-cluster to say it is running",
    async () => {
      if (start.exitCode !== null)
        throw new Error(`npm start exited (${start.exitCode}):\n${output.slice(-4000)}`);
      return output.includes("running; press Ctrl-C to stop") ? true : undefined;
    },
    20 * minutes,
  );
  const cloud = loadCloudState(paths) as CloudState;
  ca = readFileSync(cloud.pki.caCert);
}, 25 * minutes);

afterAll(async () => {
  if (start && start.exitCode === null) {
    start.kill("SIGINT");
    await exited;
  }
  // Only when a step failed before Ctrl-C was tried: the cloud must not outlive the test.
  const stopped = await stopLocalControlPlane(() => {}, paths);
  if (dir) rmSync(dir, { recursive: true, force: true });
  expect(stopped?.problems ?? []).toEqual([]);
}, 10 * minutes);

describe("npm start -- --in-cluster", () => {
  it(
    "serves the seeded demo through the in-cluster API at the ingress, with a token from its OpenID provider",
    async () => {
      const token = await loginAs(issuer, "immd-admin", platformDefaults.apiAudience);
      const listed = await getThroughIngress(
        inClusterApiHost,
        "/api/v1/departments/immd/environments/prod/eservices",
        ca,
        { headers: { authorization: `Bearer ${token}` } },
      );
      expect(listed.status, listed.body).toBe(200);
      const names = (JSON.parse(listed.body) as { items: { name: string }[] }).items.map((e) => e.name);
      expect(names).toEqual(["visa-status"]);
      const catalogue = await getThroughIngress(inClusterApiHost, "/api/v1/service-clusters", ca);
      expect(catalogue.status).toBe(200);
    },
    2 * minutes,
  );

  it(
    "on Ctrl-C removes the departments, the platform and the cloud it started, and leaves the machine clean",
    async () => {
      start.kill("SIGINT");
      expect(await exited).toBe(0);
      expect(output).toContain("the platform is removed and the local cloud stopped");
      expect(existsSync(paths.state)).toBe(false);
      expect(readNodeLock()).toBeUndefined();
      expect(govhostLinks()).toEqual([]);
    },
    10 * minutes,
  );
});

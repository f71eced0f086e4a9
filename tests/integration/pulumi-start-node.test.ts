import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { platformDefaults } from "../../controller/api/defaults.ts";
import { controllerIdentity } from "../../controller/api/rbac.ts";
import { scannerBrowser } from "../../controller/api/scanner-browser.ts";
import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import type { CloudState } from "../../tools/cluster/cloud.ts";
import { type LocalPaths, loadCloudState, stopLocalControlPlane } from "../../tools/cluster/local.ts";
import { localIngress } from "../../tools/cluster/node/ingress.ts";
import { readNodeLock } from "../../tools/cluster/node/lock.ts";
import { nodeNetwork } from "../../tools/cluster/node/network.ts";
import { freePort } from "../../tools/cluster/ports.ts";
import { loginAs } from "../../tools/oidc/login.ts";
import { inClusterApiHost } from "../../tools/start-in-cluster.ts";
import { ensurePulumiBinaries } from "../../tools/upstream/binaries.ts";
import { signInAtProvider } from "./support/browser-sign-in.ts";
import { requireChromium } from "./support/chromium.ts";
import { getThroughIngress } from "./support/ingress.ts";
import { eventually } from "./support/kube.ts";
import { retryingNetworkChange } from "./support/network-change.ts";
import { adminOf, govhostLinks } from "./support/node.ts";

// `npm start -- --in-cluster` as a person runs it (the real command, its state in a directory of its own):
// the local cloud, the platform deployed by the local stack from this checkout's image, the demo seeded; the
// in-cluster API answers through the ingress with a token from npm start's OpenID provider, and its web pages
// sign a demo user in; Ctrl-C removes the
// departments, the platform and the cloud, and leaves the machine clean. The in-cluster controller scans the
// demo e-service with Chromium from its pod's browser container (which holds no credentials) and exposes it.

const minutes = 60_000;

interface Condition {
  type: string;
  status: string;
  reason?: string;
}
type EService = KubeObject & {
  status?: {
    conditions?: Condition[];
    url?: string;
    accessibility?: { image?: string; tiers?: string[]; failedRules?: { id: string; tier: string }[] };
  };
};
type ControllerPod = KubeObject & {
  spec: {
    automountServiceAccountToken?: boolean;
    containers: { name: string; volumeMounts?: { mountPath: string }[] }[];
  };
};
const conditionOf = (status: EService["status"], type: string) =>
  status?.conditions?.find((c) => c.type === type);
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
  // A start that fails ends the wait at once, with what it printed.
  const failed = exited.then((code) => {
    throw new Error(`npm start exited (${code}):\n${output.slice(-4000)}`);
  });
  failed.catch(() => {});
  await Promise.race([
    eventually(
      "npm start -- --in-cluster to say it is running",
      async () => (output.includes("running; press Ctrl-C to stop") ? true : undefined),
      20 * minutes,
    ),
    failed,
  ]);
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
    "signs a demo user in to the web pages the in-cluster API serves, through the ingress, in a real browser",
    async () => {
      const browser = await chromium.launch({
        executablePath: requireChromium(),
        // The ingress's name resolves to the node's address for this browser only.
        args: [`--host-resolver-rules=MAP ${inClusterApiHost} ${localIngress.address}`],
      });
      const pages = `https://${inClusterApiHost}`;
      try {
        // The demo's pods may still be starting on this host's node: their interfaces reset the browser.
        const page = await retryingNetworkChange("signing in through the ingress", async () => {
          // The cluster CA signed the ingress's certificate; this browser has no way to trust a CA file.
          const context = await browser.newContext({ ignoreHTTPSErrors: true });
          const page = await context.newPage();
          await page.goto(`${pages}/departments/immd`);
          expect(page.url().startsWith(issuer), page.url()).toBe(true);
          await signInAtProvider(page, "immd-admin", pages);
          return page;
        });
        expect(new URL(page.url()).pathname).toBe("/departments/immd");
        expect(await page.locator("header").textContent()).toContain("Signed in as immd-admin");
        expect(await page.getByRole("row", { name: /Visa application status/ }).count()).toBe(1);
      } finally {
        await browser.close();
      }
    },
    3 * minutes,
  );

  it(
    "scans the demo e-service with Chromium from the controller pod's browser container, which holds no token; the fixed version, shipped through the API, is exposed",
    async () => {
      const admin = await adminOf(loadCloudState(paths) as CloudState);
      try {
        const status = async () =>
          (await admin.find<EService>(resources.eservice, "visa-status", "immd-prod"))?.status;
        // The broken version: scanned in both tiers; color-contrast needs layout, so Chromium ran.
        let last: EService["status"];
        const scanned = await eventually(
          "visa-status scanned by the in-cluster controller",
          async () => {
            last = await status();
            const reason = conditionOf(last, "AccessibilityBaseline")?.reason;
            return reason && !["ScanPending", "ScanFailed"].includes(reason) ? last : undefined;
          },
          5 * minutes,
        ).catch((error: unknown) => {
          throw new Error(`${String(error)}; last status: ${JSON.stringify(last)}`);
        });
        expect(conditionOf(scanned, "AccessibilityBaseline")?.reason).toBe("Violations");
        expect(scanned?.accessibility?.tiers).toEqual(["chromium", "jsdom"]);
        expect(scanned?.accessibility?.failedRules).toContainEqual(
          expect.objectContaining({ id: "color-contrast", tier: "chromium" }),
        );
        // The department ships the fixed version through the in-cluster API.
        const token = await loginAs(issuer, "immd-admin", platformDefaults.apiAudience);
        const image = scanned?.accessibility?.image?.replace(/:broken$/, ":fixed") as string;
        expect(image).toMatch(/demo-site:fixed$/);
        const patched = await getThroughIngress(
          inClusterApiHost,
          "/api/v1/departments/immd/environments/prod/eservices/visa-status",
          ca,
          {
            method: "PATCH",
            headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
            body: JSON.stringify({ spec: { image } }),
          },
        );
        expect(patched.status, patched.body).toBe(200);
        const exposed = await eventually(
          "the fixed visa-status exposed",
          async () => {
            last = await status();
            return conditionOf(last, "Exposed")?.status === "True" ? last : undefined;
          },
          5 * minutes,
        ).catch((error: unknown) => {
          throw new Error(`${String(error)}; last status: ${JSON.stringify(last)}`);
        });
        expect(conditionOf(exposed, "AccessibilityBaseline")).toMatchObject({
          status: "True",
          reason: "Passed",
        });
        // Exposed means the Ingress is there; the ingress controller routes it once it has read it.
        const page = await eventually("the fixed page through the ingress", async () => {
          const response = await getThroughIngress(new URL(exposed?.url as string).host, "/", ca);
          return response.status === 200 ? response : undefined;
        });
        expect(page.body).toContain('<main id="content">');
        // The pods as admitted, not only as declared: the browser container has no token mounted.
        const pods = await admin.list<ControllerPod>(resources.pod, {
          namespace: controllerIdentity.namespace,
          labelSelector: "app.kubernetes.io/name=govhost-controller",
        });
        expect(pods.items.length).toBeGreaterThan(0);
        for (const pod of pods.items) {
          expect(pod.spec.automountServiceAccountToken).toBe(false);
          const browser = pod.spec.containers.find((c) => c.name === scannerBrowser.containerName);
          expect(browser?.volumeMounts?.map((m) => m.mountPath)).toEqual(["/tmp"]);
        }
      } finally {
        admin.close();
      }
    },
    12 * minutes,
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

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiGateway } from "../../controller/api/api-gateway.ts";
import { controllerIdentity, controllerLeaseName } from "../../controller/api/rbac.ts";
import { workloadManifests } from "../../infra/workloads.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import type { CloudState } from "../../tools/cluster/cloud.ts";
import {
  ensureLocalControlPlane,
  type LocalPaths,
  stopLocalControlPlane,
} from "../../tools/cluster/local.ts";
import { govhostImageSpec } from "../../tools/image/govhost-image-spec.ts";
import type { PushedImage } from "../../tools/image/push.ts";
import { localStackBaseline, preparePlatform } from "../../tools/install-platform.ts";
import { departmentManifest, isReady, waitForDepartment } from "./support/govhost.ts";
import { eventually } from "./support/kube.ts";
import {
  adminOf,
  hostPidOfController,
  podLog,
  pushGovhostImage,
  requireNode,
  waitForPod,
} from "./support/node.ts";

// The govhost image (built without a Docker engine by `npm run image:govhost`) running the platform's own
// controller in the cluster, from the manifests Pulumi deploys (infra/workloads.ts): two replicas with
// in-cluster credentials, one leading. No controller runs on the host in this file.

const minutes = 60_000;
const namespace = controllerIdentity.namespace;

let dir: string;
let paths: LocalPaths;
let cloud: CloudState;
let admin: KubeClient;
let image: PushedImage;

interface Lease extends KubeObject {
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; leaseTransitions?: number };
}
interface PodObject extends KubeObject {
  status?: { podIP?: string; phase?: string };
}

const lease = () => admin.get<Lease>(resources.lease, controllerLeaseName, namespace);
const controllerPods = async () =>
  (
    await admin.list<PodObject>(resources.pod, {
      namespace,
      labelSelector: "app.kubernetes.io/name=govhost-controller",
    })
  ).items.filter((pod) => !pod.metadata?.deletionTimestamp);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "govhost-image-it-"));
  paths = { state: join(dir, "cluster.json"), kubeconfig: join(dir, "kubeconfig") };
  ({ state: cloud } = await ensureLocalControlPlane(() => {}, paths));
  const node = requireNode(cloud);
  // The platform's CRDs, namespaces, RBAC and baseline, as npm start and Pulumi install them.
  await preparePlatform(cloud.kubeconfig, join(dir, "controller.kubeconfig"), join(dir, "api.kubeconfig"), {
    baseline: localStackBaseline,
  });
  admin = await adminOf(cloud);
  image = pushGovhostImage(node, "platform image");
}, 30 * minutes);

afterAll(async () => {
  admin?.close();
  const stopped = await stopLocalControlPlane(() => {}, paths);
  if (dir) rmSync(dir, { recursive: true, force: true });
  expect(stopped?.problems ?? []).toEqual([]);
}, 5 * minutes);

describe("the govhost image", () => {
  it(
    "runs as its non-root user on a read-only root file system, with Node 24 and Chromium",
    async () => {
      const name = "govhost-image-check";
      const script = [
        "const fs = require('node:fs');",
        "let write = 'written';",
        "try { fs.writeFileSync('/app/probe', 'x'); } catch (e) { write = e.code; }",
        "const chromium = require('node:child_process').execFileSync(process.env.GOVHOST_CHROMIUM, ['--version']).toString().trim();",
        "console.log('facts ' + JSON.stringify({ uid: process.getuid(), node: process.versions.node, cwd: process.cwd(), write, chromium }));",
      ].join(" ");
      await admin.create({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace },
        spec: {
          restartPolicy: "Never",
          securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "check",
              image: `${image.ref}@${image.digest}`,
              command: ["node", "-e", script],
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
              },
              resources: { limits: { cpu: "500m", memory: "512Mi" } },
            },
          ],
        },
      } as KubeObject);
      await waitForPod(admin, namespace, name, ["Succeeded", "Failed"], 10 * minutes);
      const log = await podLog(admin, namespace, name);
      const line = log.split("\n").find((l) => l.startsWith("facts ")) ?? "facts {}";
      const facts = JSON.parse(line.slice("facts ".length)) as Record<string, unknown>;
      expect(facts).toMatchObject({
        uid: govhostImageSpec.user.uid,
        cwd: govhostImageSpec.workdir,
        write: "EROFS",
      });
      expect(String(facts.node).split(".")[0]).toBe(String(govhostImageSpec.nodeMajor));
      expect(String(facts.chromium)).toMatch(/^Chromium \d+\./);
    },
    12 * minutes,
  );
});

describe("the controller in the cluster, from the image", () => {
  it(
    "runs two ready replicas with in-cluster credentials, one leading and the gateway check's only endpoint",
    async () => {
      const manifests = workloadManifests({
        images: { controller: `${image.ref}@${image.digest}`, portalApi: `${image.ref}@${image.digest}` },
        ingressControllerNamespace: "govhost-ingress",
        oidc: { issuer: "https://login.gov.example", audience: "unused", clientId: "unused" },
        auditStorage: "1Gi",
        serviceMonitor: false,
      }).filter((m) =>
        ["govhost-controller", apiGateway.checkService.name].includes(m.metadata.name as string),
      );
      expect(manifests.map((m) => m.kind).sort()).toEqual(["Deployment", "Service", "Service"]);
      for (const manifest of manifests)
        await admin.apply(manifest as KubeObject, { fieldManager: "govhost-test" });

      await eventually(
        "both controller replicas ready",
        async () => {
          const deployment = await admin.get<KubeObject & { status?: { readyReplicas?: number } }>(
            resources.deployment,
            "govhost-controller",
            namespace,
          );
          return deployment.status?.readyReplicas === 2 ? deployment : undefined;
        },
        10 * minutes,
      );
      const pods = await controllerPods();
      const holder = (await eventually(
        "a leader",
        async () => (await lease()).spec.holderIdentity,
      )) as string;
      expect(pods.map((p) => p.metadata?.name)).toContain(holder);
      await expectCheckEndpointAt(holder);

      const first = departmentManifest("imgone");
      await admin.create(first as KubeObject);
      const ready = await waitForDepartment(
        admin,
        "imgone",
        isReady,
        "Ready, from the in-cluster controller",
        2 * minutes,
      );
      expect(ready.status?.namespaces?.length).toBeGreaterThan(0);
    },
    15 * minutes,
  );

  /** Deletes the leader's pod (after `crash`, if given) and waits for another replica to hold the lease. */
  async function replaceLeader(crash: boolean): Promise<{ before: Lease; after: Lease; seconds: number }> {
    const before = await lease();
    const oldLeader = before.spec.holderIdentity as string;
    const started = Date.now();
    // A crash: the process dies at once (SIGKILL from the host, which runs the node), so the lease is not
    // given up; the pod is then deleted so the same replica does not come back under the same name.
    if (crash) process.kill(hostPidOfController(oldLeader), "SIGKILL");
    await admin.call("DELETE", `/api/v1/namespaces/${namespace}/pods/${oldLeader}`, {
      query: { gracePeriodSeconds: crash ? 0 : 30 },
    });
    const after = await eventually(
      "another replica holds the lease",
      async () => {
        const now = await lease();
        return now.spec.holderIdentity && now.spec.holderIdentity !== oldLeader ? now : undefined;
      },
      3 * minutes,
    );
    const seconds = (Date.now() - started) / 1000;
    process.stderr.write(
      `platform image: ${crash ? "crash" : "graceful stop"}: ${after.spec.holderIdentity} took the lease ${seconds.toFixed(1)} s after ${oldLeader} went (lease duration ${before.spec.leaseDurationSeconds} s)\n`,
    );
    expect(after.spec.leaseTransitions).toBe((before.spec.leaseTransitions ?? 0) + 1);
    return { before, after, seconds };
  }

  async function expectCheckEndpointAt(holder: string) {
    await eventually(`the check's endpoint is ${holder}`, async () => {
      const pod = (await controllerPods()).find((p) => p.metadata?.name === holder);
      const slice = await admin.get<KubeObject & { endpoints?: { addresses: string[] }[] }>(
        resources.endpointSlice,
        `${apiGateway.checkService.name}-leader`,
        namespace,
      );
      return pod?.status?.podIP && slice.endpoints?.[0]?.addresses[0] === pod.status.podIP
        ? slice
        : undefined;
    });
  }

  it(
    "hands over at once when the leader stops gracefully (it gives the lease up)",
    async () => {
      const { after } = await replaceLeader(false);
      await admin.create(departmentManifest("imgtwo") as KubeObject);
      await waitForDepartment(admin, "imgtwo", isReady, "Ready, from the new leader", 2 * minutes);
      await expectCheckEndpointAt(after.spec.holderIdentity as string);
    },
    10 * minutes,
  );

  it(
    "hands over when the leader crashes: the standby takes the lease once it expires and reconciles the next Department",
    async () => {
      // Both replicas ready again (the Deployment replaced the pod deleted above), so there is a standby.
      await eventually(
        "two controller replicas again",
        async () =>
          (await controllerPods()).filter((p) => p.status?.phase === "Running").length === 2
            ? true
            : undefined,
        5 * minutes,
      );
      const { after, seconds } = await replaceLeader(true);
      await admin.create(departmentManifest("imgthree") as KubeObject);
      const ready = Date.now();
      await waitForDepartment(admin, "imgthree", isReady, "Ready, from the new leader", 2 * minutes);
      process.stderr.write(
        `platform image: crash: the next Department was Ready ${(seconds + (Date.now() - ready) / 1000).toFixed(1)} s after the kill\n`,
      );
      await expectCheckEndpointAt(after.spec.holderIdentity as string);
    },
    10 * minutes,
  );
});

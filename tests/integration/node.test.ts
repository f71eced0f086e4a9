import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { type CloudState, startCloud, stopCloud } from "../../tools/cluster/cloud.ts";
import {
  ensureLocalControlPlane,
  type LocalPaths,
  stopLocalControlPlane,
} from "../../tools/cluster/local.ts";
import { buildImage, importImage } from "../../tools/cluster/node/images.ts";
import { nodeNetwork } from "../../tools/cluster/node/network.ts";
import { resolveControlPlaneBinaries } from "../../tools/upstream/binaries.ts";
import { pinnedVersions } from "../../tools/upstream/versions.ts";
import { hostSnapshot } from "./support/host-snapshot.ts";
import { eventually, uniqueName } from "./support/kube.ts";
import { adminOf, podLog, requireNode, waitForPod } from "./support/node.ts";

// The real node (issue #14, step 1). This file brings up its own local cloud through the same code as
// `npm run cluster:up` (state and kubeconfig in a temporary directory instead of .govhost/), separate from
// the run's shared node-less control plane, where the other tests still play the kubelet
// (support/kubelet.ts): a real kubelet there would fight them. It records the machine first and, last,
// proves that `cluster:down` puts it back.
//
// Images: the local registry comes in a later step, so the images here are built with umoci and imported
// into the node's containerd with `ctr images import`, and the pods use `imagePullPolicy: Never`. This is
// acceptable for this step only; the security baseline requires `Always` and a registry.

const dir = mkdtempSync(join(tmpdir(), "govhost-node-it-"));
const paths: LocalPaths = { state: join(dir, "cluster.json"), kubeconfig: join(dir, "kubeconfig") };
const busyboxImage = "govhost.local/busybox:node-test";
const kubectlImage = "govhost.local/kubectl:node-test";

let before: ReturnType<typeof hostSnapshot>;
let cloud: CloudState;
let admin: KubeClient;
let stopped = false;

const namespace = uniqueName("node");

function pod(
  name: string,
  image: string,
  command: string[],
  extra: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{ name: "main", image, imagePullPolicy: "Never", command, ...extra }],
      ...(command.length > 0 && extra.readinessProbe === undefined ? { restartPolicy: "Never" } : {}),
    },
  };
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: 5_000 }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end();
  });
}

beforeAll(async () => {
  before = hostSnapshot();
  const started = Date.now();
  ({ state: cloud } = await ensureLocalControlPlane(() => {}, paths));
  process.stderr.write(`node test: local cloud up in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
  requireNode(cloud);
  admin = await adminOf(cloud);
}, 600_000);

afterAll(async () => {
  admin?.close();
  if (!stopped) await stopLocalControlPlane(() => {}, paths);
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe("the local cloud's real node", () => {
  it("registers as Ready with the pinned kubelet and containerd", async () => {
    const node = requireNode(cloud);
    const object = await admin.call<{
      status: {
        conditions: { type: string; status: string }[];
        nodeInfo: Record<string, string>;
        addresses: { type: string; address: string }[];
      };
    }>("GET", `/api/v1/nodes/${node.name}`);
    expect(object.status.conditions.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(object.status.nodeInfo.kubeletVersion).toBe(pinnedVersions().kubernetes);
    expect(object.status.nodeInfo.containerRuntimeVersion).toBe(
      `containerd://${pinnedVersions().containerd.replace(/^v/, "")}`,
    );
    expect(object.status.addresses).toContainEqual({ type: "InternalIP", address: nodeNetwork.nodeIp });
  });

  it("publishes the API server's node address as the endpoints of the kubernetes Service", async () => {
    const endpoints = await eventually("kubernetes Service endpoints", async () => {
      const slice = await admin.call<{ endpoints?: { addresses: string[] }[] }>(
        "GET",
        "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes",
      );
      return slice.endpoints?.length ? slice.endpoints : undefined;
    });
    expect(endpoints[0]?.addresses).toEqual([nodeNetwork.nodeIp]);
  });

  it("runs a pod from a locally built image, and its Service answers through kube-proxy", async () => {
    const node = requireNode(cloud);
    const work = join(dir, "images");
    importImage(
      node.binaries.ctr,
      node.containerdSocket,
      buildImage(
        { ref: busyboxImage, files: { "/bin/busybox": "/bin/busybox" }, busyboxApplets: "/bin/busybox" },
        work,
      ),
      busyboxImage,
    );
    importImage(
      node.binaries.ctr,
      node.containerdSocket,
      buildImage({ ref: kubectlImage, files: { [node.binaries.kubectl]: "/bin/kubectl" } }, work),
      kubectlImage,
    );
    await admin.call("POST", "/api/v1/namespaces", {
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
    });
    await eventually("the namespace's default service account", () =>
      admin.call("GET", `/api/v1/namespaces/${namespace}/serviceaccounts/default`),
    );
    const web = pod(
      "web",
      busyboxImage,
      [
        "sh",
        "-c",
        "mkdir -p /www && echo hello from govhost > /www/index.html && exec httpd -f -p 8080 -h /www",
      ],
      {
        ports: [{ containerPort: 8080 }],
        readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
      },
    );
    await admin.call("POST", `/api/v1/namespaces/${namespace}/pods`, { body: web });
    await admin.call("POST", `/api/v1/namespaces/${namespace}/services`, {
      body: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web", namespace },
        spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    const running = await waitForPod(admin, namespace, "web", ["Running"]);
    expect((running.spec as { nodeName?: string }).nodeName).toBe(requireNode(cloud).name);
    const service = await admin.call<{ spec: { clusterIP: string } }>(
      "GET",
      `/api/v1/namespaces/${namespace}/services/web`,
    );
    const body = await eventually("the Service's ClusterIP to answer", () =>
      httpGet(`http://${service.spec.clusterIP}/`).catch(() => undefined),
    );
    expect(body).toBe("hello from govhost\n");
  });

  it("resolves the Service's name from another pod through cluster DNS and reaches it", async () => {
    const fqdn = `web.${namespace}.svc.cluster.local`;
    await admin.call("POST", `/api/v1/namespaces/${namespace}/pods`, {
      body: pod("client", busyboxImage, [
        "sh",
        "-c",
        `nslookup ${fqdn} && printf 'GET / HTTP/1.0\\r\\nHost: web\\r\\n\\r\\n' | nc web 80`,
      ]),
    });
    await waitForPod(admin, namespace, "client", ["Succeeded"]);
    const service = await admin.call<{ spec: { clusterIP: string } }>(
      "GET",
      `/api/v1/namespaces/${namespace}/services/web`,
    );
    const log = String(await podLog(admin, namespace, "client"));
    expect(log).toContain(`Name:\t${fqdn}`);
    expect(log).toContain(`Address: ${service.spec.clusterIP}`);
    expect(log).toContain("hello from govhost");
  });

  it("lets a pod call the API server in-cluster with its service-account token", async () => {
    await admin.call("POST", `/api/v1/namespaces/${namespace}/pods`, {
      body: pod("in-cluster", kubectlImage, [
        "/bin/kubectl",
        "auth",
        "whoami",
        "-o",
        'jsonpath={.status.userInfo.username}{"\\n"}',
      ]),
    });
    await waitForPod(admin, namespace, "in-cluster", ["Succeeded"]);
    expect(String(await podLog(admin, namespace, "in-cluster")).trim()).toBe(
      `system:serviceaccount:${namespace}:default`,
    );
    await admin.call("POST", `/api/v1/namespaces/${namespace}/pods`, {
      body: pod("read-api", kubectlImage, ["/bin/kubectl", "get", "--raw", "/api"]),
    });
    await waitForPod(admin, namespace, "read-api", ["Succeeded"]);
    const api = await podLog(admin, namespace, "read-api");
    const parsed = (typeof api === "string" ? JSON.parse(api) : api) as { kind: string; versions: string[] };
    expect(parsed.kind).toBe("APIVersions");
    expect(parsed.versions).toContain("v1");
  });

  it("gives a second run on this machine a node-less control plane that says why", async () => {
    const second = await startCloud({
      binaries: resolveControlPlaneBinaries({ build: false }),
      kubeconfig: join(dir, "second.kubeconfig"),
      tmpRoot: dir,
      node: true,
    });
    try {
      expect(second.node).toBeUndefined();
      expect(second.nodeAbsent).toContain("another govhost node runs on this machine");
      const client = await adminOf(second);
      try {
        const ns = await client.call<{ metadata: { name: string } }>("GET", "/api/v1/namespaces/default");
        expect(ns.metadata.name).toBe("default");
      } finally {
        client.close();
      }
      expect(() => requireNode(second)).toThrow(/needs a real node and there is none: another govhost node/);
    } finally {
      expect(await stopCloud(second)).toEqual([]);
    }
  });

  it("cluster:down stops the node and leaves the machine as it was", async () => {
    const result = await stopLocalControlPlane(() => {}, paths);
    stopped = true;
    expect(result?.problems).toEqual([]);
    const after = hostSnapshot();
    expect(after).toEqual(before);
  });
});

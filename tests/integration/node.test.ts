import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { type CloudState, startCloud, stopCloud } from "../../tools/cluster/cloud.ts";
import {
  ensureLocalControlPlane,
  type LocalPaths,
  stopLocalControlPlane,
} from "../../tools/cluster/local.ts";
import { nodeNetwork } from "../../tools/cluster/node/network.ts";
import { localRegistry } from "../../tools/cluster/node/registry.ts";
import { buildOciLayout, type ImageSpec } from "../../tools/image/oci-image.ts";
import { type PushedImage, pushToLocalRegistry } from "../../tools/image/push.ts";
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
// Images are built by the project's image tool (umoci), pushed to the node's registry (skopeo, host-only
// endpoint) and pulled by containerd by name over HTTPS with `imagePullPolicy: Always`, as the security
// baseline requires of tenants.

const dir = mkdtempSync(join(tmpdir(), "govhost-node-it-"));
const paths: LocalPaths = { state: join(dir, "cluster.json"), kubeconfig: join(dir, "kubeconfig") };
let busyboxImage: PushedImage;
let kubectlImage: PushedImage;

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
      containers: [{ name: "main", image, imagePullPolicy: "Always", command, ...extra }],
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

function httpsStatus(url: string, method: string, ca: Buffer): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, ca, timeout: 5_000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
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

  it("runs a pod from an image pulled from the local registry, and its Service answers through kube-proxy", async () => {
    const node = requireNode(cloud);
    const push = (repository: string, spec: ImageSpec) =>
      pushToLocalRegistry(buildOciLayout(spec, join(dir, "images")), repository, node.registry.pushAddress);
    // As a department would: `npm run image` with this cloud's state prints the reference and the digest.
    const [ref, digest] = execFileSync(
      process.execPath,
      [
        fileURLToPath(new URL("../../tools/image/cli.ts", import.meta.url)),
        ...["--state", paths.state, "--name", "govhost/busybox:node-test"],
        ...["--add", "/bin/busybox:/bin/busybox", "--busybox", "/bin/busybox"],
      ],
      { encoding: "utf8" },
    )
      .trim()
      .split("\n");
    busyboxImage = { ref: String(ref), digest: String(digest) };
    expect(busyboxImage.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    kubectlImage = push("govhost/kubectl", {
      tag: "node-test",
      files: { [node.binaries.kubectl]: "/bin/kubectl" },
    });
    expect(busyboxImage.ref).toBe(`${localRegistry.host}/govhost/busybox:node-test`);
    await admin.call("POST", "/api/v1/namespaces", {
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
    });
    await eventually("the namespace's default service account", () =>
      admin.call("GET", `/api/v1/namespaces/${namespace}/serviceaccounts/default`),
    );
    const web = pod(
      "web",
      busyboxImage.ref,
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
    // The kubelet ran exactly what was pushed: containerd resolved the name to the registry's manifest.
    const [status] = (running.status as { containerStatuses: { imageID: string }[] }).containerStatuses;
    expect(status?.imageID).toBe(`${localRegistry.host}/govhost/busybox@${busyboxImage.digest}`);
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
      body: pod("client", busyboxImage.ref, [
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
      body: pod("in-cluster", kubectlImage.ref, [
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
      body: pod("read-api", kubectlImage.ref, ["/bin/kubectl", "get", "--raw", "/api"]),
    });
    await waitForPod(admin, namespace, "read-api", ["Succeeded"]);
    const api = await podLog(admin, namespace, "read-api");
    const parsed = (typeof api === "string" ? JSON.parse(api) : api) as { kind: string; versions: string[] };
    expect(parsed.kind).toBe("APIVersions");
    expect(parsed.versions).toContain("v1");
  });

  it("takes image pushes only from the host: pods reach the pull endpoint, which refuses uploads", async () => {
    const node = requireNode(cloud);
    // The pull endpoint on the node address, which pods can reach, refuses to start an upload.
    const upload = await httpsStatus(
      `https://${node.registry.pullAddress}/v2/govhost/busybox/blobs/uploads/`,
      "POST",
      readFileSync(cloud.pki.caCert),
    );
    expect(upload).toBe(405);
    // From a pod: the pull endpoint answers, the host's push port is not there (it listens on the loopback).
    const pushPort = node.registry.pushAddress.split(":")[1];
    const [pullHost, pullPort] = node.registry.pullAddress.split(":");
    await admin.call("POST", `/api/v1/namespaces/${namespace}/pods`, {
      body: pod("attacker", busyboxImage.ref, [
        "sh",
        "-c",
        // Plain HTTP to each port: the TLS endpoint answers 400 (so it was reached); a closed port refuses.
        `printf 'GET /v2/ HTTP/1.0\\r\\n\\r\\n' | timeout 3 nc ${pullHost} ${pullPort} 2>&1; echo "--"; printf 'GET /v2/ HTTP/1.0\\r\\n\\r\\n' | timeout 3 nc ${nodeNetwork.nodeIp} ${pushPort} 2>&1; true`,
      ]),
    });
    await waitForPod(admin, namespace, "attacker", ["Succeeded"]);
    const [pull, push] = String(await podLog(admin, namespace, "attacker")).split("--");
    expect(pull).toContain("400 Bad Request");
    expect(push).toContain("Connection refused");
  });

  it("reports an image the registry does not have as a pull error", async () => {
    await admin.call("POST", `/api/v1/namespaces/${namespace}/pods`, {
      body: pod("missing-image", `${localRegistry.host}/govhost/not-pushed:1.0.0`, ["sh"]),
    });
    const reason = await eventually("the pull error", async () => {
      const p = await admin.call<{
        status?: { containerStatuses?: { state?: { waiting?: { reason?: string; message?: string } } }[] };
      }>("GET", `/api/v1/namespaces/${namespace}/pods/missing-image`);
      const waiting = p.status?.containerStatuses?.[0]?.state?.waiting;
      return waiting?.reason && /ErrImagePull|ImagePullBackOff/.test(waiting.reason) ? waiting : undefined;
    });
    expect(reason.message).toContain("not found");
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

import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { KubeClient } from "../../../lib/kube/client.ts";
import type { ControlPlaneState } from "../controlplane.ts";
import { kubeConfigFrom } from "../credentials.ts";
import { freePorts } from "../ports.ts";
import type { ManagedProcess } from "../processes.ts";
import { bootstrapNodeObjects } from "./bootstrap.ts";
import { containerdPaths, containerdReady, pauseImage, startContainerd } from "./containerd.ts";
import { startCoreDns } from "./dns.ts";
import { loadImage } from "./images.ts";
import { deployIngressController, ingressAnswers, localIngress } from "./ingress.ts";
import { startKubeProxy } from "./kube-proxy.ts";
import { startKubelet } from "./kubelet.ts";
import { updateNodeLock } from "./lock.ts";
import { deployMetricsServer } from "./metrics-server.ts";
import { networkPolicyEnforced, startNetworkPolicyEnforcer } from "./network-policy.ts";
import { createNodePki, type NodePki } from "./pki.ts";
import { deployPrometheus } from "./prometheus.ts";
import { localRegistry, registryAnswers, registryBinary, startRegistry } from "./registry.ts";
import { startScheduler } from "./scheduler.ts";
import { defaultNodeName, type NodeState, type PreparedNode } from "./state.ts";
import { stopNode } from "./stop.ts";
import { applyLocalStorage } from "./storage.ts";
import { httpOk, nodeReadiness, waitFor } from "./wait.ts";

const portNames = [
  "kubelet",
  "kubeletHealthz",
  "proxyHealthz",
  "proxyMetrics",
  "scheduler",
  "dnsHealth",
  "dnsReady",
  "registryPush",
] as const;
type NodePorts = Record<(typeof portNames)[number], number>;

async function nodePorts(): Promise<NodePorts> {
  const free = await freePorts(portNames.length);
  return Object.fromEntries(portNames.map((name, i) => [name, free[i] as number])) as NodePorts;
}

/** The registry, kube-scheduler, CoreDNS, the kubelet and kube-proxy, with the node's certificates. */
function startNodeDaemons(
  cp: ControlPlaneState,
  state: NodeState,
  pki: NodePki,
  ports: NodePorts,
): ManagedProcess[] {
  const bin = state.binaries;
  const common = { nodeDir: state.dir, logDir: join(cp.workDir, "logs"), server: cp.server, pki };
  const registry = startRegistry({
    binary: registryBinary,
    nodeDir: state.dir,
    logDir: common.logDir,
    pushPort: ports.registryPush,
    tls: { certificate: pki.registryCert, key: pki.registryKey },
  });
  return [
    ...registry.processes,
    startScheduler({ ...common, binary: bin.kubeScheduler, port: ports.scheduler }),
    startCoreDns({ ...common, binary: bin.coredns, healthPort: ports.dnsHealth, readyPort: ports.dnsReady }),
    startKubelet({
      ...common,
      binary: bin.kubelet,
      nodeName: state.name,
      containerdSocket: state.containerdSocket,
      port: ports.kubelet,
      healthzPort: ports.kubeletHealthz,
    }),
    startKubeProxy({
      ...common,
      binary: bin.kubeProxy,
      nodeName: state.name,
      healthzPort: ports.proxyHealthz,
      metricsPort: ports.proxyMetrics,
    }),
  ];
}

/**
 * Starts the node beside a running control plane (which listens on the node address): containerd with the
 * pause image, the node's certificates and cluster objects, kube-scheduler, CoreDNS, the kubelet and
 * kube-proxy, then NetworkPolicy enforcement; waits until the Node is Ready, policies are enforced and DNS
 * answers. On failure everything started is stopped and
 * the machine put back; the caller then stops its control plane (it listens on the node address).
 */
export async function startNode(
  cp: ControlPlaneState,
  prepared: PreparedNode,
  progress: (message: string) => void,
  timeoutMs = 120_000,
): Promise<NodeState> {
  const dir = join(cp.workDir, "node");
  const logDir = join(cp.workDir, "logs");
  mkdirSync(dir, { recursive: true });
  const ports = await nodePorts();
  const bin = prepared.binaries;
  const socket = containerdPaths(dir).socket;
  const state: NodeState = {
    name: defaultNodeName,
    dir,
    lockId: prepared.lockId,
    binaries: bin,
    containerdSocket: socket,
    ports: { kubelet: ports.kubelet, kubeletHealthz: ports.kubeletHealthz, dnsReady: ports.dnsReady },
    registry: { pushAddress: `127.0.0.1:${ports.registryPush}`, pullAddress: localRegistry.pullAddress },
    processes: [],
    hostBefore: prepared.hostBefore,
  };
  // The machine lock names every daemon, so another start can tell whether this node still runs.
  const recordPidsInLock = () =>
    updateNodeLock({
      id: prepared.lockId,
      owner: prepared.owner,
      statePath: prepared.statePath,
      workDir: cp.workDir,
      pids: state.processes.map((p) => p.pid),
      since: new Date().toISOString(),
    });
  const admin = await KubeClient.fromKubeConfig(kubeConfigFrom(cp.kubeconfig));
  try {
    progress("starting containerd");
    state.processes.push(startContainerd(bin.containerd, dir, logDir, cp.pki.caCert));
    await waitFor("containerd", async () => containerdReady(bin.ctr, socket), state.processes, 30_000);
    progress(`importing the pause image ${pauseImage} (Debian's catatonit)`);
    loadImage(
      bin.ctr,
      socket,
      pauseImage,
      { files: { "/usr/bin/catatonit": "/catatonit" }, entrypoint: ["/catatonit", "-P"] },
      join(dir, "images"),
    );
    await bootstrapNodeObjects(admin);
    await applyLocalStorage(admin, state.name, dir);
    progress("starting the registry, kube-scheduler, CoreDNS, kubelet, kube-proxy");
    const pki = createNodePki(cp.pki, state.name);
    state.processes.push(...startNodeDaemons(cp, state, pki, ports));
    recordPidsInLock();
    await waitFor(
      `node ${state.name} Ready`,
      async () => (await nodeReadiness(admin, state.name))?.status === "True",
      state.processes,
      timeoutMs,
    );
    // After the Node exists (kube-router reads it at start), before any pod runs: no pod starts unfiltered.
    progress("starting NetworkPolicy enforcement (kube-router's firewall)");
    state.processes.push(
      startNetworkPolicyEnforcer({
        binary: bin.kubeRouter,
        nodeName: state.name,
        nodeDir: dir,
        logDir,
        server: cp.server,
        pki,
      }),
    );
    recordPidsInLock();
    await waitFor(
      "NetworkPolicy enforcement",
      async () => networkPolicyEnforced(),
      state.processes,
      timeoutMs,
    );
    await waitFor(
      "CoreDNS ready",
      () => httpOk(`http://127.0.0.1:${ports.dnsReady}/ready`),
      state.processes,
      timeoutMs,
    );
    const clusterCa = readFileSync(cp.pki.caCert);
    await waitFor(
      "the registry's pull and push endpoints",
      () => registryAnswers(state.registry, clusterCa),
      state.processes,
      timeoutMs,
    );
    await waitFor(
      "kube-proxy healthy",
      () => httpOk(`http://127.0.0.1:${ports.proxyHealthz}/healthz`),
      state.processes,
      timeoutMs,
    );
    progress(
      "deploying the ingress controller (Traefik), metrics-server and Prometheus from the local registry",
    );
    await deployIngressController(admin, {
      binary: bin.traefik,
      pushAddress: state.registry.pushAddress,
      certificate: { cert: pki.ingressCert, key: pki.ingressKey },
    });
    await deployMetricsServer(admin, {
      binary: bin.metricsServer,
      pushAddress: state.registry.pushAddress,
      certificate: { cert: pki.metricsServerCert, key: pki.metricsServerKey, ca: cp.pki.caCert },
    });
    await deployPrometheus(admin, { binary: bin.prometheus, pushAddress: state.registry.pushAddress });
    await waitFor(
      `the ingress controller on https://${localIngress.address}`,
      () => ingressAnswers(clusterCa),
      state.processes,
      timeoutMs,
    );
    // Not awaited: metrics-server is Available only after its first scrape (about 20 s); until then
    // `consumed` metering bills requests, as without a metrics API. cluster:status shows it.
    return state;
  } catch (error) {
    const problems = await stopNode(state, cp, () => {});
    if (problems.length > 0) progress(`could not undo everything: ${problems.join("; ")}`);
    throw error;
  } finally {
    admin.close();
  }
}

import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { KubeClient } from "../../../lib/kube/client.ts";
import type { NodeBinaries } from "../../upstream/binaries.ts";
import type { ControlPlaneState } from "../controlplane.ts";
import { kubeConfigFrom } from "../credentials.ts";
import { freePorts } from "../ports.ts";
import { isAlive, logTail, type ManagedProcess, stopProcess } from "../processes.ts";
import { bootstrapNodeObjects } from "./bootstrap.ts";
import { containerdPaths, containerdReady, ctr, pauseImage, startContainerd } from "./containerd.ts";
import { startCoreDns } from "./dns.ts";
import { type HostState, pidsInNewCgroups, restoreHostState } from "./host-state.ts";
import { loadImage } from "./images.ts";
import { cleanupKubeProxy, startKubeProxy } from "./kube-proxy.ts";
import { startKubelet } from "./kubelet.ts";
import { lockIsLive, readNodeLock, releaseNodeLock, updateNodeLock } from "./lock.ts";
import { deleteNodeLinks } from "./network.ts";
import { createNodePki } from "./pki.ts";
import { startScheduler } from "./scheduler.ts";
import { killAll, processesMentioning, unmountUnder } from "./sweep.ts";

export const defaultNodeName = "govhost-node";

/** A running node: persisted with the control plane's state so cluster:down can stop it. */
export interface NodeState {
  name: string;
  dir: string;
  lockId: string;
  binaries: NodeBinaries;
  containerdSocket: string;
  ports: { kubelet: number; kubeletHealthz: number; dnsReady: number };
  /** containerd first; stopped in reverse order. */
  processes: ManagedProcess[];
  /** The machine before the node started: what stopping puts back. */
  hostBefore: HostState;
}

/** What a started node needs from its preparation (prepare.ts): the lock is held and the link exists. */
export interface PreparedNode {
  lockId: string;
  owner: string;
  statePath?: string;
  binaries: NodeBinaries;
  hostBefore: HostState;
}

export const newLockId = () => randomUUID();

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, procs: ManagedProcess[], ms: number) {
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

/**
 * Starts the node beside a running control plane (which listens on the node address): containerd with the
 * pause image, the node's certificates and cluster objects, kube-scheduler, CoreDNS, the kubelet and
 * kube-proxy; waits until the Node is Ready and DNS answers. On failure everything started is stopped and
 * the machine put back (the caller's control plane keeps running).
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
  const [kubelet, kubeletHealthz, proxyHealthz, proxyMetrics, scheduler, dnsHealth, dnsReady] =
    (await freePorts(7)) as [number, number, number, number, number, number, number];
  const bin = prepared.binaries;
  const socket = containerdPaths(dir).socket;
  const state: NodeState = {
    name: defaultNodeName,
    dir,
    lockId: prepared.lockId,
    binaries: bin,
    containerdSocket: socket,
    ports: { kubelet, kubeletHealthz, dnsReady },
    processes: [],
    hostBefore: prepared.hostBefore,
  };
  const admin = await KubeClient.fromKubeConfig(kubeConfigFrom(cp.kubeconfig));
  try {
    progress("starting containerd");
    state.processes.push(startContainerd(bin.containerd, dir, logDir));
    await waitFor("containerd", async () => containerdReady(bin.ctr, socket), state.processes, 30_000);
    progress(`importing the pause image ${pauseImage} (Debian's catatonit)`);
    loadImage(
      bin.ctr,
      socket,
      { ref: pauseImage, files: { "/usr/bin/catatonit": "/catatonit" }, entrypoint: ["/catatonit", "-P"] },
      join(dir, "images"),
    );
    const pki = createNodePki(cp.pki, state.name);
    await bootstrapNodeObjects(admin);
    progress("starting kube-scheduler, CoreDNS, kubelet, kube-proxy");
    state.processes.push(
      startScheduler({
        binary: bin.kubeScheduler,
        nodeDir: dir,
        logDir,
        server: cp.server,
        pki,
        port: scheduler,
      }),
    );
    state.processes.push(
      startCoreDns({
        binary: bin.coredns,
        nodeDir: dir,
        logDir,
        server: cp.server,
        pki,
        healthPort: dnsHealth,
        readyPort: dnsReady,
      }),
    );
    state.processes.push(
      startKubelet({
        binary: bin.kubelet,
        nodeName: state.name,
        nodeDir: dir,
        logDir,
        server: cp.server,
        pki,
        containerdSocket: socket,
        port: kubelet,
        healthzPort: kubeletHealthz,
      }),
    );
    state.processes.push(
      startKubeProxy({
        binary: bin.kubeProxy,
        nodeName: state.name,
        nodeDir: dir,
        logDir,
        server: cp.server,
        pki,
        healthzPort: proxyHealthz,
        metricsPort: proxyMetrics,
      }),
    );
    updateNodeLock({
      id: prepared.lockId,
      owner: prepared.owner,
      statePath: prepared.statePath,
      workDir: cp.workDir,
      pids: state.processes.map((p) => p.pid),
      since: new Date().toISOString(),
    });
    await waitFor(
      `node ${state.name} Ready`,
      async () => (await nodeReadiness(admin, state.name))?.status === "True",
      state.processes,
      timeoutMs,
    );
    await waitFor(
      "CoreDNS ready",
      () => httpOk(`http://127.0.0.1:${dnsReady}/ready`),
      state.processes,
      timeoutMs,
    );
    await waitFor(
      "kube-proxy healthy",
      () => httpOk(`http://127.0.0.1:${proxyHealthz}/healthz`),
      state.processes,
      timeoutMs,
    );
    return state;
  } catch (error) {
    const problems = await stopNode(state, cp, () => {});
    if (problems.length > 0) progress(`could not undo everything: ${problems.join("; ")}`);
    throw error;
  } finally {
    admin.close();
  }
}

/**
 * Whether this node's start still owns the machine's node state: false when another start holds the lock
 * and runs (e.g. this state is stale after a reboot and another worktree's node runs now). Then the links,
 * rules, cgroups and sysctls are that node's, and stopping this one must leave them alone.
 */
export function ownsMachine(state: NodeState): boolean {
  const holder = readNodeLock();
  return !holder || holder.id === state.lockId || !lockIsLive(holder);
}

/** Deletes every pod (so the kubelet stops them and the CNI plugin releases their networks) and waits. */
async function drainPods(admin: KubeClient, state: NodeState, progress: (m: string) => void): Promise<void> {
  const list = async () =>
    (
      await admin.call<{ items: { metadata: { name: string; namespace: string } }[] }>(
        "GET",
        "/api/v1/pods",
        {
          query: { fieldSelector: `spec.nodeName=${state.name}` },
        },
      )
    ).items;
  const pods = await list();
  if (pods.length === 0) return;
  progress(`deleting ${pods.length} pods on ${state.name}`);
  for (const pod of pods) {
    await admin
      .call("DELETE", `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`, {
        query: { gracePeriodSeconds: 1 },
      })
      .catch(() => {});
  }
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && (await list()).length > 0) await sleep(250);
}

/** Running tasks (containers and sandboxes) in the node's containerd. */
function runningTasks(state: NodeState): number {
  try {
    return ctr(state.binaries.ctr, state.containerdSocket, ["tasks", "ls", "-q"], 10_000)
      .split("\n")
      .filter(Boolean).length;
  } catch {
    return 0;
  }
}

/**
 * Stops the node and undoes its side effects (../shared/notes/real-node.md), in two halves around the
 * control plane's own stop (stopCloud): stopNodeDaemons, then undoNodeHostChanges. Returns what could not be
 * undone (empty when the machine is as before).
 */
export async function stopNode(
  state: NodeState,
  cp: ControlPlaneState,
  progress: (message: string) => void,
): Promise<string[]> {
  const problems = await stopNodeDaemons(state, cp, progress);
  return [...problems, ...undoNodeHostChanges(state, progress)];
}

/**
 * Pods deleted while the kubelet runs (the control plane's controller manager is stopped first, so no
 * replica comes back), kube-proxy's rules removed, the daemons stopped, leftover containers and shims
 * killed, and everything mounted under the node's directories unmounted (before anything removes them).
 * Returns what stayed mounted.
 */
export async function stopNodeDaemons(
  state: NodeState,
  cp: ControlPlaneState,
  progress: (message: string) => void,
): Promise<string[]> {
  const byName = (name: string) => state.processes.find((p) => p.name === name);
  if (!ownsMachine(state)) {
    // Only our own processes, if any still run; the machine-wide state belongs to the other node.
    for (const proc of [...state.processes].reverse()) await stopProcess(proc);
    return [];
  }
  const kubelet = byName("kubelet");
  const apiserver = cp.processes.find((p) => p.name === "kube-apiserver");
  if (kubelet && isAlive(kubelet.pid) && apiserver && isAlive(apiserver.pid)) {
    const kcm = cp.processes.find((p) => p.name === "kube-controller-manager");
    if (kcm) await stopProcess(kcm);
    try {
      const admin = await KubeClient.fromKubeConfig(kubeConfigFrom(cp.kubeconfig));
      try {
        await drainPods(admin, state, progress);
      } finally {
        admin.close();
      }
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && runningTasks(state) > 0) await sleep(250);
    } catch (error) {
      progress(`could not delete the pods through the API (${String(error)}); stopping them directly`);
    }
  }
  progress("stopping kube-proxy and removing its rules");
  const proxy = byName("kube-proxy");
  if (proxy) await stopProcess(proxy);
  cleanupKubeProxy(state.binaries.kubeProxy, join(cp.workDir, "logs", "kube-proxy.log"));
  progress("stopping the kubelet, CoreDNS and kube-scheduler");
  await Promise.all(
    ["kubelet", "coredns", "kube-scheduler"].map((name) => {
      const proc = byName(name);
      return proc ? stopProcess(proc) : undefined;
    }),
  );
  // Containers the kubelet did not stop (it was gone, or a drain timed out): kill their processes, then
  // containerd and its shims (shims run in their own sessions, named by the node's socket).
  progress("stopping containerd and what is left of the containers");
  killAll(pidsInNewCgroups(state.hostBefore));
  const containerd = byName("containerd");
  if (containerd) await stopProcess(containerd, 5_000);
  killAll(processesMentioning(state.dir));
  await sleep(200);
  const stillMounted = unmountUnder([state.dir, "/run/netns", "/run/containerd"]);
  return stillMounted.length > 0 ? [`still mounted: ${stillMounted.join(", ")}`] : [];
}

/**
 * After the daemons (and the API server, which listens on the node address) are gone: links deleted, nftables tables, cgroups, host paths, conntrack entries and
 * sysctls put back, the lock released. Returns what could not be undone.
 */
export function undoNodeHostChanges(state: NodeState, progress: (message: string) => void): string[] {
  if (!ownsMachine(state)) {
    progress("another govhost node holds this machine now; its links, rules and cgroups are left alone");
    return [];
  }
  progress("deleting links, putting back nftables tables, cgroups, paths, conntrack and sysctls");
  const problems: string[] = [];
  try {
    deleteNodeLinks();
  } catch (error) {
    problems.push(`links: ${String(error)}`);
  }
  problems.push(...restoreHostState(state.hostBefore));
  releaseNodeLock(state.lockId);
  return problems;
}

import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { KubeClient } from "../../../lib/kube/client.ts";
import type { ControlPlaneState } from "../controlplane.ts";
import { kubeConfigFrom } from "../credentials.ts";
import { isAlive, stopProcess } from "../processes.ts";
import { ctr } from "./containerd.ts";
import { pidsInNewCgroups, restoreHostState } from "./host-state.ts";
import { cleanupKubeProxy } from "./kube-proxy.ts";
import { lockIsLive, readNodeLock, releaseNodeLock } from "./lock.ts";
import { deleteNodeLinks } from "./network.ts";
import { removeNetworkPolicyRules } from "./network-policy.ts";
import type { NodeState } from "./state.ts";
import { killAll, processesMentioning, unmountUnder } from "./sweep.ts";

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
 * replica comes back), kube-router's and kube-proxy's rules (and kube-router's ipsets) removed, the daemons
 * stopped, leftover containers and shims killed, and everything mounted under the node's directories
 * unmounted (before anything removes them). Returns what stayed mounted or could not be removed.
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
  // Pods are gone: the policy firewall goes before kube-proxy's cleanup (both write the filter table).
  progress("stopping NetworkPolicy enforcement and removing its rules and ipsets");
  const firewall = byName("kube-router");
  if (firewall) await stopProcess(firewall);
  const leftRules = removeNetworkPolicyRules();
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
  return [...leftRules, ...(stillMounted.length > 0 ? [`still mounted: ${stillMounted.join(", ")}`] : [])];
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

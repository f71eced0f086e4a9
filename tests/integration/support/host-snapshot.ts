import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { nodeHostPaths, recordHostState } from "../../../tools/cluster/node/host-state.ts";

/** Programs of a node: none of them may run after cluster:down that did not run before cluster:up. */
const nodePrograms = new Set([
  "containerd",
  "containerd-shim-runc-v2",
  "ctr",
  "runc",
  "kubelet",
  "kube-proxy",
  "kube-scheduler",
  "coredns",
  "kube-router",
  "catatonit",
  "busybox",
  "kubectl",
]);

function nodeProcesses(): string[] {
  const found: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv0 = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0")[0] ?? "";
      if (nodePrograms.has(basename(argv0))) found.push(`${entry} ${argv0}`);
    } catch {
      // exited meanwhile
    }
  }
  return found.sort();
}

/**
 * What a node may change on this machine, as text to compare: node processes, /proc/mounts, `ip link`,
 * `ip route`, nftables tables, iptables filter chains and ipsets, the sysctls the node's parts write, the top-level cgroups of every hierarchy
 * (where /kubepods appears), and the fixed host paths that containerd, runc, CNI and the kubelet use.
 */
export function hostSnapshot() {
  const state = recordHostState();
  return {
    processes: nodeProcesses(),
    mounts: readFileSync("/proc/mounts", "utf8").trim().split("\n").sort(),
    links: execFileSync("ip", ["-o", "link"], { encoding: "utf8" }).trim().split("\n"),
    routes: execFileSync("ip", ["route"], { encoding: "utf8" }).trim().split("\n"),
    nftTables: state.nftTables,
    sysctls: state.sysctls,
    cgroups: state.cgroups,
    conntrackEntries: state.conntrackEntries,
    filterChains: state.filterChains,
    ipsets: state.ipsets,
    hostPaths: nodeHostPaths.filter((p) => state.paths[p]),
  };
}

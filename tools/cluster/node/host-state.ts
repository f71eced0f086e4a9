import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { nodeNetwork } from "./network.ts";
import { filterTableRules, ipsets } from "./network-policy.ts";

/**
 * The machine-wide state a node changes, recorded before it starts so that stopping it can put everything
 * back (../shared/notes/real-node.md, "Side effects to undo"), and so a test can compare before and after.
 */

/**
 * Sysctls the node's parts write: the kubelet (panic, overcommit, keys), the bridge plugin (forwarding),
 * kube-proxy (route_localnet, conntrack; its configuration leaves those alone, recorded to prove it).
 */
export const nodeSysctls = [
  "kernel.panic",
  "kernel.panic_on_oops",
  "vm.overcommit_memory",
  "vm.panic_on_oom",
  "kernel.keys.root_maxkeys",
  "kernel.keys.root_maxbytes",
  "net.ipv4.ip_forward",
  "net.ipv6.conf.all.forwarding",
  "net.ipv4.conf.all.route_localnet",
  "net.bridge.bridge-nf-call-iptables",
  "net.bridge.bridge-nf-call-ip6tables",
  "net.netfilter.nf_conntrack_max",
  "net.netfilter.nf_conntrack_tcp_timeout_established",
  "net.netfilter.nf_conntrack_tcp_timeout_close_wait",
] as const;

/** Fixed paths outside the node's work directory that containerd, runc, the CNI plugins or the kubelet create. */
export const nodeHostPaths = [
  "/var/lib/cni",
  "/run/containerd",
  "/run/netns",
  "/run/runc",
  "/run/nri",
  "/run/xtables.lock",
  "/var/lib/kubelet",
  "/var/lib/containerd",
  "/var/log/pods",
  "/var/log/containers",
  "/etc/cni",
  "/opt/cni",
  "/usr/libexec/kubernetes",
] as const;

export const cgroupRoot = "/sys/fs/cgroup";

export interface HostState {
  sysctls: Record<string, string | null>;
  /** Which of nodeHostPaths existed. */
  paths: Record<string, boolean>;
  /** `nft list tables` lines, e.g. "table ip filter". */
  nftTables: string[];
  /** Top-level directories of every cgroup hierarchy, e.g. "memory/kubepods". */
  cgroups: string[];
  /** Connection-tracking entries (0 when nothing on the machine used netfilter's NAT or state). */
  conntrackEntries: number;
  /** Chains of iptables' filter table, and ipsets (kube-router's NetworkPolicy firewall writes both). */
  filterChains: string[];
  ipsets: string[];
}

/** Addresses of the node's traffic, whose connection-tracking entries go with it. */
const nodeTrafficCidrs = [nodeNetwork.podCidr, nodeNetwork.serviceCidr, `${nodeNetwork.nodeIp}/32`];

const sysctlPath = (name: string) => join("/proc/sys", ...name.split("."));

function readSysctl(name: string): string | null {
  try {
    return readFileSync(sysctlPath(name), "utf8").trim();
  } catch {
    return null;
  }
}

export function nftTables(): string[] {
  try {
    const out = execFileSync("nft", ["list", "tables"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    return out
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.startsWith("table "))
      .sort();
  } catch {
    return [];
  }
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Top-level child cgroups of every hierarchy (v1 controllers and the unified one). */
export function topLevelCgroups(): string[] {
  const found: string[] = [];
  for (const hierarchy of readdirSync(cgroupRoot)) {
    const dir = join(cgroupRoot, hierarchy);
    if (!isDir(dir)) continue;
    for (const child of readdirSync(dir)) if (isDir(join(dir, child))) found.push(`${hierarchy}/${child}`);
  }
  return found.sort();
}

export function recordHostState(): HostState {
  return {
    sysctls: Object.fromEntries(nodeSysctls.map((s) => [s, readSysctl(s)])),
    paths: Object.fromEntries(nodeHostPaths.map((p) => [p, existsSync(p)])),
    nftTables: nftTables(),
    cgroups: topLevelCgroups(),
    conntrackEntries: conntrackEntries(),
    filterChains: filterChains(),
    ipsets: ipsets(),
  };
}

/** User-defined chains of the filter table (`iptables -S`'s -N lines); none without a filter table. */
export function filterChains(): string[] {
  try {
    return filterTableRules()
      .filter((l) => l.startsWith("-N "))
      .map((l) => l.slice(3))
      .sort();
  } catch {
    return [];
  }
}

export function conntrackEntries(): number {
  return Number(readSysctl("net.netfilter.nf_conntrack_count") ?? 0);
}

/**
 * The node's NAT rules made the kernel track connections (the control plane's loopback ones too). When
 * nothing was tracked before, all entries are the node's: flushed. Otherwise only those of its addresses.
 */
function forgetConnections(before: HostState): void {
  const conntrack = (args: string[]) => {
    try {
      execFileSync("conntrack", args, { stdio: "ignore" });
    } catch {
      // exit status 1 when nothing matched
    }
  };
  if (before.conntrackEntries === 0) {
    conntrack(["-F"]);
    return;
  }
  for (const cidr of nodeTrafficCidrs) {
    conntrack(["-D", "-s", cidr]);
    conntrack(["-D", "-d", cidr]);
  }
}

/** Removes a cgroup tree bottom-up (cgroup directories are removed with rmdir, one level at a time). */
function removeCgroupTree(dir: string): void {
  for (const child of readdirSync(dir)) {
    const path = join(dir, child);
    if (isDir(path)) removeCgroupTree(path);
  }
  rmdirSync(dir);
}

/** The kubelet's pod cgroups (kubepods, in every hierarchy) created since `before`; others are left alone. */
function newNodeCgroups(before: HostState): string[] {
  return topLevelCgroups().filter((cg) => !before.cgroups.includes(cg) && /\/kubepods/.test(cg));
}

/** Pids in the cgroups created since `before` (the node's containers), in every hierarchy. */
export function pidsInNewCgroups(before: HostState): number[] {
  const pids = new Set<number>();
  const walk = (dir: string) => {
    try {
      for (const line of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n"))
        if (line.trim()) pids.add(Number(line));
      for (const child of readdirSync(dir)) if (isDir(join(dir, child))) walk(join(dir, child));
    } catch {
      // gone meanwhile
    }
  };
  for (const cg of newNodeCgroups(before)) walk(join(cgroupRoot, cg));
  return [...pids];
}

/**
 * Puts back what `before` recorded: deletes the nftables tables added since, removes the cgroup trees and
 * fixed paths created since, forgets the node's tracked connections, and restores the sysctls. Returns what it could not undo (empty when clean).
 */
export function restoreHostState(before: HostState): string[] {
  const problems: string[] = [];
  for (const table of nftTables()) {
    if (before.nftTables.includes(table)) continue;
    try {
      execFileSync("nft", ["delete", ...table.split(" ")], { stdio: ["ignore", "ignore", "pipe"] });
    } catch (error) {
      problems.push(`nft ${table}: ${String(error)}`);
    }
  }
  for (const cg of newNodeCgroups(before)) {
    try {
      removeCgroupTree(join(cgroupRoot, cg));
    } catch (error) {
      problems.push(`cgroup ${cg}: ${String(error)}`);
    }
  }
  for (const [path, existed] of Object.entries(before.paths)) {
    if (existed || !existsSync(path)) continue;
    try {
      rmSync(path, { recursive: true, force: true });
    } catch (error) {
      problems.push(`${path}: ${String(error)}`);
    }
  }
  forgetConnections(before);
  for (const [name, value] of Object.entries(before.sysctls)) {
    if (value === null || readSysctl(name) === value) continue;
    try {
      writeFileSync(sysctlPath(name), value);
    } catch (error) {
      problems.push(`sysctl ${name}: ${String(error)}`);
    }
  }
  return problems;
}

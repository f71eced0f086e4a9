import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { loadLocalToolConfig } from "../../config.ts";
import { cgroupRoot } from "./host-state.ts";

/** Debian packages the node uses (tools/ensure-system-packages.sh names; files for packages off PATH). */
export const nodePackages = [
  "runc",
  "/usr/lib/cni/bridge",
  "catatonit",
  "iptables",
  "ipset",
  "nft",
  "conntrack",
  "umoci",
  "skopeo",
  "docker-registry",
  "busybox",
  "ip",
  "chroot",
] as const;

/** Controllers the kubelet needs, as cgroup v1 hierarchies or cgroup v2 controllers. */
const requiredControllers = ["memory", "cpu", "pids", "cpuset"] as const;

function missingCgroupControllers(): string[] {
  const unified = `${cgroupRoot}/cgroup.controllers`;
  if (existsSync(unified)) {
    const available = readFileSync(unified, "utf8").trim().split(/\s+/);
    return requiredControllers.filter((c) => !available.includes(c));
  }
  return requiredControllers.filter((c) => !existsSync(`${cgroupRoot}/${c}/cgroup.procs`));
}

/**
 * Why a node cannot run on this machine, or undefined when it can as far as the machine goes (the machine
 * lock and the build come after). GOVHOST_NODE=off asks for a node-less control plane.
 */
export function nodeUnavailableReason(): string | undefined {
  if (loadLocalToolConfig().node === "off") return "GOVHOST_NODE=off asks for a control plane without a node";
  if (process.platform !== "linux") return `a node needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0)
    return "not root: a node needs root (network links, mounts, cgroups, iptables); run as root for one";
  const missing = missingCgroupControllers();
  if (missing.length > 0) return `cgroup controllers missing: ${missing.join(", ")} (under ${cgroupRoot})`;
  return undefined;
}

/** Installs the node's Debian packages (as root); returns why not, if that failed. */
export function ensureNodePackages(): string | undefined {
  const script = new URL("../../ensure-system-packages.sh", import.meta.url).pathname;
  const result = spawnSync("bash", [script, ...nodePackages], { encoding: "utf8" });
  if (result.status === 0) return undefined;
  return `the node's Debian packages could not be installed: ${(result.stderr || "").trim() || `exit ${result.status}`}`;
}

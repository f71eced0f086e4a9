import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ManagedProcess, startDaemon } from "../processes.ts";
import { nodeNetwork } from "./network.ts";
import { writeContainerdRegistryHosts } from "./registry.ts";

/** containerd's files, all under the node's directory (the shims' sockets still go to /run/containerd/s). */
export interface ContainerdPaths {
  dir: string;
  config: string;
  socket: string;
  cniConfDir: string;
  /** Per-registry host configuration (hosts.toml), e.g. where the local registry's name points. */
  registryHostsDir: string;
}

export const criNamespace = "k8s.io";
/** The sandbox ("pause") image: Debian's catatonit, imported before the kubelet starts (images.ts). */
export const pauseImage = "govhost.local/pause:catatonit";
export const runcBinary = "/usr/sbin/runc";
export const cniBinDir = "/usr/lib/cni";

export function containerdPaths(nodeDir: string): ContainerdPaths {
  const dir = join(nodeDir, "containerd");
  return {
    dir,
    config: join(dir, "config.toml"),
    socket: join(dir, "containerd.sock"),
    cniConfDir: join(nodeDir, "cni", "net.d"),
    registryHostsDir: join(dir, "certs.d"),
  };
}

/**
 * containerd 2.x for the CRI, per ../shared/notes/real-node.md: restrict_oom_score_adj (root lacks
 * CAP_SYS_RESOURCE here), Debian's runc with cgroupfs, overlayfs, the local pause image, the bridge CNI
 * configuration below, the local registry's host configuration (registry.ts); every directory it owns (root, state, runc root, network namespaces, /opt plugins)
 * inside the node's directory. NRI is off (it would open a socket in /var/run/nri).
 */
function containerdConfig(paths: ContainerdPaths): string {
  const q = (s: string) => `'${s}'`;
  return `version = 3
root = ${q(join(paths.dir, "root"))}
state = ${q(join(paths.dir, "state"))}
disabled_plugins = ['io.containerd.nri.v1.nri']

[grpc]
  address = ${q(paths.socket)}

[plugins]
  [plugins.'io.containerd.internal.v1.opt']
    path = ${q(join(paths.dir, "opt"))}

  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = ${q(pauseImage)}
    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = ${q(paths.registryHostsDir)}

  [plugins.'io.containerd.cri.v1.runtime']
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true
    cdi_spec_dirs = []
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = 'io.containerd.runc.v2'
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = ${q(runcBinary)}
          Root = ${q(join(paths.dir, "runc"))}
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = [${q(cniBinDir)}]
      conf_dir = ${q(paths.cniConfDir)}

  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = '127.0.0.1'
    stream_server_port = '0'
`;
}

/** The pod network: one bridge with host-local addresses, outbound masquerade, hairpin for Services. */
function cniConfig(nodeDir: string): string {
  return `${JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: "govhost",
      plugins: [
        {
          type: "bridge",
          bridge: nodeNetwork.bridge,
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: nodeNetwork.podCidr }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: join(nodeDir, "cni", "ipam"),
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

export function startContainerd(
  binary: string,
  nodeDir: string,
  logDir: string,
  caCert: string,
): ManagedProcess {
  const paths = containerdPaths(nodeDir);
  mkdirSync(paths.dir, { recursive: true });
  writeContainerdRegistryHosts(paths.registryHostsDir, caCert);
  mkdirSync(paths.cniConfDir, { recursive: true });
  writeFileSync(paths.config, containerdConfig(paths));
  writeFileSync(join(paths.cniConfDir, "10-govhost.conflist"), cniConfig(nodeDir));
  return startDaemon("containerd", binary, ["--config", paths.config], join(logDir, "containerd.log"));
}

export function containerdReady(ctr: string, socket: string): boolean {
  if (!existsSync(socket)) return false;
  try {
    execFileSync(ctr, ["--address", socket, "version"], { stdio: "ignore", timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

/** Runs `ctr` against the node's containerd in the CRI namespace; returns its output. */
export function ctr(binary: string, socket: string, args: string[], timeout = 120_000): string {
  return execFileSync(binary, ["--address", socket, "--namespace", criNamespace, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout,
  });
}

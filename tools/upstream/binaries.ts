import { execFileSync, spawn, spawnSync } from "node:child_process";
import { accessSync, constants, readdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { govhostCacheDir, pinnedVersions } from "./versions.ts";

const buildScript = new URL("./build.sh", import.meta.url).pathname;

export interface ControlPlaneBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
}

type BinaryName = "etcd" | "kube-apiserver" | "kube-controller-manager" | "kube-scheduler";

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where a binary is looked for, in order: KUBEBUILDER_ASSETS, PATH, then the project's build cache. */
function candidates(name: BinaryName): string[] {
  const { kubernetes, etcd } = pinnedVersions();
  const cached = name === "etcd" ? `etcd-${etcd}` : `kubernetes-${kubernetes}`;
  const dirs = [
    ...(process.env.KUBEBUILDER_ASSETS ? [process.env.KUBEBUILDER_ASSETS] : []),
    ...(process.env.PATH ?? "").split(delimiter).filter(Boolean),
    join(govhostCacheDir(), "bin", cached),
  ];
  return dirs.map((dir) => join(dir, name));
}

function find(name: BinaryName): string | undefined {
  return candidates(name).find(isExecutable);
}

/** Reports the version a binary prints, e.g. "Kubernetes v1.37.2" or "etcd Version: 3.7.3". */
export function binaryVersion(path: string): string {
  const out = execFileSync(path, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  return out.split("\n")[0]?.trim() ?? "";
}

/**
 * Finds etcd, kube-apiserver and kube-controller-manager; builds the missing ones from their Go modules
 * (tools/upstream/build.sh, progress on stderr) unless `build` is false.
 */
export function resolveControlPlaneBinaries(options: { build: boolean }): ControlPlaneBinaries {
  const missingGroups = new Set<string>();
  if (!find("etcd")) missingGroups.add("etcd");
  if (!find("kube-apiserver") || !find("kube-controller-manager")) missingGroups.add("kubernetes");
  if (missingGroups.size > 0) {
    if (!options.build) {
      throw new Error(
        `missing upstream binaries (${[...missingGroups].join(", ")}); run: npm run upstream:build`,
      );
    }
    for (const group of missingGroups) buildGroup(group);
  }
  const must = (name: BinaryName): string => {
    const path = find(name);
    if (!path) throw new Error(`${name} not found after build; looked in ${candidates(name).join(", ")}`);
    return path;
  };
  return {
    etcd: must("etcd"),
    kubeApiserver: must("kube-apiserver"),
    kubeControllerManager: must("kube-controller-manager"),
  };
}

/** The node's binaries (tools/cluster/node), all built from their pinned Go modules. */
export interface NodeBinaries {
  kubeScheduler: string;
  kubelet: string;
  kubeProxy: string;
  kubectl: string;
  containerd: string;
  ctr: string;
  containerdShim: string;
  coredns: string;
  /** The ingress controller; its image is built from this binary when the node starts. */
  traefik: string;
  /** The resource metrics API server; its image too is built from the binary when the node starts. */
  metricsServer: string;
  /** NetworkPolicy enforcement: kube-router's firewall, a host process like kube-proxy. */
  kubeRouter: string;
  /** The cluster's Prometheus; its image too is built from the binary when the node starts. */
  prometheus: string;
}

/**
 * The node's build groups: the binaries of each and its cache directory. Only the project's own cache is
 * searched (a containerd on PATH could be Debian's 1.6, which Kubernetes 1.37 cannot use).
 */
function nodeGroups(): { group: string; dir: string; names: string[] }[] {
  const v = pinnedVersions();
  return [
    {
      group: "kubernetes-node",
      dir: `kubernetes-node-${v.kubernetes}`,
      names: ["kubelet", "kube-proxy", "kubectl"],
    },
    {
      group: "containerd",
      dir: `containerd-${v.containerd}`,
      names: ["containerd", "ctr", "containerd-shim-runc-v2"],
    },
    { group: "coredns", dir: `coredns-${v.coredns}`, names: ["coredns"] },
    { group: "traefik", dir: `traefik-${v.traefik}`, names: ["traefik"] },
    { group: "metrics-server", dir: `metrics-server-${v.metricsServer}`, names: ["metrics-server"] },
    { group: "kube-router", dir: `kube-router-${v.kubeRouter}`, names: ["kube-router"] },
    { group: "prometheus", dir: `prometheus-${v.prometheus}`, names: ["prometheus"] },
  ];
}

function buildGroup(group: string): void {
  process.stderr.write(`govhost: building ${group} from its Go module (first run only)\n`);
  const result = spawnSync("bash", [buildScript, group], { stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) throw new Error(`tools/upstream/build.sh ${group} failed (exit ${result.status})`);
}

/**
 * Finds the node's binaries (kube-scheduler as the control plane's are found, the rest in the build cache);
 * builds the missing groups from their Go modules unless `build` is false.
 */
export function resolveNodeBinaries(options: { build: boolean }): NodeBinaries {
  const paths = new Map<string, string>();
  const missing: string[] = [];
  if (!find("kube-scheduler")) missing.push("kubernetes");
  for (const { group, dir, names } of nodeGroups()) {
    const located = names.map((name) => join(govhostCacheDir(), "bin", dir, name));
    if (!located.every(isExecutable)) {
      missing.push(group);
      continue;
    }
    for (const [i, name] of names.entries()) paths.set(name, located[i] as string);
  }
  if (missing.length > 0) {
    if (!options.build)
      throw new Error(`missing node binaries (${missing.join(", ")}); run: npm run upstream:build`);
    for (const group of missing) buildGroup(group);
    return resolveNodeBinaries({ build: false });
  }
  const scheduler = find("kube-scheduler");
  const get = (name: string): string => {
    const path = name === "kube-scheduler" ? scheduler : paths.get(name);
    if (!path) throw new Error(`${name} not found after build`);
    return path;
  };
  return {
    kubeScheduler: get("kube-scheduler"),
    kubelet: get("kubelet"),
    kubeProxy: get("kube-proxy"),
    kubectl: get("kubectl"),
    containerd: get("containerd"),
    ctr: get("ctr"),
    containerdShim: get("containerd-shim-runc-v2"),
    coredns: get("coredns"),
    traefik: get("traefik"),
    metricsServer: get("metrics-server"),
    kubeRouter: get("kube-router"),
    prometheus: get("prometheus"),
  };
}

export interface PulumiBinaries {
  /** The Pulumi CLI. */
  pulumi: string;
  /** The Kubernetes provider plugin (pulumi-resource-kubernetes); its directory goes on the CLI's PATH. */
  kubernetesProvider: string;
}

/** PATH first (a user's own Pulumi install), then the project's build cache. */
function findTool(name: string, cachedDir: string): string | undefined {
  const dirs = [
    ...(process.env.PATH ?? "").split(delimiter).filter(Boolean),
    join(govhostCacheDir(), "bin", cachedDir),
  ];
  return dirs.map((dir) => join(dir, name)).find(isExecutable);
}

/** The Pulumi CLI and the Kubernetes provider plugin: their build groups and cache directories. */
function pulumiTools(): { name: string; group: string; cached: string }[] {
  const { pulumi, pulumiKubernetes } = pinnedVersions();
  return [
    { name: "pulumi", group: "pulumi", cached: `pulumi-${pulumi}` },
    {
      name: "pulumi-resource-kubernetes",
      group: "pulumi-kubernetes",
      cached: `pulumi-kubernetes-${pulumiKubernetes}`,
    },
  ];
}

/** The build groups of the Pulumi CLI and provider that are neither on PATH nor in the build cache. */
export function missingPulumiGroups(): string[] {
  return pulumiTools()
    .filter((tool) => !findTool(tool.name, tool.cached))
    .map((tool) => tool.group);
}

/**
 * Like resolvePulumiBinaries({ build: true }) without blocking the event loop: missing groups are built by
 * build.sh as a child process (which waits for a background build of the same group, see
 * background-build.ts, and then finds its result).
 */
export async function ensurePulumiBinaries(): Promise<PulumiBinaries> {
  for (const group of missingPulumiGroups()) {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn("bash", [buildScript, group], { stdio: ["ignore", "inherit", "inherit"] });
      child.once("error", reject);
      child.once("exit", resolve);
    });
    if (code !== 0) throw new Error(`tools/upstream/build.sh ${group} failed (exit ${code})`);
  }
  return resolvePulumiBinaries({ build: false });
}

/**
 * Finds the Pulumi CLI and the Kubernetes provider plugin; builds the missing ones from their Go modules
 * (tools/upstream/build.sh) unless `build` is false.
 */
export function resolvePulumiBinaries(options: { build: boolean }): PulumiBinaries {
  const paths = pulumiTools().map((tool) => {
    let path = findTool(tool.name, tool.cached);
    if (!path && options.build) {
      buildGroup(tool.group);
      path = findTool(tool.name, tool.cached);
    }
    if (!path)
      throw new Error(`${tool.name} not found on PATH or in the build cache; run: npm run upstream:build`);
    return path;
  });
  return { pulumi: paths[0] as string, kubernetesProvider: paths[1] as string };
}

export interface KwokBinaries {
  kwok: string;
  /** kwok's stage definitions (node and pod lifecycles), one YAML file each. */
  stages: string[];
}

/**
 * kwok and its stages, for the scale bench only: from the build cache, built there first when missing (it is
 * not in `all`, and nothing else needs it).
 */
export function resolveKwok(): KwokBinaries {
  const dir = join(govhostCacheDir(), "bin", `kwok-${pinnedVersions().kwok}`);
  if (!isExecutable(join(dir, "kwok"))) buildGroup("kwok");
  const stages = readdirSync(join(dir, "stages"))
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => join(dir, "stages", f));
  return { kwok: join(dir, "kwok"), stages };
}

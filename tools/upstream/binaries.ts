import { execFileSync, spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { govhostCacheDir, pinnedVersions } from "./versions.ts";

export interface ControlPlaneBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
}

type BinaryName = "etcd" | "kube-apiserver" | "kube-controller-manager";

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
    const script = new URL("./build.sh", import.meta.url).pathname;
    for (const group of missingGroups) {
      process.stderr.write(`govhost: building ${group} from its Go module (first run only)\n`);
      const result = spawnSync("bash", [script, group], { stdio: ["ignore", "inherit", "inherit"] });
      if (result.status !== 0)
        throw new Error(`tools/upstream/build.sh ${group} failed (exit ${result.status})`);
    }
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

/**
 * Finds the Pulumi CLI and the Kubernetes provider plugin; builds the missing ones from their Go modules
 * (tools/upstream/build.sh) unless `build` is false.
 */
export function resolvePulumiBinaries(options: { build: boolean }): PulumiBinaries {
  const { pulumi, pulumiKubernetes } = pinnedVersions();
  const tools = [
    { name: "pulumi", group: "pulumi", cached: `pulumi-${pulumi}` },
    {
      name: "pulumi-resource-kubernetes",
      group: "pulumi-kubernetes",
      cached: `pulumi-kubernetes-${pulumiKubernetes}`,
    },
  ];
  const script = new URL("./build.sh", import.meta.url).pathname;
  const paths = tools.map((tool) => {
    let path = findTool(tool.name, tool.cached);
    if (!path && options.build) {
      process.stderr.write(`govhost: building ${tool.group} from its Go module (first run only)\n`);
      const result = spawnSync("bash", [script, tool.group], { stdio: ["ignore", "inherit", "inherit"] });
      if (result.status !== 0)
        throw new Error(`tools/upstream/build.sh ${tool.group} failed (exit ${result.status})`);
      path = findTool(tool.name, tool.cached);
    }
    if (!path)
      throw new Error(`${tool.name} not found on PATH or in the build cache; run: npm run upstream:build`);
    return path;
  });
  return { pulumi: paths[0] as string, kubernetesProvider: paths[1] as string };
}

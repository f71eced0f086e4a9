import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { localKubeconfig } from "../lib/local-state.ts";

// Where the platform goes. Each mode yields a Kubernetes provider; a VM-based mode (k3s or kubeadm over SSH
// with @pulumi/command) would be one more entry that creates machines first and returns their kubeconfig.

export type ClusterMode = "local" | "existing";

export interface ClusterArgs {
  mode: ClusterMode;
  /** existing: a kubeconfig file (the common case: OpenShift, Rancher, Tanzu, kubeadm); local: another local control plane than the project's. */
  kubeconfigPath?: string;
  /** existing: the kubeconfig's context to use (default: its current context). */
  context?: string;
  /**
   * local: wait for the workloads to be ready. Only where they can be: the local cloud runs a node, and the
   * stack names an image its registry serves (`npm run image:govhost -- --push`).
   */
  awaitReadiness?: boolean;
}

export interface Cluster {
  mode: ClusterMode;
  provider: k8s.Provider;
  kubeconfigPath: string;
  /** Workloads that cannot run here (no node, no pullable image) never become ready: Pulumi must not wait. */
  skipAwait: boolean;
}

/**
 * Does the local cloud whose kubeconfig this is run a node? `npm run cluster:up` (tools/cluster) writes its
 * state, `cluster.json`, next to the kubeconfig, with a `node` entry while the node runs.
 */
function localCloudHasNode(kubeconfigPath: string): boolean {
  const state = join(dirname(kubeconfigPath), "cluster.json");
  if (!existsSync(state)) return false;
  return (JSON.parse(readFileSync(state, "utf8")) as { node?: unknown }).node !== undefined;
}

const modes: Record<ClusterMode, (args: ClusterArgs, opts: pulumi.CustomResourceOptions) => Cluster> = {
  local(args, opts) {
    // The project's control plane (`npm run cluster:up`), or another local one named by govhost:kubeconfig.
    const kubeconfigPath = args.kubeconfigPath ?? localKubeconfig;
    if (!existsSync(kubeconfigPath))
      throw new Error(
        `no local control plane: run \`npm run cluster:up\` first (it writes ${kubeconfigPath})`,
      );
    return {
      mode: "local",
      kubeconfigPath,
      skipAwait: !(args.awaitReadiness && localCloudHasNode(kubeconfigPath)),
      provider: new k8s.Provider("local", { kubeconfig: readFileSync(kubeconfigPath, "utf8") }, opts),
    };
  },
  existing(args, opts) {
    if (!args.kubeconfigPath)
      throw new Error("cluster.mode existing needs govhost:kubeconfig (a kubeconfig path)");
    return {
      mode: "existing",
      kubeconfigPath: args.kubeconfigPath,
      skipAwait: false,
      provider: new k8s.Provider(
        "existing",
        {
          kubeconfig: readFileSync(args.kubeconfigPath, "utf8"),
          ...(args.context ? { context: args.context } : {}),
        },
        opts,
      ),
    };
  },
};

export function defineCluster(args: ClusterArgs, opts: pulumi.CustomResourceOptions = {}): Cluster {
  const mode = modes[args.mode];
  if (!mode) throw new Error(`unknown cluster.mode "${args.mode}": use local or existing`);
  return mode(args, opts);
}

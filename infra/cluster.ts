import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { localKubeconfig } from "../lib/local-state.ts";
import { GovhostImage, LocalCloud } from "./local-cloud.ts";

// Where the platform goes. Each mode yields a Kubernetes provider. `local` creates the cluster itself (the
// project's local cloud, a resource of the stack); a `hosts` mode (kubeadm over SSH, infra/README.md) would
// be one more entry that creates machines first and returns their kubeconfig.

export type ClusterMode = "local" | "existing";

export interface ClusterArgs {
  mode: ClusterMode;
  /**
   * existing: a kubeconfig file (the common case: OpenShift, Rancher, Tanzu, kubeadm); local: a local control
   * plane started outside the stack (without it, the stack starts and owns its own local cloud).
   */
  kubeconfigPath?: string;
  /** existing: the kubeconfig's context to use (default: its current context). */
  context?: string;
  /**
   * local: wait for the workloads to be ready. Only where they can be: the local cloud runs a node and its
   * registry serves the image. Default: yes for the stack's own cloud with a node; with a kubeconfig, only
   * when the stack names an image (`npm run image:govhost -- --push`).
   */
  awaitReadiness?: boolean;
  /** local, the stack's own cloud: where it keeps its state (default: the project's .govhost/). */
  localCloudDir?: string;
  /** local, the stack's own cloud: must it run a node (default yes; no gives a control plane only). */
  localNode?: boolean;
  /** The image the stack names; without one, the stack's own cloud builds and pushes this checkout's. */
  image?: string;
}

export interface Cluster {
  mode: ClusterMode;
  provider: k8s.Provider;
  kubeconfigPath: string;
  /** The admin kubeconfig's content (secret) and context, for what the stack does besides the provider. */
  kubeconfig: pulumi.Output<string>;
  context?: string;
  /** Workloads that cannot run here (no node, no pullable image) never become ready: Pulumi must not wait. */
  skipAwait: boolean;
  /** The govhost image the stack built and pushed to its own cloud's registry, when it did. */
  image?: pulumi.Output<string>;
  /** Where cluster DNS answers when it is not kube-dns pods (the stack's own cloud says). */
  clusterDnsCidrs?: pulumi.Output<string[]>;
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
    if (args.kubeconfigPath) {
      // A local control plane started outside the stack, e.g. by a test.
      const kubeconfigPath = args.kubeconfigPath;
      if (!existsSync(kubeconfigPath))
        throw new Error(`govhost:kubeconfig names ${kubeconfigPath}, which does not exist`);
      const awaitReadiness = args.awaitReadiness ?? args.image !== undefined;
      const kubeconfig = readFileSync(kubeconfigPath, "utf8");
      return {
        mode: "local",
        kubeconfigPath,
        kubeconfig: pulumi.secret(kubeconfig),
        skipAwait: !(awaitReadiness && localCloudHasNode(kubeconfigPath)),
        provider: new k8s.Provider("local", { kubeconfig }, opts),
      };
    }
    // The stack's own cloud: `pulumi up` starts it (or takes the one `npm start` left running), destroy stops it.
    const stateDir = args.localCloudDir ?? dirname(localKubeconfig);
    const node = args.localNode ?? true;
    const cloud = new LocalCloud("local-cloud", { stateDir, node }, opts);
    const image =
      node && args.image === undefined
        ? new GovhostImage(
            "govhost-image",
            {
              registryPushAddress: cloud.registryPushAddress,
              cloudWorkDir: cloud.workDir,
              repository: "govhost/govhost",
            },
            opts,
          ).image
        : undefined;
    return {
      mode: "local",
      kubeconfigPath: join(stateDir, "kubeconfig"),
      kubeconfig: cloud.kubeconfig,
      skipAwait: !(node && (args.awaitReadiness ?? true)),
      provider: new k8s.Provider("local", { kubeconfig: cloud.kubeconfig }, opts),
      clusterDnsCidrs: cloud.clusterDnsCidrs,
      ...(image ? { image } : {}),
    };
  },
  existing(args, opts) {
    if (!args.kubeconfigPath)
      throw new Error("cluster.mode existing needs govhost:kubeconfig (a kubeconfig path)");
    const kubeconfig = readFileSync(args.kubeconfigPath, "utf8");
    return {
      mode: "existing",
      kubeconfigPath: args.kubeconfigPath,
      kubeconfig: pulumi.secret(kubeconfig),
      ...(args.context ? { context: args.context } : {}),
      skipAwait: false,
      provider: new k8s.Provider(
        "existing",
        { kubeconfig, ...(args.context ? { context: args.context } : {}) },
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

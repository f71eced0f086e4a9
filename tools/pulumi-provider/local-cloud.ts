import { readFileSync } from "node:fs";
import { join } from "node:path";
import Type from "typebox";
import type { CloudState } from "../cluster/cloud.ts";
import {
  allRunning,
  ensureLocalControlPlane,
  type LocalPaths,
  loadCloudState,
  stopLocalControlPlane,
} from "../cluster/local.ts";
import { nodeDnsControllerEnv } from "../cluster/node/dns.ts";
import { localRegistry } from "../cluster/node/registry.ts";

// The stack's local cloud (govhost:local:Cloud): the project's own control plane and node (tools/cluster), as a
// resource, so `pulumi up` starts it and `pulumi destroy` stops it and undoes the node's changes to the host.

export const localCloudType = "govhost:local:Cloud";

export const LocalCloudInputs = Type.Object(
  {
    /** Where the cloud keeps cluster.json and its admin kubeconfig (the project's .govhost/ by default). */
    stateDir: Type.String({ minLength: 1, pattern: "^/" }),
    /** Whether the cloud must run a node (pods, registry, ingress); without one, only the control plane. */
    node: Type.Boolean(),
  },
  { additionalProperties: false },
);

export interface LocalCloudOutputs {
  stateDir: string;
  node: boolean;
  /** The admin kubeconfig (the program marks it secret). */
  kubeconfig: string;
  server: string;
  /** The cloud's work directory: a new one each time the cloud starts (what lives in it, e.g. pushed images, starts empty). */
  workDir: string;
  /** Where images are pushed from the host (empty without a node). */
  registryPushAddress: string;
  /** The registry host that image references name (empty without a node). */
  registryHost: string;
  /** Where cluster DNS answers when it is not a kube-dns pod (the node's CoreDNS is a host process). */
  clusterDnsCidrs: string[];
}

const pathsIn = (stateDir: string): LocalPaths => ({
  state: join(stateDir, "cluster.json"),
  kubeconfig: join(stateDir, "kubeconfig"),
});

function outputsOf(inputs: { stateDir: string; node: boolean }, state: CloudState): LocalCloudOutputs {
  return {
    ...inputs,
    kubeconfig: readFileSync(state.kubeconfig, "utf8"),
    server: state.server,
    workDir: state.workDir,
    registryPushAddress: state.node?.registry.pushAddress ?? "",
    registryHost: state.node ? localRegistry.host : "",
    clusterDnsCidrs: state.node ? [nodeDnsControllerEnv.GOVHOST_CLUSTER_DNS_CIDRS] : [],
  };
}

/** Starts the cloud, or takes the one already running there (e.g. from `npm start` or `npm run cluster:up`). */
export async function createLocalCloud(
  inputs: { stateDir: string; node: boolean },
  log: (line: string) => void,
): Promise<LocalCloudOutputs> {
  const paths = pathsIn(inputs.stateDir);
  const { state, startedHere } = await ensureLocalControlPlane(log, paths, { node: inputs.node });
  if (inputs.node && !state.node) {
    if (startedHere) await stopLocalControlPlane(log, paths);
    throw new Error(
      `no node can run here (${state.nodeAbsent ?? "the running cloud has none"}): fix that, or set govhost:localNode to false for a control plane without pods`,
    );
  }
  return outputsOf(inputs, state);
}

/** The cloud as it runs now, or undefined when it does not (stopped, or the machine restarted). */
export function readLocalCloud(inputs: { stateDir: string; node: boolean }): LocalCloudOutputs | undefined {
  const state = loadCloudState(pathsIn(inputs.stateDir));
  return state && allRunning(state) ? outputsOf(inputs, state) : undefined;
}

/** Stops the cloud; fails, naming them, when some of the node's changes to the host could not be undone. */
export async function deleteLocalCloud(stateDir: string, log: (line: string) => void): Promise<void> {
  const stopped = await stopLocalControlPlane(log, pathsIn(stateDir));
  const problems = stopped?.problems ?? [];
  if (problems.length > 0)
    throw new Error(`the local cloud stopped, but these could not be undone: ${problems.join("; ")}`);
}

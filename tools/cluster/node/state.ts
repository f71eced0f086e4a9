import { randomUUID } from "node:crypto";
import type { NodeBinaries } from "../../upstream/binaries.ts";
import type { ManagedProcess } from "../processes.ts";
import type { HostState } from "./host-state.ts";
import type { RegistryEndpoints } from "./registry.ts";

export const defaultNodeName = "govhost-node";

/** A running node: persisted with the control plane's state so cluster:down can stop it. */
export interface NodeState {
  name: string;
  dir: string;
  lockId: string;
  binaries: NodeBinaries;
  containerdSocket: string;
  ports: { kubelet: number; kubeletHealthz: number; dnsReady: number };
  /** Where the local registry takes pushes (host only) and serves pulls (registry.ts). */
  registry: RegistryEndpoints;
  /** containerd first; stopped in reverse order. */
  processes: ManagedProcess[];
  /** The machine before the node started: what stopping puts back. */
  hostBefore: HostState;
}

/** What a started node needs from its preparation (prepare.ts): the lock is held and the link exists. */
export interface PreparedNode {
  lockId: string;
  owner: string;
  statePath?: string;
  binaries: NodeBinaries;
  hostBefore: HostState;
}

export const newLockId = () => randomUUID();

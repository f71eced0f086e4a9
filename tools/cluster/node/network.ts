import { execFileSync } from "node:child_process";

/**
 * The node's addresses. The kubelet refuses a loopback node IP and this machine has no dummy interface
 * driver, so one end of a veth pair carries the node address (a test host on this machine). Pods live on
 * the CNI bridge's subnet; Services on the API server's service range.
 */
export const nodeNetwork = {
  nodeIp: "10.250.0.1",
  /** The veth pair: the node end carries nodeIp/32, the peer end only exists to keep the link up. */
  nodeLink: "govhost-node",
  peerLink: "govhost-peer",
  /** Created by the CNI bridge plugin on the first pod, deleted on stop. */
  bridge: "govhost-br0",
  podCidr: "10.244.0.0/24",
  /**
   * The API server's Service range (also without a node). A /16: every e-service and shared-service instance
   * has a Service, and a /24 ran out at about 250 in the estate bench.
   */
  serviceCidr: "10.0.0.0/16",
  /** The range's first address: the API server gives it to the `kubernetes` Service (its certificate names it). */
  kubernetesServiceIp: "10.0.0.1",
  clusterDnsIp: "10.0.0.10",
} as const;

/** Every link the node creates (the pods' veths go away with their network namespaces). */
export const nodeLinks = [nodeNetwork.nodeLink, nodeNetwork.bridge] as const;

function ip(args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

export function linkExists(name: string): boolean {
  try {
    ip(["link", "show", "dev", name]);
    return true;
  } catch {
    return false;
  }
}

/** The node's links that exist now (a sign that a node runs, or that one did not stop cleanly). */
export function existingNodeLinks(): string[] {
  return nodeLinks.filter(linkExists);
}

/** Creates the veth pair and puts the node address on it. */
export function createNodeInterface(): void {
  ip(["link", "add", nodeNetwork.nodeLink, "type", "veth", "peer", "name", nodeNetwork.peerLink]);
  ip(["addr", "add", `${nodeNetwork.nodeIp}/32`, "dev", nodeNetwork.nodeLink]);
  ip(["link", "set", nodeNetwork.peerLink, "up"]);
  ip(["link", "set", nodeNetwork.nodeLink, "up"]);
  // Service addresses route to the node link, never to the machine's default route: a ClusterIP that
  // kube-proxy has not (or no longer) translated must not leave the machine. Goes with the link.
  ip(["route", "add", nodeNetwork.serviceCidr, "dev", nodeNetwork.nodeLink, "src", nodeNetwork.nodeIp]);
}

/**
 * Deletes the node's links (deleting one end of the veth pair deletes both). A link that is gone by the
 * time it is deleted (another stop got there first) is what this wants, not a failure.
 */
export function deleteNodeLinks(): void {
  for (const link of existingNodeLinks()) {
    try {
      ip(["link", "delete", link]);
    } catch (error) {
      if (existingNodeLinks().includes(link)) throw error;
    }
  }
}

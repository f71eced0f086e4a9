import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeKubeconfig } from "../kubeconfig.ts";
import { type ManagedProcess, startDaemon } from "../processes.ts";
import { nodeNetwork } from "./network.ts";
import type { NodePki } from "./pki.ts";

/**
 * Cluster DNS: CoreDNS (built from its Go module) as a process on the node, listening on the node address.
 * The `kube-dns` Service (10.0.0.10) points at it through a hand-kept EndpointSlice (bootstrap.ts), so pods
 * resolve exactly as on a cluster where CoreDNS runs as a pod. A host process rather than a pod: it needs no
 * image (the registry comes later), starts beside the kubelet instead of after scheduling, is stopped with
 * the other daemons, and keeps kube-system free of pods that the security baseline would have to exempt.
 * Names outside cluster.local are not forwarded: the local cloud has no outside network.
 */
/**
 * What the controller must be told about this DNS: it is no kube-system pod, so tenant namespaces' DNS
 * NetworkPolicy allows its address (enforced on the node by kube-router).
 */
export const nodeDnsControllerEnv = { GOVHOST_CLUSTER_DNS_CIDRS: `${nodeNetwork.nodeIp}/32` } as const;

export function corefile(o: { kubeconfig: string; healthPort: number; readyPort: number }): string {
  return `.:53 {
    bind ${nodeNetwork.nodeIp}
    errors
    health 127.0.0.1:${o.healthPort}
    ready 127.0.0.1:${o.readyPort}
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ${o.kubeconfig} govhost-local
        pods insecure
        ttl 5
    }
    cache 5
    loadbalance
}
`;
}

export function startCoreDns(o: {
  binary: string;
  nodeDir: string;
  logDir: string;
  server: string;
  pki: NodePki;
  healthPort: number;
  readyPort: number;
}): ManagedProcess {
  const dir = join(o.nodeDir, "coredns");
  mkdirSync(dir, { recursive: true });
  const kubeconfig = join(dir, "coredns.kubeconfig");
  writeKubeconfig(kubeconfig, {
    server: o.server,
    caCert: o.pki.caCert,
    clientCert: o.pki.corednsCert,
    clientKey: o.pki.corednsKey,
    user: "system:coredns",
  });
  const config = join(dir, "Corefile");
  writeFileSync(config, corefile({ kubeconfig, healthPort: o.healthPort, readyPort: o.readyPort }));
  return startDaemon("coredns", o.binary, ["-conf", config], join(o.logDir, "coredns.log"));
}

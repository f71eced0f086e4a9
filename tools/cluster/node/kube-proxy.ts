import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeKubeconfig } from "../kubeconfig.ts";
import { type ManagedProcess, startDaemon } from "../processes.ts";
import { nodeNetwork } from "./network.ts";
import type { NodeDaemonOptions } from "./pki.ts";

export interface KubeProxyOptions extends NodeDaemonOptions {
  healthzPort: number;
  metricsPort: number;
}

/**
 * kube-proxy in nftables mode: its rules live in tables of its own (`ip kube-proxy`, `ip6 kube-proxy`), so
 * kube-router, which saves and restores the whole iptables filter table on every sync, can no longer put
 * back a rule kube-proxy has just removed (a Service's "no endpoints" REJECT, seen refusing a freshly ready
 * Service in CI runs with iptables mode). Node ports only on the node address, health and metrics on
 * loopback, and no conntrack sysctls touched (maxPerCore 0, timeouts 0: leave the host's values).
 */
function kubeProxyConfig(o: KubeProxyOptions, kubeconfig: string): string {
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
clientConnection:
  kubeconfig: ${kubeconfig}
hostnameOverride: ${o.nodeName}
bindAddress: ${nodeNetwork.nodeIp}
clusterCIDR: ${nodeNetwork.podCidr}
healthzBindAddress: 127.0.0.1:${o.healthzPort}
metricsBindAddress: 127.0.0.1:${o.metricsPort}
nodePortAddresses:
- ${nodeNetwork.nodeIp}/32
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
nftables:
  syncPeriod: 30s
  minSyncPeriod: 0s
`;
}

export function startKubeProxy(o: KubeProxyOptions): ManagedProcess {
  const dir = join(o.nodeDir, "kube-proxy");
  mkdirSync(dir, { recursive: true });
  const kubeconfig = join(dir, "kube-proxy.kubeconfig");
  const config = join(dir, "config.yaml");
  writeKubeconfig(kubeconfig, {
    server: o.server,
    caCert: o.pki.caCert,
    clientCert: o.pki.kubeProxyCert,
    clientKey: o.pki.kubeProxyKey,
    user: "system:kube-proxy",
  });
  writeFileSync(config, kubeProxyConfig(o, kubeconfig));
  return startDaemon("kube-proxy", o.binary, [`--config=${config}`], join(o.logDir, "kube-proxy.log"));
}

/** `kube-proxy --cleanup`: removes the chains and rules every kube-proxy mode may have left. */
export function cleanupKubeProxy(binary: string, logFile: string): void {
  try {
    execFileSync(binary, ["--cleanup", "--v=0"], { stdio: ["ignore", "ignore", "pipe"], timeout: 60_000 });
  } catch (error) {
    // It exits non-zero when a mode it cleans was never set up (e.g. no ipvs); the tables are checked after.
    writeFileSync(logFile, `kube-proxy --cleanup: ${String(error)}\n`, { flag: "a" });
  }
}

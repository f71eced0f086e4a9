import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeKubeconfig } from "../kubeconfig.ts";
import { type ManagedProcess, startDaemon } from "../processes.ts";
import { nodeNetwork } from "./network.ts";
import type { NodeDaemonOptions } from "./pki.ts";

export interface KubeletOptions extends NodeDaemonOptions {
  containerdSocket: string;
  /** The kubelet's HTTPS port on the node address (logs, exec, metrics through the API server). */
  port: number;
  healthzPort: number;
}

/**
 * The kubelet's configuration, per ../shared/notes/real-node.md: cgroup v1 allowed (failCgroupV1: false),
 * cgroupfs, no swap check, x509 + webhook authentication and webhook authorization with anonymous access
 * off, no read-only port, small eviction thresholds (a development disk), the cluster DNS Service, and every
 * directory it would otherwise put on the host (pod logs, volume plugins) inside the node's directory.
 */
function kubeletConfig(o: KubeletOptions, rootDir: string): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://${o.containerdSocket}
failSwapOn: false
address: ${nodeNetwork.nodeIp}
port: ${o.port}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${o.healthzPort}
tlsCertFile: ${o.pki.kubeletServingCert}
tlsPrivateKeyFile: ${o.pki.kubeletServingKey}
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: ${o.pki.caCert}
authorization:
  mode: Webhook
clusterDomain: cluster.local
clusterDNS:
- ${nodeNetwork.clusterDnsIp}
resolvConf: ""
podLogsDir: ${join(rootDir, "..", "pod-logs")}
volumePluginDir: ${join(rootDir, "..", "volume-plugins")}
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  imagefs.available: 1%
  nodefs.inodesFree: 1%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
rotateCertificates: false
serverTLSBootstrap: false
maxPods: 110
`;
}

export function startKubelet(o: KubeletOptions): ManagedProcess {
  const dir = join(o.nodeDir, "kubelet");
  const rootDir = join(dir, "root");
  mkdirSync(rootDir, { recursive: true });
  const config = join(dir, "config.yaml");
  const kubeconfig = join(dir, "kubelet.kubeconfig");
  writeFileSync(config, kubeletConfig(o, rootDir));
  writeKubeconfig(kubeconfig, {
    server: o.server,
    caCert: o.pki.caCert,
    clientCert: o.pki.kubeletCert,
    clientKey: o.pki.kubeletKey,
    user: `system:node:${o.nodeName}`,
  });
  return startDaemon(
    "kubelet",
    o.binary,
    [
      `--config=${config}`,
      `--kubeconfig=${kubeconfig}`,
      `--root-dir=${rootDir}`,
      `--cert-dir=${join(dir, "pki")}`,
      `--hostname-override=${o.nodeName}`,
      `--node-ip=${nodeNetwork.nodeIp}`,
      "--v=1",
    ],
    join(o.logDir, "kubelet.log"),
  );
}

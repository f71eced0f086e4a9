import { join } from "node:path";
import { writeKubeconfig } from "../kubeconfig.ts";
import { type ManagedProcess, startDaemon } from "../processes.ts";
import type { NodePki } from "./pki.ts";

/**
 * kube-scheduler, started with the node: without a node it would only mark every pod unschedulable, which
 * the node-less control plane (tests that play the kubelet) must not see.
 */
export function startScheduler(o: {
  binary: string;
  nodeDir: string;
  logDir: string;
  server: string;
  pki: NodePki;
  port: number;
}): ManagedProcess {
  const kubeconfig = join(o.nodeDir, "kube-scheduler.kubeconfig");
  writeKubeconfig(kubeconfig, {
    server: o.server,
    caCert: o.pki.caCert,
    clientCert: o.pki.schedulerCert,
    clientKey: o.pki.schedulerKey,
    user: "system:kube-scheduler",
  });
  return startDaemon(
    "kube-scheduler",
    o.binary,
    [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      "--leader-elect=false",
      "--bind-address=127.0.0.1",
      `--secure-port=${o.port}`,
      "--profiling=false",
    ],
    join(o.logDir, "kube-scheduler.log"),
  );
}

import { join } from "node:path";
import { clientExtensions, issue, type Pki } from "../pki.ts";
import { localPublicDomains } from "./ingress.ts";
import { metricsServer } from "./metrics-server.ts";
import { nodeNetwork } from "./network.ts";
import { networkPolicyEnforcer } from "./network-policy.ts";
import { localRegistry } from "./registry.ts";

/** Certificates of the node's components, issued by the cluster CA into the node's directory. */
export interface NodePki {
  caCert: string;
  /** The kubelet's client identity: user system:node:<name> in group system:nodes (Node authorizer). */
  kubeletCert: string;
  kubeletKey: string;
  /** The kubelet's serving certificate for the node address (the API server verifies it). */
  kubeletServingCert: string;
  kubeletServingKey: string;
  kubeProxyCert: string;
  kubeProxyKey: string;
  schedulerCert: string;
  schedulerKey: string;
  corednsCert: string;
  corednsKey: string;
  /** kube-router's client identity (read-only RBAC, network-policy.ts). */
  kubeRouterCert: string;
  kubeRouterKey: string;
  /** The local registry's serving certificate (its name and the node address; registry.ts). */
  registryCert: string;
  registryKey: string;
  /** The ingress controller's default certificate: `*.<domain>` for each local public domain (ingress.ts). */
  ingressCert: string;
  ingressKey: string;
  /** metrics-server's serving certificate for its Service names (the APIService verifies it). */
  metricsServerCert: string;
  metricsServerKey: string;
}

/** Issues the node's certificates with the cluster's CA (the CA files stay in the cluster's PKI dir). */
export function createNodePki(clusterPki: Pki, nodeName: string): NodePki {
  const dir = join(clusterPki.caCert, "..");
  issue(dir, "kubelet", `/O=system:nodes/CN=system:node:${nodeName}`, clientExtensions);
  issue(
    dir,
    "kubelet-serving",
    `/CN=system:node:${nodeName}`,
    `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:${nodeNetwork.nodeIp},DNS:${nodeName}\n`,
  );
  issue(dir, "kube-proxy", "/CN=system:kube-proxy", clientExtensions);
  issue(dir, "kube-scheduler", "/CN=system:kube-scheduler", clientExtensions);
  issue(dir, "coredns", "/CN=system:coredns", clientExtensions);
  issue(dir, "kube-router", `/CN=${networkPolicyEnforcer.user}`, clientExtensions);
  issue(
    dir,
    "registry",
    `/CN=${localRegistry.host}`,
    `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:${nodeNetwork.nodeIp},DNS:${localRegistry.host}\n`,
  );
  issue(
    dir,
    "ingress-default",
    `/CN=*.${localPublicDomains[0]}`,
    `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${localPublicDomains.map((d) => `DNS:*.${d}`).join(",")}\n`,
  );
  issue(
    dir,
    "metrics-server",
    `/CN=${metricsServer.serviceNames[0]}`,
    `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${metricsServer.serviceNames.map((n) => `DNS:${n}`).join(",")}\n`,
  );
  const at = (file: string) => join(dir, file);
  return {
    caCert: clusterPki.caCert,
    kubeletCert: at("kubelet.crt"),
    kubeletKey: at("kubelet.key"),
    kubeletServingCert: at("kubelet-serving.crt"),
    kubeletServingKey: at("kubelet-serving.key"),
    kubeProxyCert: at("kube-proxy.crt"),
    kubeProxyKey: at("kube-proxy.key"),
    schedulerCert: at("kube-scheduler.crt"),
    schedulerKey: at("kube-scheduler.key"),
    corednsCert: at("coredns.crt"),
    corednsKey: at("coredns.key"),
    kubeRouterCert: at("kube-router.crt"),
    kubeRouterKey: at("kube-router.key"),
    registryCert: at("registry.crt"),
    registryKey: at("registry.key"),
    ingressCert: at("ingress-default.crt"),
    ingressKey: at("ingress-default.key"),
    metricsServerCert: at("metrics-server.crt"),
    metricsServerKey: at("metrics-server.key"),
  };
}

/** What every node daemon that talks to the API server is started with. */
export interface NodeDaemonOptions {
  binary: string;
  nodeName: string;
  nodeDir: string;
  logDir: string;
  server: string;
  pki: NodePki;
}

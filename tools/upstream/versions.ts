import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { loadLocalToolConfig } from "../config.ts";

const versionsFile = new URL("./versions.env", import.meta.url);

export interface UpstreamVersions {
  kubernetes: string;
  etcd: string;
  containerd: string;
  coredns: string;
  traefik: string;
  metricsServer: string;
  kubeRouter: string;
  pulumi: string;
  pulumiKubernetes: string;
  prometheus: string;
  kwok: string;
}

/** The pinned versions, read from versions.env (the file build.sh also sources). */
export function pinnedVersions(): UpstreamVersions {
  const entries = new Map<string, string>();
  for (const line of readFileSync(versionsFile, "utf8").split("\n")) {
    const match = /^([A-Z_]+)=(\S+)/.exec(line.trim());
    if (match?.[1] && match[2]) entries.set(match[1], match[2]);
  }
  const get = (key: string): string => {
    const value = entries.get(key);
    if (!value) throw new Error(`tools/upstream/versions.env has no ${key}`);
    return value;
  };
  return {
    kubernetes: get("KUBERNETES_VERSION"),
    etcd: get("ETCD_VERSION"),
    containerd: get("CONTAINERD_VERSION"),
    coredns: get("COREDNS_VERSION"),
    traefik: get("TRAEFIK_VERSION"),
    metricsServer: get("METRICS_SERVER_VERSION"),
    kubeRouter: get("KUBE_ROUTER_VERSION"),
    pulumi: get("PULUMI_VERSION"),
    pulumiKubernetes: get("PULUMI_KUBERNETES_VERSION"),
    prometheus: get("PROMETHEUS_VERSION"),
    kwok: get("KWOK_VERSION"),
  };
}

export function govhostCacheDir(): string {
  return loadLocalToolConfig().cache ?? join(homedir(), ".cache", "govhost");
}

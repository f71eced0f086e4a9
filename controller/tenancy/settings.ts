import { platformDefaults } from "../api/defaults.ts";
/** Platform-wide tenancy settings (the operator's choices, not the department's). */
export interface TenancySettings {
  /** Pod Security Standards version pinned on tenant namespaces, so upgrades never change it silently. */
  podSecurityVersion: string;
  /** Namespace of the platform ingress controller, allowed to reach tenant pods. */
  ingressControllerNamespace: string;
  /**
   * Addresses of cluster DNS when it does not run as kube-system pods labelled k8s-app=kube-dns (the local
   * node's CoreDNS is a host process): allowed as DNS peers beside those pods.
   */
  clusterDnsCidrs: string[];
  /** Container defaults and bounds applied by each namespace's LimitRange. */
  containerDefaults: {
    defaultRequest: { cpu: string; memory: string };
    default: { cpu: string; memory: string };
    max: { cpu: string; memory: string };
  };
  /**
   * How long usage changes of a department's quotas gather before its quota is rebalanced (one rebalance
   * per window, from the first change in it).
   */
  quotaRebalanceWindowMs: number;
  /**
   * How often each department's children are applied even when their caches say they are as desired (a
   * backstop: see controller/runtime/applied-digest.ts).
   */
  reapplyEveryMs: number;
}

export const defaultTenancySettings: TenancySettings = {
  podSecurityVersion: "v1.37",
  ingressControllerNamespace: platformDefaults.ingressControllerNamespace,
  clusterDnsCidrs: [],
  containerDefaults: {
    defaultRequest: { cpu: "100m", memory: "128Mi" },
    default: { cpu: "500m", memory: "512Mi" },
    max: { cpu: "4", memory: "16Gi" },
  },
  quotaRebalanceWindowMs: 500,
  reapplyEveryMs: 60 * 60_000,
};

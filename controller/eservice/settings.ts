/** Platform-wide e-service settings (the operator's choices, not the department's). */
export interface EServiceSettings {
  /** Namespace of the platform ingress controller, the only source allowed to reach e-service pods. */
  ingressControllerNamespace: string;
  ingressClassName: string;
  /** cert-manager ClusterIssuer that issues each public host's certificate, when the platform uses one. */
  tlsClusterIssuer?: string;
  /** Hosts that spec.accessibility.previewUrl may point at (the scanner fetches them from the controller). */
  previewHosts: string[];
}

export const defaultEServiceSettings: EServiceSettings = {
  ingressControllerNamespace: "govhost-ingress",
  ingressClassName: "govhost",
  previewHosts: [],
};

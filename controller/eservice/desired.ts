import type { KubeObject } from "../../lib/kube/client.ts";
import type { EService } from "../api/eservice.ts";
import { childMetadata, eserviceWorkload, selectorLabels, type Tenant } from "../api/eservice-workload.ts";
import { controllerIdentity } from "../api/rbac.ts";
import type { EServiceSettings } from "./settings.ts";

// Desired children of an EService as a pure function of its spec, its tenant and the platform settings.
// The Ingress is rendered here too; whether it is applied is the gate's decision (gate.ts).

export interface EServiceChildren {
  deployment: KubeObject;
  service: KubeObject;
  networkPolicy: KubeObject;
  /** Only with more than one replica (a budget of one replica would block every node drain). */
  podDisruptionBudget?: KubeObject;
  /** Undefined when the e-service has no host (internal, with no department domain). */
  ingress?: KubeObject;
  host?: string;
  internalUrl: string;
}

export const servicePort = 80;
/**
 * The Service port the completed-transaction route goes through: the same pods, but the ingress controller
 * counts it as a service of its own (`<namespace>-<name>-81`), so its requests are told apart without an
 * access log (docs/performance.md).
 */
export const completedTransactionPort = 81;

/** The Ingress paths of an e-service: its completed-transaction route (when declared), then everything else. */
export function ingressPaths(es: EService, service: string) {
  const backend = (port: number) => ({ service: { name: service, port: { number: port } } });
  const completion = es.spec.completedTransaction;
  const everything = { path: "/", pathType: "Prefix", backend: backend(servicePort) };
  if (!completion) return [everything];
  const completed = {
    path: completion.path,
    pathType: completion.match,
    backend: backend(completedTransactionPort),
  };
  // A prefix of "/" is every request: there is no other route left.
  return completion.path === "/" && completion.match === "Prefix" ? [completed] : [completed, everything];
}

export function hostOf(es: EService, tenant: Tenant): string | undefined {
  if (es.spec.hostname) return es.spec.hostname;
  const domain = tenant.domains[0];
  return domain ? `${es.metadata.name}.${domain}` : undefined;
}

/** Everything an EService should own. */
export function renderEService(es: EService, tenant: Tenant, settings: EServiceSettings): EServiceChildren {
  const name = es.metadata.name as string;
  const namespace = es.metadata.namespace as string;
  const host = hostOf(es, tenant);
  const children: EServiceChildren = {
    deployment: eserviceWorkload(es, tenant),
    service: {
      apiVersion: "v1",
      kind: "Service",
      metadata: childMetadata(es, tenant, name),
      spec: {
        type: "ClusterIP",
        selector: selectorLabels(es),
        ports: [
          { name: "http", port: servicePort, targetPort: "http", protocol: "TCP" },
          ...(es.spec.completedTransaction
            ? [{ name: "completed", port: completedTransactionPort, targetPort: "http", protocol: "TCP" }]
            : []),
        ],
      },
    },
    networkPolicy: {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: childMetadata(es, tenant, `${name}-from-ingress`),
      spec: {
        podSelector: { matchLabels: selectorLabels(es) },
        policyTypes: ["Ingress"],
        ingress: [
          {
            from: [
              {
                namespaceSelector: {
                  matchLabels: { "kubernetes.io/metadata.name": settings.ingressControllerNamespace },
                },
              },
              // The accessibility scanner, where the controller runs as pods (in the platform namespace, which
              // no department can put a pod in); a controller on a node's host is the node itself, which
              // NetworkPolicies do not filter.
              {
                namespaceSelector: {
                  matchLabels: { "kubernetes.io/metadata.name": controllerIdentity.namespace },
                },
                podSelector: { matchLabels: { ...controllerIdentity.podLabels } },
              },
            ],
            ports: [{ protocol: "TCP", port: es.spec.port }],
          },
        ],
      },
    },
    host,
    internalUrl: `http://${name}.${namespace}.svc`,
  };
  if (es.spec.replicas > 1) {
    children.podDisruptionBudget = {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: childMetadata(es, tenant, name),
      spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(es) } },
    };
  }
  if (host) {
    const meta = childMetadata(es, tenant, name);
    children.ingress = {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: settings.tlsClusterIssuer
        ? { ...meta, annotations: { "cert-manager.io/cluster-issuer": settings.tlsClusterIssuer } }
        : meta,
      spec: {
        ingressClassName: settings.ingressClassName,
        // With a cluster issuer, cert-manager writes the certificate into <name>-tls; without one, the
        // ingress controller serves its default certificate (no secret to name that nothing would create).
        tls: [{ hosts: [host], ...(settings.tlsClusterIssuer ? { secretName: `${name}-tls` } : {}) }],
        rules: [{ host, http: { paths: ingressPaths(es, name) } }],
      },
    };
  }
  return children;
}

import { platformOwned, tenantDeclared } from "../../policies/keys.ts";
import type { EService } from "../api/eservice.ts";
import { controllerReference } from "../api/group.ts";
import type { KubeObject } from "../runtime/kube-client.ts";
import { childLabels } from "../tenancy/desired.ts";
import type { EServiceSettings } from "./settings.ts";

// Desired children of an EService as a pure function of its spec, its tenant and the platform settings.
// The Ingress is rendered here too; whether it is applied is the gate's decision (gate.ts).

export interface Tenant {
  department: string;
  environment: string;
  domains: string[];
}

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

export function hostOf(es: EService, tenant: Tenant): string | undefined {
  if (es.spec.hostname) return es.spec.hostname;
  const domain = tenant.domains[0];
  return domain ? `${es.metadata.name}.${domain}` : undefined;
}

export function selectorLabels(es: EService): Record<string, string> {
  return { [platformOwned.eservice]: es.metadata.name as string };
}

function metadata(es: EService, tenant: Tenant, name: string) {
  return {
    name,
    namespace: es.metadata.namespace,
    labels: {
      ...selectorLabels(es),
      "app.kubernetes.io/name": es.metadata.name as string,
      ...childLabels(tenant.department, tenant.environment),
    },
    ownerReferences: [controllerReference("EService", es)],
  };
}

function deployment(es: EService, tenant: Tenant): KubeObject {
  const name = es.metadata.name as string;
  const meta = metadata(es, tenant, name);
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta,
    spec: {
      replicas: es.spec.replicas,
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(es) },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: { ...meta.labels, [tenantDeclared.dataClassification]: es.spec.dataClassification },
        },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "web",
              image: es.spec.image,
              imagePullPolicy: "Always",
              ports: [{ name: "http", containerPort: es.spec.port, protocol: "TCP" }],
              env: es.spec.env,
              resources: es.spec.resources,
              readinessProbe: {
                httpGet: { path: es.spec.accessibility.paths[0] ?? "/", port: "http" },
                periodSeconds: 10,
              },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ["ALL"] },
              },
              volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
            },
          ],
          volumes: [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }],
        },
      },
    },
  };
}

/** Everything an EService should own. */
export function renderEService(es: EService, tenant: Tenant, settings: EServiceSettings): EServiceChildren {
  const name = es.metadata.name as string;
  const namespace = es.metadata.namespace as string;
  const host = hostOf(es, tenant);
  const children: EServiceChildren = {
    deployment: deployment(es, tenant),
    service: {
      apiVersion: "v1",
      kind: "Service",
      metadata: metadata(es, tenant, name),
      spec: {
        type: "ClusterIP",
        selector: selectorLabels(es),
        ports: [{ name: "http", port: servicePort, targetPort: "http", protocol: "TCP" }],
      },
    },
    networkPolicy: {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: metadata(es, tenant, `${name}-from-ingress`),
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
      metadata: metadata(es, tenant, name),
      spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(es) } },
    };
  }
  if (host) {
    const meta = metadata(es, tenant, name);
    children.ingress = {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: settings.tlsClusterIssuer
        ? { ...meta, annotations: { "cert-manager.io/cluster-issuer": settings.tlsClusterIssuer } }
        : meta,
      spec: {
        ingressClassName: settings.ingressClassName,
        tls: [{ hosts: [host], secretName: `${name}-tls` }],
        rules: [
          {
            host,
            http: {
              paths: [
                {
                  path: "/",
                  pathType: "Prefix",
                  backend: { service: { name, port: { number: servicePort } } },
                },
              ],
            },
          },
        ],
      },
    };
  }
  return children;
}

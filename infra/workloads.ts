import { readFileSync } from "node:fs";
import { controllerIdentity, portalApiIdentity } from "../controller/api/rbac.ts";
import type { Manifest } from "./resources.ts";

// The controller and portal API as Deployments in the platform namespace (Pod Security restricted there),
// their Services, the API's audit volume, and the finance dashboard for Grafana's sidecar.

export interface WorkloadSettings {
  images: { controller: string; portalApi: string };
  ingressControllerNamespace: string;
  oidc: { issuer: string; audience: string; clientId: string };
  auditStorage: string;
  serviceMonitor: boolean;
}

const namespace = controllerIdentity.namespace;
const partOf = { "app.kubernetes.io/part-of": "govhost" };

const restrictedContainer = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
};

function deployment(
  name: string,
  serviceAccount: string,
  image: string,
  command: string,
  port: number,
  env: { name: string; value?: string; valueFrom?: unknown }[],
  replicas: number,
  volumes: { name: string; mountPath: string; source: Record<string, unknown> }[],
  extraPorts: { name: string; containerPort: number }[] = [],
): Manifest {
  const labels = { ...partOf, "app.kubernetes.io/name": name };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace, labels },
    spec: {
      replicas,
      selector: { matchLabels: { "app.kubernetes.io/name": name } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: serviceAccount,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name,
              image,
              command: ["node", command],
              env,
              ports: [{ name: "http", containerPort: port }, ...extraPorts],
              readinessProbe: { httpGet: { path: "/readyz", port: "http" }, periodSeconds: 10 },
              resources: { requests: { cpu: "200m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } },
              securityContext: restrictedContainer,
              volumeMounts: [
                { name: "tmp", mountPath: "/tmp" },
                ...volumes.map((v) => ({ name: v.name, mountPath: v.mountPath })),
              ],
            },
          ],
          volumes: [{ name: "tmp", emptyDir: {} }, ...volumes.map((v) => ({ name: v.name, ...v.source }))],
        },
      },
    },
  };
}

function service(name: string, port: number, target = { app: name, port: "http" }): Manifest {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, labels: { ...partOf, "app.kubernetes.io/name": name } },
    spec: {
      type: "ClusterIP",
      selector: { "app.kubernetes.io/name": target.app },
      ports: [{ name: "http", port, targetPort: target.port }],
    },
  };
}

/**
 * The controller's check for the API gateway (docs/api-exchange.md): the cluster's Traefik points its
 * forwardAuth middleware at http://govhost-api-gateway-check.govhost-system.svc:8082/api-gateway/verify.
 */
const gatewayCheckPort = 8082;

export const portalApiUrl = `http://govhost-portal-api.${namespace}.svc:8080`;

export function workloadManifests(settings: WorkloadSettings): Manifest[] {
  const podName = { name: "GOVHOST_CONTROLLER_ID", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } };
  const manifests: Manifest[] = [
    deployment(
      "govhost-controller",
      controllerIdentity.serviceAccount,
      settings.images.controller,
      "controller/main.ts",
      8081,
      [
        { name: "GOVHOST_CONTROLLER_HOST", value: "0.0.0.0" },
        { name: "GOVHOST_INGRESS_NAMESPACE", value: settings.ingressControllerNamespace },
        { name: "GOVHOST_API_GATEWAY_CHECK_HOST", value: "0.0.0.0" },
        { name: "GOVHOST_API_GATEWAY_CHECK_PORT", value: String(gatewayCheckPort) },
        podName,
      ],
      2, // one leads (Lease), one stands by
      [],
      [{ name: "gateway-check", containerPort: gatewayCheckPort }],
    ),
    service("govhost-controller", 8081),
    // Only the leader is ready (/readyz), and only the leader answers the check.
    service("govhost-api-gateway-check", gatewayCheckPort, {
      app: "govhost-controller",
      port: "gateway-check",
    }),
    {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "govhost-audit", namespace, labels: partOf },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: settings.auditStorage } } },
    },
    deployment(
      "govhost-portal-api",
      portalApiIdentity.serviceAccount,
      settings.images.portalApi,
      "portal-api/main.ts",
      8080,
      [
        { name: "GOVHOST_API_HOST", value: "0.0.0.0" },
        { name: "GOVHOST_OIDC_ISSUER", value: settings.oidc.issuer },
        { name: "GOVHOST_OIDC_AUDIENCE", value: settings.oidc.audience },
        { name: "GOVHOST_OIDC_CLIENT_ID", value: settings.oidc.clientId },
        { name: "GOVHOST_AUDIT_LOG", value: "/var/lib/govhost/audit.log" },
      ],
      1, // the audit log has a single writer
      [
        {
          name: "audit",
          mountPath: "/var/lib/govhost",
          source: { persistentVolumeClaim: { claimName: "govhost-audit" } },
        },
      ],
    ),
    service("govhost-portal-api", 8080),
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "govhost-finance-dashboard",
        namespace,
        labels: { ...partOf, grafana_dashboard: "1" },
      },
      data: {
        "govhost-finance.json": readFileSync(new URL("dashboards/finance.json", import.meta.url), "utf8"),
      },
    },
  ];
  if (settings.serviceMonitor) {
    manifests.push({
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { name: "govhost", namespace, labels: partOf },
      spec: {
        selector: { matchLabels: partOf },
        endpoints: [{ port: "http", path: "/metrics", interval: "30s" }],
      },
    });
  }
  return manifests;
}

import { readFileSync } from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { apiGateway, gatewayCheckService } from "../controller/api/api-gateway.ts";
import { controllerNodeFlags } from "../controller/api/defaults.ts";
import { prefixRule } from "../controller/api/ingress-rule.ts";
import { platformDataClassification } from "../controller/api/platform.ts";
import { controllerIdentity, portalApiIdentity } from "../controller/api/rbac.ts";
import { scannerBrowser } from "../controller/api/scanner-browser.ts";
import { tenantDeclared } from "../policies/keys.ts";
import type { Manifest } from "./resources.ts";

// The controller and portal API as Deployments in the platform namespace (Pod Security restricted there),
// their Services, the API's audit volume, and the finance dashboard for Grafana's sidecar.

export interface WorkloadSettings {
  /** Image references; an Output when the stack builds the image itself (its digest is known after the push). */
  images: { controller: pulumi.Input<string>; portalApi: pulumi.Input<string> };
  ingressControllerNamespace: string;
  /** allowHttpIssuer: the local OpenID provider only (plain HTTP on the node's address). */
  oidc: { issuer: string; audience: string; clientId: string; allowHttpIssuer?: boolean };
  /** The portal API's host name at the ingress controller (an Ingress with TLS); none: in-cluster only. */
  api?: { host: string; ingressClassName: string };
  /**
   * Sign-in to the web pages the portal API serves (the provider's authorization code flow, the session
   * cookies' key); none: the API alone. The secrets go into a Secret, never into the Deployment.
   */
  web?: {
    url: string;
    clientId?: string;
    clientSecret: pulumi.Input<string>;
    sessionKey: pulumi.Input<string>;
  };
  auditStorage: string;
  serviceMonitor: boolean;
  /** Where cluster DNS answers when it is not kube-dns pods (the local cloud's CoreDNS on the node address). */
  clusterDnsCidrs?: pulumi.Input<string[]>;
  /**
   * The ingress controller pods' addresses (CIDRs): the portal API reads the client's address from their
   * X-Forwarded-For, so its per-address limits are per citizen (GOVHOST_API_TRUSTED_PROXIES).
   */
  trustedProxies?: string[];
}

const namespace = controllerIdentity.namespace;
const partOf = { "app.kubernetes.io/part-of": "govhost" };

const restrictedContainer = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
};

interface DeploymentArgs {
  name: string;
  serviceAccount: string;
  image: pulumi.Input<string>;
  command: string;
  /** Node's flags before the entry point. */
  nodeFlags?: readonly string[];
  port: number;
  env: { name: string; value?: pulumi.Input<string>; valueFrom?: unknown }[];
  replicas: number;
  /** Kubernetes' readiness: the portal API's /readyz; the controller's /healthz (a standby is ready too). */
  readinessPath: string;
  volumes?: { name: string; mountPath: string; source: Record<string, unknown> }[];
  extraPorts?: { name: string; containerPort: number }[];
  /** Recreate: never two pods at once (a single writer's volume). Default: a rolling update. */
  recreate?: boolean;
  /** The accessibility scanner's browser container beside the main one (the controller's). */
  scannerBrowser?: boolean;
}

// What Kubernetes would mount into every container (token, cluster CA, namespace); projected here into the
// main container only, so the scanner's browser container has no credentials.
const serviceAccountMount = "/var/run/secrets/kubernetes.io/serviceaccount";
const serviceAccountVolume = {
  name: "kube-api-access",
  projected: {
    sources: [
      { serviceAccountToken: { path: "token", expirationSeconds: 3607 } },
      { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
      {
        downwardAPI: {
          items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }],
        },
      },
    ],
  },
};

/**
 * Chromium for the accessibility scans, in a container of its own: tenant pages run there without
 * Chromium's sandbox (a restricted pod cannot start it), so it holds nothing worth stealing (no token, no
 * settings but HOME, its own /tmp) and shares only the pod's loopback with the controller.
 */
function browserContainer(image: pulumi.Input<string>) {
  return {
    name: scannerBrowser.containerName,
    image,
    imagePullPolicy: "Always",
    command: scannerBrowser.command(),
    env: [{ name: "HOME", value: "/tmp" }],
    resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: "1536Mi" } },
    securityContext: restrictedContainer,
    volumeMounts: [{ name: "browser-tmp", mountPath: "/tmp" }],
  };
}

function deployment(args: DeploymentArgs): Manifest {
  const { name, volumes = [], extraPorts = [] } = args;
  const withBrowser = args.scannerBrowser === true;
  const labels = { ...partOf, "app.kubernetes.io/name": name };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace, labels },
    spec: {
      replicas: args.replicas,
      ...(args.recreate ? { strategy: { type: "Recreate" } } : {}),
      selector: { matchLabels: { "app.kubernetes.io/name": name } },
      template: {
        metadata: {
          labels: { ...labels, [tenantDeclared.dataClassification]: platformDataClassification },
          // Where a cluster's Prometheus finds the metrics by the common convention (with the Prometheus
          // operator, the ServiceMonitor below).
          annotations: {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": String(args.port),
            "prometheus.io/path": "/metrics",
          },
        },
        spec: {
          serviceAccountName: args.serviceAccount,
          // Kubernetes would otherwise set <SERVICE>_PORT for every Service in the namespace, and the
          // Service govhost-controller's GOVHOST_CONTROLLER_PORT=tcp://... collides with the setting.
          enableServiceLinks: false,
          ...(withBrowser ? { automountServiceAccountToken: false } : {}),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name,
              image: args.image,
              imagePullPolicy: "Always",
              command: ["node", ...(args.nodeFlags ?? []), args.command],
              env: withBrowser
                ? [...args.env, { name: "GOVHOST_BROWSER_ENDPOINT", value: scannerBrowser.endpoint }]
                : args.env,
              ports: [{ name: "http", containerPort: args.port }, ...extraPorts],
              readinessProbe: { httpGet: { path: args.readinessPath, port: "http" }, periodSeconds: 5 },
              resources: { requests: { cpu: "200m", memory: "256Mi" }, limits: { cpu: "1", memory: "1Gi" } },
              securityContext: restrictedContainer,
              volumeMounts: [
                { name: "tmp", mountPath: "/tmp" },
                ...volumes.map((v) => ({ name: v.name, mountPath: v.mountPath })),
                ...(withBrowser
                  ? [{ name: serviceAccountVolume.name, mountPath: serviceAccountMount, readOnly: true }]
                  : []),
              ],
            },
            ...(withBrowser ? [browserContainer(args.image)] : []),
          ],
          volumes: [
            { name: "tmp", emptyDir: {} },
            ...volumes.map((v) => ({ name: v.name, ...v.source })),
            ...(withBrowser ? [serviceAccountVolume, { name: "browser-tmp", emptyDir: {} }] : []),
          ],
        },
      },
    },
  };
}

function service(name: string, port: number): Manifest {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, labels: { ...partOf, "app.kubernetes.io/name": name } },
    spec: {
      type: "ClusterIP",
      selector: { "app.kubernetes.io/name": name },
      ports: [{ name: "http", port, targetPort: "http" }],
    },
  };
}

/**
 * The controller's check for the API gateway (docs/api-exchange.md): the cluster's Traefik points its
 * forwardAuth middleware at gatewayCheckUrl (the Service govhost-api-gateway-check, port 8082).
 */
const gatewayCheckPort = apiGateway.checkService.port;

export const portalApiUrl = `http://govhost-portal-api.${namespace}.svc:8080`;

/** The portal API at the ingress controller, over TLS (the controller's default certificate without a secret). */
function apiIngress(host: string, ingressClassName: string): Manifest {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name: "govhost-portal-api",
      namespace,
      labels: { ...partOf, "app.kubernetes.io/name": "govhost-portal-api" },
    },
    spec: {
      ingressClassName,
      tls: [{ hosts: [host] }],
      rules: [prefixRule({ host, service: "govhost-portal-api", port: 8080 })],
    },
  };
}

const fromPod = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });

const webSecretName = "govhost-portal-web";
const fromWebSecret = (name: string, key: string) => ({
  name,
  valueFrom: { secretKeyRef: { name: webSecretName, key } },
});

/** The portal API's web sign-in: the Secret, and the settings that point at it. */
function webSignIn(web: NonNullable<WorkloadSettings["web"]>): {
  secret: Manifest;
  env: DeploymentArgs["env"];
} {
  return {
    secret: {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: webSecretName, namespace, labels: partOf },
      type: "Opaque",
      stringData: { "client-secret": web.clientSecret, "session-key": web.sessionKey },
    },
    env: [
      { name: "GOVHOST_WEB_URL", value: web.url },
      ...(web.clientId ? [{ name: "GOVHOST_WEB_CLIENT_ID", value: web.clientId }] : []),
      fromWebSecret("GOVHOST_WEB_CLIENT_SECRET", "client-secret"),
      fromWebSecret("GOVHOST_SESSION_KEY", "session-key"),
    ],
  };
}

export function workloadManifests(settings: WorkloadSettings): Manifest[] {
  const web = settings.web ? webSignIn(settings.web) : undefined;
  const manifests: Manifest[] = [
    deployment({
      name: "govhost-controller",
      serviceAccount: controllerIdentity.serviceAccount,
      image: settings.images.controller,
      command: "controller/main.ts",
      nodeFlags: controllerNodeFlags,
      port: 8081,
      env: [
        { name: "GOVHOST_CONTROLLER_HOST", value: "0.0.0.0" },
        { name: "GOVHOST_INGRESS_NAMESPACE", value: settings.ingressControllerNamespace },
        { name: "GOVHOST_API_GATEWAY_CHECK_HOST", value: "0.0.0.0" },
        { name: "GOVHOST_API_GATEWAY_CHECK_PORT", value: String(gatewayCheckPort) },
        fromPod("GOVHOST_API_GATEWAY_CHECK_ADVERTISE", "status.podIP"),
        fromPod("GOVHOST_CONTROLLER_ID", "metadata.name"),
        ...(settings.clusterDnsCidrs
          ? [
              {
                name: "GOVHOST_CLUSTER_DNS_CIDRS",
                value: pulumi.output(settings.clusterDnsCidrs).apply((cidrs) => cidrs.join(",")),
              },
            ]
          : []),
      ],
      replicas: 2, // one leads (Lease), one stands by
      // Both replicas are ready when alive: the standby's job is to wait. Only the leader reconciles, and
      // only the leader is the gateway check's endpoint (it publishes itself, below).
      readinessPath: "/healthz",
      extraPorts: [{ name: "gateway-check", containerPort: gatewayCheckPort }],
      scannerBrowser: true,
    }),
    service("govhost-controller", 8081),
    // No selector: the leading replica writes the Service's one endpoint (controller/api-exchange/check-endpoint.ts).
    gatewayCheckService(namespace),
    {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "govhost-audit", namespace, labels: partOf },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: settings.auditStorage } } },
    },
    deployment({
      name: "govhost-portal-api",
      serviceAccount: portalApiIdentity.serviceAccount,
      image: settings.images.portalApi,
      command: "portal-api/main.ts",
      port: 8080,
      env: [
        { name: "GOVHOST_API_HOST", value: "0.0.0.0" },
        { name: "GOVHOST_OIDC_ISSUER", value: settings.oidc.issuer },
        { name: "GOVHOST_OIDC_AUDIENCE", value: settings.oidc.audience },
        { name: "GOVHOST_OIDC_CLIENT_ID", value: settings.oidc.clientId },
        { name: "GOVHOST_AUDIT_LOG", value: "/var/lib/govhost/audit.log" },
        ...(settings.oidc.allowHttpIssuer ? [{ name: "GOVHOST_OIDC_ALLOW_HTTP", value: "true" }] : []),
        ...(settings.trustedProxies?.length
          ? [{ name: "GOVHOST_API_TRUSTED_PROXIES", value: settings.trustedProxies.join(",") }]
          : []),
        ...(web?.env ?? []),
      ],
      replicas: 1, // the audit log has a single writer, also during a rollout
      recreate: true,
      readinessPath: "/readyz",
      volumes: [
        {
          name: "audit",
          mountPath: "/var/lib/govhost",
          source: { persistentVolumeClaim: { claimName: "govhost-audit" } },
        },
      ],
    }),
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
  if (web) manifests.push(web.secret);
  if (settings.api) manifests.push(apiIngress(settings.api.host, settings.api.ingressClassName));
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

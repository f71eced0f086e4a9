import { readFileSync } from "node:fs";
import { request } from "node:https";
import { apiGateway, gatewayCheckUrl } from "../../../controller/api/api-gateway.ts";
import { platformDefaults } from "../../../controller/api/defaults.ts";
import { controllerIdentity } from "../../../controller/api/rbac.ts";
import type { KubeClient, KubeObject } from "../../../lib/kube/client.ts";
import type { ImageSpec } from "../../image/oci-image.ts";
import { pinnedVersions } from "../../upstream/versions.ts";
import { pushAddonImage, staticBinaryImage } from "./addon-images.ts";
import { nodeNetwork } from "./network.ts";

// The local cloud's ingress controller: Traefik (built from its Go module, tools/upstream/build.sh) as a pod
// in the platform's ingress namespace, from an image the project's image tool builds from the static binary
// and pushes to the node's registry. It serves the Ingresses of class `govhost` that the exposure gate
// creates, on the node address: HTTPS on 443 (HTTP on 80 redirects there), through hostPorts, so a
// citizen's `curl --resolve <host>:443:10.250.0.1 https://<host>/` reaches the e-service. Its TLS
// certificate is the default one: a wildcard from the cluster CA for the local public domains below
// (there is no certificate issuer on the local cloud; production names `tlsClusterIssuer` for cert-manager).
// The same Traefik is the API gateway between departments (controller/api/api-gateway.ts): an entry point
// inside the cluster only, behind the Service api-gateway, whose routes ask the controller about each call.

/**
 * Public domains of the local cloud: the default certificate covers `*.<domain>` for each. The demo
 * departments use the last two; tests that fetch pages over TLS give their department `gov.example`.
 * A department with another domain is still served, with this certificate, which clients will not accept
 * for its names.
 */
export const localPublicDomains = ["gov.example", "immd.gov.example", "lcsd.gov.example"] as const;

export const localIngress = {
  namespace: platformDefaults.ingressControllerNamespace,
  className: platformDefaults.ingressClassName,
  /** Where citizens' requests arrive (hostPorts on the node address). */
  address: nodeNetwork.nodeIp,
  httpsPort: 443,
  httpPort: 80,
} as const;

const name = "traefik";
/** Upper bounds of Traefik's response-time histogram, in seconds. */
export const latencyBucketsSeconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
const fieldManager = "govhost-local-cloud";
const labels = { "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "govhost" };
/**
 * Where a controller on the host answers the gateway's checks (`npm start` without --in-cluster, the node
 * tests): on the node address, which the ingress controller's pod reaches (tenant pods do not: their egress
 * is DNS only). The leader publishes that address as the endpoint of the check Service, which Traefik asks
 * (gatewayCheckUrl), as it does when the controller runs in the cluster and publishes its pod's address.
 */
export const localApiGatewayCheck = { host: nodeNetwork.nodeIp, port: 18082 } as const;
export const nodeApiGatewayControllerEnv = {
  GOVHOST_API_GATEWAY_CHECK_HOST: localApiGatewayCheck.host,
  GOVHOST_API_GATEWAY_CHECK_PORT: String(localApiGatewayCheck.port),
  GOVHOST_API_GATEWAY_CHECK_ADVERTISE: localApiGatewayCheck.host,
} as const;

/** Ports inside the pod (unprivileged; the hostPorts map 443 and 80 to them; the API entry point has none). */
const containerPorts = {
  websecure: 8443,
  web: 8000,
  // Ping and Prometheus metrics (the controller counts each e-service's traffic from them).
  traefik: platformDefaults.ingressMetrics.port,
  [apiGateway.entryPoint]: apiGateway.containerPort,
} as const;
const certificateDir = "/etc/traefik/certificate";
const dynamicConfigDir = "/etc/traefik/dynamic";

/** The Traefik image: the binary alone, run as user 65532. */
const traefikImage = (binary: string): ImageSpec =>
  staticBinaryImage({
    title: "Traefik",
    version: pinnedVersions().traefik,
    binary,
    path: "/usr/local/bin/traefik",
    user: 65532,
    ports: Object.values(containerPorts),
  });

/**
 * Traefik's file provider: the default certificate, the TLS floor, and the API gateway's middlewares (the
 * controller's check, dropping the caller's token before the provider sees the call, the prefix strip).
 */
function dynamicConfig(): string {
  return JSON.stringify({
    http: {
      middlewares: {
        [apiGateway.middlewares.auth]: {
          forwardAuth: {
            address: gatewayCheckUrl(controllerIdentity.namespace),
            authResponseHeaders: [apiGateway.consumerHeader, apiGateway.grantHeader],
          },
        },
        [apiGateway.middlewares.forward]: { headers: { customRequestHeaders: { Authorization: "" } } },
        [apiGateway.middlewares.strip]: { stripPrefixRegex: { regex: ["^/[a-z0-9-]+/[a-z0-9-]+"] } },
      },
    },
    tls: {
      stores: {
        default: {
          defaultCertificate: { certFile: `${certificateDir}/tls.crt`, keyFile: `${certificateDir}/tls.key` },
        },
      },
      options: { default: { minVersion: "VersionTLS12", sniStrict: false } },
    },
  });
}

function traefikArgs(): string[] {
  return [
    `--entryPoints.websecure.address=:${containerPorts.websecure}`,
    "--entryPoints.websecure.http.tls=true",
    // Routes that name no entry point (the e-services' Ingresses) are public ones: not on the API entry point.
    "--entryPoints.websecure.asDefault=true",
    `--entryPoints.web.address=:${containerPorts.web}`,
    "--entryPoints.web.asDefault=true",
    `--entryPoints.${apiGateway.entryPoint}.address=:${apiGateway.containerPort}`,
    `--entryPoints.web.http.redirections.entryPoint.to=:${localIngress.httpsPort}`,
    "--entryPoints.web.http.redirections.entryPoint.scheme=https",
    `--entryPoints.traefik.address=:${containerPorts.traefik}`,
    "--ping=true",
    "--metrics.prometheus=true",
    // Response-time buckets fine enough for a p95 target in tens of milliseconds (docs/performance.md).
    `--metrics.prometheus.buckets=${latencyBucketsSeconds.join(",")}`,
    "--providers.kubernetesingress=true",
    `--providers.kubernetesingress.ingressclass=${localIngress.className}`,
    `--providers.kubernetesingress.ingressendpoint.ip=${localIngress.address}`,
    // Prefix paths match whole path elements, as the Ingress API says: /ns/api never serves /ns/api-other.
    "--providers.kubernetesingress.strictPrefixMatching=true",
    `--providers.file.filename=${dynamicConfigDir}/tls.yaml`,
    "--global.checknewversion=false",
    "--global.sendanonymoususage=false",
    "--log.level=INFO",
    "--log.noColor=true",
  ];
}

/** Everything the ingress controller needs in the API, in apply order. */
export function ingressObjects(image: string, certificate: { cert: string; key: string }): KubeObject[] {
  const namespace = localIngress.namespace;
  const meta = (objectName: string) => ({ name: objectName, namespace, labels });
  const clusterRoleName = "govhost:ingress-controller";
  const read = ["get", "list", "watch"];
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, labels } },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(name) },
    {
      // Upstream's rules for the Ingress provider (docs: routing-configuration/kubernetes/ingress), plus
      // nodes, which the provider reads unless cluster-scoped lookups are disabled.
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: clusterRoleName, labels },
      rules: [
        { apiGroups: [""], resources: ["services", "secrets", "nodes"], verbs: read },
        { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: read },
        { apiGroups: ["networking.k8s.io"], resources: ["ingresses", "ingressclasses"], verbs: read },
        { apiGroups: ["networking.k8s.io"], resources: ["ingresses/status"], verbs: ["update"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: clusterRoleName, labels },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRoleName },
      subjects: [{ kind: "ServiceAccount", name, namespace }],
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "IngressClass",
      metadata: { name: localIngress.className, labels },
      spec: { controller: "traefik.io/ingress-controller" },
    },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: meta("default-certificate"),
      type: "kubernetes.io/tls",
      data: {
        "tls.crt": readFileSync(certificate.cert).toString("base64"),
        "tls.key": readFileSync(certificate.key).toString("base64"),
      },
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: meta("traefik-dynamic"),
      // The file provider reads YAML; JSON is YAML.
      data: { "tls.yaml": dynamicConfig() },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(apiGateway.serviceName),
      spec: {
        selector: { "app.kubernetes.io/name": name },
        ports: [
          {
            name: "http",
            port: apiGateway.servicePort,
            targetPort: apiGateway.entryPoint,
            protocol: "TCP",
          },
        ],
      },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta(name),
      spec: {
        replicas: 1,
        // The hostPorts are the node's: a second pod could not bind them during a rolling update.
        strategy: { type: "Recreate" },
        selector: { matchLabels: { "app.kubernetes.io/name": name } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: name,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 65532,
              runAsGroup: 65532,
              seccompProfile: { type: "RuntimeDefault" },
            },
            containers: [
              {
                name,
                image,
                imagePullPolicy: "Always",
                args: traefikArgs(),
                ports: [
                  {
                    name: platformDefaults.ingressMetrics.httpsPortName,
                    containerPort: containerPorts.websecure,
                    hostPort: localIngress.httpsPort,
                    hostIP: localIngress.address,
                    protocol: "TCP",
                  },
                  {
                    name: "web",
                    containerPort: containerPorts.web,
                    hostPort: localIngress.httpPort,
                    hostIP: localIngress.address,
                    protocol: "TCP",
                  },
                  { name: "traefik", containerPort: containerPorts.traefik, protocol: "TCP" },
                  { name: apiGateway.entryPoint, containerPort: apiGateway.containerPort, protocol: "TCP" },
                ],
                readinessProbe: {
                  httpGet: { path: "/ping", port: "traefik" },
                  periodSeconds: 2,
                  failureThreshold: 3,
                },
                livenessProbe: { httpGet: { path: "/ping", port: "traefik" }, periodSeconds: 10 },
                resources: {
                  requests: { cpu: "50m", memory: "64Mi" },
                  limits: { cpu: "1", memory: "256Mi" },
                },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ["ALL"] },
                },
                volumeMounts: [
                  { name: "certificate", mountPath: certificateDir, readOnly: true },
                  { name: "dynamic", mountPath: dynamicConfigDir, readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: "certificate", secret: { secretName: "default-certificate" } },
              { name: "dynamic", configMap: { name: "traefik-dynamic" } },
            ],
          },
        },
      },
    },
  ];
}

/** Pushes the Traefik image and applies the ingress controller's objects. */
export async function deployIngressController(
  admin: KubeClient,
  options: { binary: string; pushAddress: string; certificate: { cert: string; key: string } },
): Promise<void> {
  const image = pushAddonImage("traefik", traefikImage(options.binary), options.pushAddress);
  for (const object of ingressObjects(image, options.certificate))
    await admin.apply(object, { fieldManager });
}

/**
 * True when the ingress answers HTTPS on the node address with a certificate the cluster CA signed for a
 * local public name (any HTTP status: without a matching Ingress it is Traefik's 404).
 */
export function ingressAnswers(ca: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: localIngress.address,
        port: localIngress.httpsPort,
        servername: `probe.${localPublicDomains[0]}`,
        path: "/",
        ca,
        timeout: 2_000,
      },
      (res) => {
        res.resume();
        resolve(true);
      },
    );
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

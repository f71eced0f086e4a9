import { readFileSync } from "node:fs";
import type { KubeClient, KubeObject } from "../../../lib/kube/client.ts";
import type { ImageSpec } from "../../image/oci-image.ts";
import { pinnedVersions } from "../../upstream/versions.ts";
import { pushAddonImage, staticBinaryImage } from "./addon-images.ts";

// metrics-server (built from its Go module) as a pod in kube-system, registered through the API server's
// aggregation layer, so `metrics.k8s.io` exists on the local cloud: `kubectl top`, and `consumed` metering
// billing max(request, usage) from real pods. Upstream's manifests (manifests/base in its module) with two
// changes: the serving certificate is issued by the cluster CA (so the APIService verifies it with a
// caBundle instead of insecureSkipTLSVerify), and the kubelets' certificates are verified with the cluster
// CA (the kubelet's serving certificate is the cluster CA's; upstream's example skips that check).

export const metricsServer = {
  namespace: "kube-system",
  name: "metrics-server",
  apiService: "v1beta1.metrics.k8s.io",
  /** The DNS names of its Service, for its serving certificate. */
  serviceNames: ["metrics-server.kube-system.svc", "metrics-server.kube-system.svc.cluster.local"],
} as const;

const fieldManager = "govhost-local-cloud";
const { name, namespace } = metricsServer;
const labels = { "k8s-app": name, "app.kubernetes.io/part-of": "govhost" };
const securePort = 10250;
const certificateDir = "/etc/metrics-server/certificate";
/** The service account token volume's CA: the cluster CA, which also signed the kubelet's certificate. */
const clusterCaFile = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

const metricsServerImage = (binary: string): ImageSpec =>
  staticBinaryImage({
    title: "metrics-server",
    version: pinnedVersions().metricsServer,
    binary,
    path: "/metrics-server",
    user: 65532,
    ports: [securePort],
  });

/** Everything metrics-server needs in the API, in apply order (the APIService last, once it can serve). */
export function metricsServerObjects(
  image: string,
  certificate: { cert: string; key: string; ca: string },
): KubeObject[] {
  const meta = (objectName: string) => ({ name: objectName, namespace, labels });
  const read = ["get", "list", "watch"];
  const rbac = "rbac.authorization.k8s.io";
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(name) },
    {
      apiVersion: `${rbac}/v1`,
      kind: "ClusterRole",
      metadata: {
        name: "system:aggregated-metrics-reader",
        labels: {
          ...labels,
          "rbac.authorization.k8s.io/aggregate-to-admin": "true",
          "rbac.authorization.k8s.io/aggregate-to-edit": "true",
          "rbac.authorization.k8s.io/aggregate-to-view": "true",
        },
      },
      rules: [{ apiGroups: ["metrics.k8s.io"], resources: ["pods", "nodes"], verbs: read }],
    },
    {
      apiVersion: `${rbac}/v1`,
      kind: "ClusterRole",
      metadata: { name: "system:metrics-server", labels },
      rules: [
        { apiGroups: [""], resources: ["nodes/metrics"], verbs: ["get"] },
        { apiGroups: [""], resources: ["pods", "nodes"], verbs: read },
      ],
    },
    {
      apiVersion: `${rbac}/v1`,
      kind: "RoleBinding",
      metadata: meta("metrics-server-auth-reader"),
      roleRef: { apiGroup: rbac, kind: "Role", name: "extension-apiserver-authentication-reader" },
      subjects: [{ kind: "ServiceAccount", name, namespace }],
    },
    {
      apiVersion: `${rbac}/v1`,
      kind: "ClusterRoleBinding",
      metadata: { name: "metrics-server:system:auth-delegator", labels },
      roleRef: { apiGroup: rbac, kind: "ClusterRole", name: "system:auth-delegator" },
      subjects: [{ kind: "ServiceAccount", name, namespace }],
    },
    {
      apiVersion: `${rbac}/v1`,
      kind: "ClusterRoleBinding",
      metadata: { name: "system:metrics-server", labels },
      roleRef: { apiGroup: rbac, kind: "ClusterRole", name: "system:metrics-server" },
      subjects: [{ kind: "ServiceAccount", name, namespace }],
    },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: meta("metrics-server-certificate"),
      type: "kubernetes.io/tls",
      data: {
        "tls.crt": readFileSync(certificate.cert).toString("base64"),
        "tls.key": readFileSync(certificate.key).toString("base64"),
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(name),
      spec: {
        selector: { "k8s-app": name },
        ports: [{ name: "https", port: 443, targetPort: "https", protocol: "TCP" }],
      },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta(name),
      spec: {
        replicas: 1,
        selector: { matchLabels: { "k8s-app": name } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: name,
            priorityClassName: "system-cluster-critical",
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
                args: [
                  `--secure-port=${securePort}`,
                  `--tls-cert-file=${certificateDir}/tls.crt`,
                  `--tls-private-key-file=${certificateDir}/tls.key`,
                  "--kubelet-preferred-address-types=InternalIP",
                  "--kubelet-use-node-status-port",
                  `--kubelet-certificate-authority=${clusterCaFile}`,
                  // Upstream's manifests' resolution (it must exceed the 10 s kubelet request timeout).
                  "--metric-resolution=15s",
                ],
                ports: [{ name: "https", containerPort: securePort, protocol: "TCP" }],
                readinessProbe: {
                  httpGet: { path: "/readyz", port: "https", scheme: "HTTPS" },
                  periodSeconds: 2,
                  failureThreshold: 3,
                },
                livenessProbe: {
                  httpGet: { path: "/livez", port: "https", scheme: "HTTPS" },
                  periodSeconds: 10,
                },
                resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ["ALL"] },
                },
                volumeMounts: [
                  { name: "certificate", mountPath: certificateDir, readOnly: true },
                  { name: "tmp", mountPath: "/tmp" },
                ],
              },
            ],
            volumes: [
              { name: "certificate", secret: { secretName: "metrics-server-certificate" } },
              { name: "tmp", emptyDir: {} },
            ],
          },
        },
      },
    },
    {
      apiVersion: "apiregistration.k8s.io/v1",
      kind: "APIService",
      metadata: { name: metricsServer.apiService, labels },
      spec: {
        group: "metrics.k8s.io",
        version: "v1beta1",
        service: { name, namespace, port: 443 },
        caBundle: readFileSync(certificate.ca).toString("base64"),
        groupPriorityMinimum: 100,
        versionPriority: 100,
      },
    },
  ];
}

/** Pushes metrics-server's image and applies its objects. */
export async function deployMetricsServer(
  admin: KubeClient,
  options: { binary: string; pushAddress: string; certificate: { cert: string; key: string; ca: string } },
): Promise<void> {
  const image = pushAddonImage(name, metricsServerImage(options.binary), options.pushAddress);
  for (const object of metricsServerObjects(image, options.certificate))
    await admin.apply(object, { fieldManager });
}

/** True when the API server reports the metrics APIService Available (metrics-server answers through it). */
export async function metricsApiAvailable(admin: KubeClient): Promise<boolean> {
  try {
    const service = await admin.call<{ status?: { conditions?: { type: string; status: string }[] } }>(
      "GET",
      `/apis/apiregistration.k8s.io/v1/apiservices/${metricsServer.apiService}`,
    );
    return service.status?.conditions?.some((c) => c.type === "Available" && c.status === "True") ?? false;
  } catch {
    return false;
  }
}

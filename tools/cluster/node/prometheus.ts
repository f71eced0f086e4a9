import type { KubeClient, KubeObject } from "../../../lib/kube/client.ts";
import { resources } from "../../../lib/kube/resources.ts";
import type { ImageSpec } from "../../image/oci-image.ts";
import { pinnedVersions } from "../../upstream/versions.ts";
import { pushAddonImage, staticBinaryImage } from "./addon-images.ts";

// The local cloud's Prometheus (built from its Go module) as a pod, as a government cluster has one: it
// finds pods through the API server (kubernetes_sd_configs, role pod, with its own read-only service
// account) and scrapes those that ask to be, by the common annotations (prometheus.io/scrape, /port,
// /path), which the platform's Deployments carry. Its HTTP API answers on the pod's address, port 9090
// (reachable from the node); the data lives in an emptyDir and goes with the pod.

export const localPrometheus = {
  namespace: "govhost-monitoring",
  name: "prometheus",
  port: 9090,
  /** How often it scrapes (and evaluates): short, so a test sees a change within seconds. */
  interval: "5s",
} as const;

const fieldManager = "govhost-local-cloud";
const { name, namespace, port } = localPrometheus;
const labels = { "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "govhost" };
const configDir = "/etc/prometheus";
const dataDir = "/prometheus";

const prometheusImage = (binary: string): ImageSpec =>
  staticBinaryImage({
    title: "Prometheus",
    version: pinnedVersions().prometheus,
    binary,
    path: "/bin/prometheus",
    user: 65534,
    ports: [port],
  });

/**
 * The scrape configuration: every running pod annotated prometheus.io/scrape=true, at its annotated port and
 * path, labelled with its namespace, pod name and app (app.kubernetes.io/name).
 */
export function prometheusConfig(): string {
  const relabel = [
    {
      source_labels: ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
      action: "keep",
      regex: "true",
    },
    { source_labels: ["__meta_kubernetes_pod_phase"], action: "keep", regex: "Running" },
    {
      source_labels: ["__meta_kubernetes_pod_annotation_prometheus_io_path"],
      action: "replace",
      regex: "(.+)",
      target_label: "__metrics_path__",
    },
    {
      source_labels: ["__meta_kubernetes_pod_ip", "__meta_kubernetes_pod_annotation_prometheus_io_port"],
      action: "replace",
      regex: "(.+);(\\d+)",
      replacement: "$1:$2",
      target_label: "__address__",
    },
    { source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace" },
    { source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod" },
    { source_labels: ["__meta_kubernetes_pod_label_app_kubernetes_io_name"], target_label: "app" },
  ];
  // JSON is YAML: no YAML writer needed for a configuration built as data.
  return JSON.stringify(
    {
      global: { scrape_interval: localPrometheus.interval, evaluation_interval: localPrometheus.interval },
      scrape_configs: [
        {
          job_name: "kubernetes-pods",
          kubernetes_sd_configs: [{ role: "pod" }],
          relabel_configs: relabel,
        },
      ],
    },
    null,
    2,
  );
}

/** Everything Prometheus needs in the API, in apply order. */
export function prometheusObjects(image: string): KubeObject[] {
  const meta = (objectName: string) => ({ name: objectName, namespace, labels });
  const rbac = "rbac.authorization.k8s.io";
  return [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: namespace,
        labels: { ...labels, "pod-security.kubernetes.io/enforce": "restricted" },
      },
    },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: meta(name) },
    {
      apiVersion: `${rbac}/v1`,
      kind: "ClusterRole",
      metadata: { name: "govhost-local-prometheus", labels },
      // Pod discovery only: it reads where pods are, nothing else.
      rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }],
    },
    {
      apiVersion: `${rbac}/v1`,
      kind: "ClusterRoleBinding",
      metadata: { name: "govhost-local-prometheus", labels },
      roleRef: { apiGroup: rbac, kind: "ClusterRole", name: "govhost-local-prometheus" },
      subjects: [{ kind: "ServiceAccount", name, namespace }],
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: meta("prometheus-config"),
      data: { "prometheus.yml": prometheusConfig() },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta(name),
      spec: {
        replicas: 1,
        strategy: { type: "Recreate" },
        selector: { matchLabels: { "app.kubernetes.io/name": name } },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: name,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 65534,
              runAsGroup: 65534,
              fsGroup: 65534,
              seccompProfile: { type: "RuntimeDefault" },
            },
            containers: [
              {
                name,
                image,
                imagePullPolicy: "Always",
                args: [
                  `--config.file=${configDir}/prometheus.yml`,
                  `--storage.tsdb.path=${dataDir}`,
                  "--storage.tsdb.retention.time=1d",
                  `--web.listen-address=:${port}`,
                ],
                ports: [{ name: "http", containerPort: port, protocol: "TCP" }],
                readinessProbe: { httpGet: { path: "/-/ready", port: "http" }, periodSeconds: 2 },
                resources: { requests: { cpu: "50m", memory: "128Mi" }, limits: { memory: "512Mi" } },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ["ALL"] },
                },
                volumeMounts: [
                  { name: "config", mountPath: configDir, readOnly: true },
                  { name: "data", mountPath: dataDir },
                ],
              },
            ],
            volumes: [
              { name: "config", configMap: { name: "prometheus-config" } },
              { name: "data", emptyDir: {} },
            ],
          },
        },
      },
    },
  ];
}

/** Pushes Prometheus's image and applies its objects. */
export async function deployPrometheus(
  admin: KubeClient,
  options: { binary: string; pushAddress: string },
): Promise<void> {
  const image = pushAddonImage(name, prometheusImage(options.binary), options.pushAddress);
  for (const object of prometheusObjects(image)) await admin.apply(object, { fieldManager });
}

/** Prometheus's HTTP API on the node: the running pod's address, or undefined while there is none. */
export async function prometheusUrl(admin: KubeClient): Promise<string | undefined> {
  const pods = await admin.list<KubeObject & { status?: { phase?: string; podIP?: string } }>(resources.pod, {
    namespace,
    labelSelector: `app.kubernetes.io/name=${name}`,
  });
  const pod = pods.items.find((p) => p.status?.phase === "Running" && p.status.podIP);
  return pod ? `http://${pod.status?.podIP}:${port}` : undefined;
}

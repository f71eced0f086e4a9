import Type from "typebox";
import {
  type Config,
  loadConfig,
  Milliseconds,
  Port,
  type SettingsSpec,
  timeZoneSetting,
} from "../lib/config.ts";
import { platformDefaults } from "./api/defaults.ts";
import { controllerIdentity } from "./api/rbac.ts";
import { defaultScanSettings } from "./eservice/settings.ts";

// Every environment variable the controller reads, declared once (docs/configuration.md shows this table).

const dnsLabel = Type.String({ pattern: "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$" });
const ipv4Cidr = Type.String({
  pattern: "^((25[0-5]|2[0-4]\\d|1?\\d?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1?\\d?\\d)/(3[0-2]|[12]?\\d)$",
});
const hostPort = Type.String({ pattern: "^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]+)(:\\d{1,5})?$" });

export const controllerSettings = {
  host: {
    env: "GOVHOST_CONTROLLER_HOST",
    schema: Type.String({ minLength: 1 }),
    default: "127.0.0.1",
    form: "an address to bind (e.g. 0.0.0.0 in a pod)",
    description: "Where the health (/healthz, /readyz) and metrics (/metrics) server listens.",
  },
  port: {
    env: "GOVHOST_CONTROLLER_PORT",
    schema: Port,
    default: 8081,
    form: "a TCP port, 0–65535",
    description: "Port of the health and metrics server.",
  },
  identity: {
    env: "GOVHOST_CONTROLLER_ID",
    schema: Type.String({ minLength: 1, maxLength: 128 }),
    form: "a non-empty name of at most 128 characters",
    description: "This replica's name in leader election (default: host name and process id).",
  },
  leaseNamespace: {
    env: "GOVHOST_LEASE_NAMESPACE",
    schema: dnsLabel,
    default: controllerIdentity.namespace,
    form: "a namespace name (DNS label)",
    description: "Namespace of the controller's leader-election Lease.",
  },
  ingressNamespace: {
    env: "GOVHOST_INGRESS_NAMESPACE",
    schema: dnsLabel,
    default: platformDefaults.ingressControllerNamespace,
    form: "a namespace name (DNS label)",
    description: "Namespace of the ingress controller, the only source allowed to reach e-service pods.",
  },
  clusterDnsCidrs: {
    env: "GOVHOST_CLUSTER_DNS_CIDRS",
    schema: Type.Array(ipv4Cidr),
    default: [],
    form: "a comma-separated list of IPv4 CIDRs, e.g. 10.250.0.1/32",
    description:
      "Where cluster DNS runs when it is not pods labelled k8s-app=kube-dns in kube-system (e.g. a host process): tenant pods may reach these addresses on port 53.",
  },
  ingressClass: {
    env: "GOVHOST_INGRESS_CLASS",
    schema: dnsLabel,
    default: platformDefaults.ingressClassName,
    form: "an IngressClass name (DNS label)",
    description: "IngressClass of the Ingresses rendered for exposed e-services.",
  },
  ingressMetricsPort: {
    env: "GOVHOST_INGRESS_METRICS_PORT",
    schema: Port,
    default: platformDefaults.ingressMetrics.port,
    form: "a TCP port, or 0 for none",
    description:
      "Port of the ingress controller pods' Prometheus metrics (Traefik's), read to count each e-service's requests and completed transactions; 0 turns traffic counting off.",
  },
  ingressSelector: {
    env: "GOVHOST_INGRESS_SELECTOR",
    schema: Type.String({
      pattern: "^[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*(,[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*)*$",
    }),
    default: platformDefaults.ingressMetrics.selector,
    form: "a label selector of key=value pairs, comma-separated",
    description:
      "Which pods in the ingress controller's namespace are the ingress controller (their metrics are read).",
  },
  trafficIntervalMs: {
    env: "GOVHOST_TRAFFIC_INTERVAL_MS",
    schema: Milliseconds(1_000),
    default: 30_000,
    form: "whole milliseconds, at least 1000",
    description:
      "How often the ingress controller's counters are read into each department's traffic counts (requests in the last interval before an ingress controller restart are lost).",
  },
  probeIntervalMs: {
    env: "GOVHOST_PROBE_INTERVAL_MS",
    schema: Milliseconds(0),
    default: 60_000,
    form: "whole milliseconds, or 0 for none",
    description:
      "How often every public e-service's home page is requested through the ingress controller (its availability); 0 turns the probe off.",
  },
  probePortName: {
    env: "GOVHOST_PROBE_PORT_NAME",
    schema: dnsLabel,
    default: platformDefaults.ingressMetrics.httpsPortName,
    form: "a container port name (DNS label)",
    description:
      "Name of the ingress controller pods' HTTPS port the probe connects to (pods chosen by GOVHOST_INGRESS_SELECTOR).",
  },
  probeTimeoutMs: {
    env: "GOVHOST_PROBE_TIMEOUT_MS",
    schema: Milliseconds(100, 60_000),
    default: 5_000,
    form: "whole milliseconds, 100–60000",
    description: "How long a probe waits for the answer before counting the e-service down.",
  },
  commentPruneIntervalMs: {
    env: "GOVHOST_COMMENT_PRUNE_INTERVAL_MS",
    schema: Milliseconds(0),
    default: 3_600_000,
    form: "whole milliseconds, or 0 for none",
    description:
      "How often citizens' feedback comments older than their retention (90 days) are deleted from every department's store; 0 leaves it to each department's next feedback.",
  },
  probeGraceMs: {
    env: "GOVHOST_PROBE_GRACE_MS",
    schema: Milliseconds(0),
    default: 60_000,
    form: "whole milliseconds",
    description:
      "How long after an e-service becomes public its probing starts (the ingress controller picking the route up is not an outage).",
  },
  tlsClusterIssuer: {
    env: "GOVHOST_TLS_CLUSTER_ISSUER",
    schema: dnsLabel,
    form: "a cert-manager ClusterIssuer name (DNS label)",
    description: "When set, each public host's certificate is issued by this cert-manager ClusterIssuer.",
  },
  previewHosts: {
    env: "GOVHOST_A11Y_PREVIEW_HOSTS",
    schema: Type.Array(hostPort),
    default: [],
    form: "a comma-separated list of host or host:port",
    description:
      "Where spec.accessibility.previewUrl may point: host allows its scheme's default port only, host:port that port only.",
  },
  incompleteScanRetryMs: {
    env: "GOVHOST_A11Y_RETRY_MS",
    schema: Milliseconds(1_000),
    default: 60_000,
    form: "whole milliseconds, at least 1000",
    description:
      "How soon an accessibility scan that could not reach every page is tried again (it counts as failed meanwhile).",
  },
  complianceIntervalMs: {
    env: "GOVHOST_COMPLIANCE_INTERVAL_MS",
    schema: Milliseconds(1_000),
    default: 60_000,
    form: "whole milliseconds, at least 1000",
    description: "Time between two compliance scans of every department.",
  },
  meteringRefreshMs: {
    env: "GOVHOST_METERING_REFRESH_MS",
    schema: Milliseconds(1_000),
    default: 60_000,
    form: "whole milliseconds, at least 1000",
    description: "How often draft statements are recomputed to include open allocations up to now.",
  },
  usagePollMs: {
    env: "GOVHOST_USAGE_POLL_MS",
    schema: Milliseconds(1_000),
    default: 60_000,
    form: "whole milliseconds, at least 1000",
    description: "How often pods' usage is read from metrics.k8s.io (consumed-mode metering).",
  },
  brokerTimeoutMs: {
    env: "GOVHOST_BROKER_TIMEOUT_MS",
    schema: Milliseconds(1_000),
    default: 30_000,
    form: "whole milliseconds, at least 1000",
    description:
      "How long one call to a shared service's broker may take, answer included; a broker that does not answer in time is reported on its instances and not called again for twice as long.",
  },
  ledgerCompactBytes: {
    env: "GOVHOST_LEDGER_COMPACT_BYTES",
    schema: Type.Integer({ minimum: 1_024, maximum: 900 * 1024 }),
    default: 256 * 1024,
    form: "whole bytes, 1024 to 921600",
    description:
      "Size of the changes in one shard of a department's metering ledger past which they are compacted and folded.",
  },
  ledgerShardBytes: {
    env: "GOVHOST_LEDGER_SHARD_BYTES",
    schema: Type.Integer({ minimum: 512, maximum: 900 * 1024 }),
    default: 512 * 1024,
    form: "whole bytes, 512 to 921600",
    description:
      "Size of one metering ledger shard's content (a ConfigMap's values, compressed) past which the department's ledger is spread over more shards.",
  },
  apiGatewayCheckHost: {
    env: "GOVHOST_API_GATEWAY_CHECK_HOST",
    schema: Type.String({ minLength: 1 }),
    form: "an address to bind that the ingress controller's pods reach (e.g. 0.0.0.0 in a pod)",
    description:
      "Where the controller answers the API gateway's check of each call between departments (Traefik forwardAuth). Unset: no check is served, so the gateway lets no call through.",
  },
  apiGatewayCheckPort: {
    env: "GOVHOST_API_GATEWAY_CHECK_PORT",
    schema: Port,
    default: 8082,
    form: "a TCP port, 0–65535",
    description: "Port of the API gateway check (with GOVHOST_API_GATEWAY_CHECK_HOST).",
  },
  apiGatewayCheckAdvertise: {
    env: "GOVHOST_API_GATEWAY_CHECK_ADVERTISE",
    schema: Type.String({ pattern: "^(\\d{1,3}(\\.\\d{1,3}){3}|[0-9a-fA-F:]+)$" }),
    form: "an IP address: the pod's own, or the host's the check listens on",
    description:
      "The address the ingress controller reaches the check on (in a pod: its own, the downward API's status.podIP; on a host: the address the check listens on). The leader publishes it as the only endpoint of the Service govhost-api-gateway-check (an EndpointSlice it writes), which the gateway asks, so the checks reach the leader, never a standby replica. Unset: nothing is published, and the gateway must be pointed at the check directly.",
  },
  timeZone: timeZoneSetting(platformDefaults.timeZone),

  chromium: {
    env: "GOVHOST_CHROMIUM",
    schema: Type.String({ pattern: "^/" }),
    form: "an absolute path to a Chromium binary",
    description:
      "Chromium for the accessibility scanner's browser tier (default: Debian's /usr/bin/chromium).",
  },
  browserEndpoint: {
    env: "GOVHOST_BROWSER_ENDPOINT",
    schema: Type.String({ pattern: "^ws://127\\.0\\.0\\.1:\\d{1,5}/" }),
    form: "a ws:// URL on 127.0.0.1 (the pod's loopback), e.g. ws://127.0.0.1:9323/",
    description:
      "In a cluster: the scanner's browsers come from Playwright's server in the browser container of the controller's pod (which has no service-account token), one Chromium per scan. Unset: the controller starts Chromium itself (on a host).",
  },
  scanConcurrency: {
    env: "GOVHOST_A11Y_SCAN_CONCURRENCY",
    schema: Type.Integer({ minimum: 1, maximum: 64 }),
    default: defaultScanSettings.concurrency,
    form: "a whole number, 1–64",
    description: "Accessibility scans running at once, platform-wide (at most one per department).",
  },
  scanTimeoutMs: {
    env: "GOVHOST_A11Y_SCAN_TIMEOUT_MS",
    schema: Milliseconds(1_000),
    default: defaultScanSettings.scanTimeoutMs,
    form: "whole milliseconds, at least 1000",
    description: "One e-service's scan, all its pages.",
  },
  pageTimeoutMs: {
    env: "GOVHOST_A11Y_PAGE_TIMEOUT_MS",
    schema: Milliseconds(100),
    default: defaultScanSettings.pageTimeoutMs,
    form: "whole milliseconds, at least 100",
    description: "Fetching a page's HTML, and loading it in Chromium up to its load event.",
  },
  settleMs: {
    env: "GOVHOST_A11Y_SETTLE_MS",
    schema: Milliseconds(0),
    default: defaultScanSettings.settleMs,
    form: "whole milliseconds, 0 or more",
    description: "Waiting for the network to go quiet after load; a page still busy is scanned as it is.",
  },
  axeTimeoutMs: {
    env: "GOVHOST_A11Y_AXE_TIMEOUT_MS",
    schema: Milliseconds(100),
    default: defaultScanSettings.axeTimeoutMs,
    form: "whole milliseconds, at least 100",
    description: "axe on one page, in each tier.",
  },
} satisfies SettingsSpec;

export type ControllerConfig = Config<typeof controllerSettings>;

export function loadControllerConfig(env: Record<string, string | undefined>): ControllerConfig {
  return loadConfig(controllerSettings, env);
}

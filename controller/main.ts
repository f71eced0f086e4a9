import { hostname } from "node:os";
import { pino } from "pino";
import { collectDefaultMetrics } from "prom-client";
import { ConfigError } from "../lib/config.ts";
import { KubeClient } from "../lib/kube/client.ts";
import { platformDefaults } from "./api/defaults.ts";
import { controllerLeaseName } from "./api/rbac.ts";
import { setupApiExchange } from "./api-exchange/setup.ts";
import { setupCompliance } from "./compliance/setup.ts";
import { type ControllerConfig, loadControllerConfig } from "./config.ts";
import { defaultEServiceSettings } from "./eservice/settings.ts";
import { setupEServices } from "./eservice/setup.ts";
import { setupMetering } from "./metering/setup.ts";
import { setupPerformance } from "./performance/setup.ts";
import { LeaseLostError, Manager } from "./runtime/manager.ts";
import { setupSharedServices } from "./shared-service/setup.ts";
import { defaultTenancySettings } from "./tenancy/settings.ts";
import { setupTenancy } from "./tenancy/setup.ts";

// `npm run controller`: the govhost controller against $KUBECONFIG (or in-cluster credentials).
const log = pino({ name: "govhost-controller" });

function readConfig(): ControllerConfig {
  try {
    return loadControllerConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // A bad setting stops start-up here, naming the variable and the form it needs (docs/configuration.md).
    process.stderr.write(`govhost-controller: ${error.message}\n`);
    process.exit(2);
  }
}

/** Every controller, set up on one manager. */
function setupControllers(manager: Manager, config: ControllerConfig): void {
  setupTenancy(manager, {
    ...defaultTenancySettings,
    ingressControllerNamespace: config.ingressNamespace,
    clusterDnsCidrs: config.clusterDnsCidrs,
  });
  setupEServices(
    manager,
    {
      ...defaultEServiceSettings,
      ingressControllerNamespace: config.ingressNamespace,
      ingressClassName: config.ingressClass,
      tlsClusterIssuer: config.tlsClusterIssuer,
      previewHosts: config.previewHosts,
      incompleteScanRetryMs: config.incompleteScanRetryMs,
    },
    {
      concurrency: config.scanConcurrency,
      scanTimeoutMs: config.scanTimeoutMs,
      pageTimeoutMs: config.pageTimeoutMs,
      settleMs: config.settleMs,
      axeTimeoutMs: config.axeTimeoutMs,
      chromium: config.chromium,
      browserEndpoint: config.browserEndpoint,
    },
  );
  setupSharedServices(manager, { brokerTimeoutMs: config.brokerTimeoutMs });
  setupApiExchange(manager, {
    gateway: { namespace: config.ingressNamespace, className: config.ingressClass },
    ...(config.apiGatewayCheckHost
      ? {
          check: {
            host: config.apiGatewayCheckHost,
            port: config.apiGatewayCheckPort,
            ...(config.apiGatewayCheckAdvertise
              ? { advertise: { namespace: config.leaseNamespace, address: config.apiGatewayCheckAdvertise } }
              : {}),
          },
        }
      : {}),
  });
  setupMetering(manager, {
    timeZone: config.timeZone,
    rateCard: platformDefaults.rateCard,
    finalizeStatementsAfterMs: 24 * 3_600_000,
    ledgerCompactBytes: config.ledgerCompactBytes,
    ledgerShardBytes: config.ledgerShardBytes,
    refreshMs: config.meteringRefreshMs,
    usagePollMs: config.usagePollMs,
  });
  setupCompliance(manager, config.complianceIntervalMs);
  setupPerformance(manager, {
    ingressNamespace: config.ingressNamespace,
    ingressSelector: config.ingressSelector,
    metricsPort: config.ingressMetricsPort,
    intervalMs: config.trafficIntervalMs,
    timeZone: config.timeZone,
    probe: {
      intervalMs: config.probeIntervalMs,
      portName: config.probePortName,
      timeoutMs: config.probeTimeoutMs,
      graceMs: config.probeGraceMs,
    },
    commentPruneIntervalMs: config.commentPruneIntervalMs,
  });
}

async function main(): Promise<void> {
  const config = readConfig();
  const manager = new Manager({
    client: await KubeClient.fromKubeConfig(),
    log,
    identity: config.identity ?? `${hostname()}-${process.pid}`,
    leaseNamespace: config.leaseNamespace,
    leaseName: controllerLeaseName,
    host: config.host,
    port: config.port,
  });
  // The process's own figures (resident memory, heap, event loop lag, GC), as the portal API has them.
  collectDefaultMetrics({ register: manager.metrics.registry, prefix: "govhost_controller_" });
  setupControllers(manager, config);
  const running = await manager.start();
  running.done.catch((error: unknown) => {
    // A replica that lost its lease exits, so a fresh process rejoins the election with empty caches.
    log.error(
      { err: error },
      error instanceof LeaseLostError ? "lost the controller lease; exiting" : "stopped",
    );
    process.exit(1);
  });
  const shutdown = (signal: string) => {
    log.info({ signal }, "shutting down");
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

main().catch((error: unknown) => {
  log.fatal({ err: error }, "controller failed to start");
  process.exit(1);
});

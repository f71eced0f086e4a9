import { hostname } from "node:os";
import { pino } from "pino";
import { KubeClient } from "../lib/kube/client.ts";
import { controllerIdentity } from "./api/rbac.ts";
import { defaultEServiceSettings, scanSettingsFromEnv } from "./eservice/settings.ts";
import { runController } from "./manager.ts";
import { defaultTenancySettings } from "./tenancy/settings.ts";

// `npm run controller`: the govhost controller against $KUBECONFIG (or in-cluster credentials).
const log = pino({ name: "govhost-controller" });
const env = process.env;

async function main(): Promise<void> {
  const client = await KubeClient.fromKubeConfig();
  const controller = await runController({
    client,
    log,
    settings: {
      ...defaultTenancySettings,
      ingressControllerNamespace:
        env.GOVHOST_INGRESS_NAMESPACE ?? defaultTenancySettings.ingressControllerNamespace,
    },
    eserviceSettings: {
      ingressControllerNamespace:
        env.GOVHOST_INGRESS_NAMESPACE ?? defaultEServiceSettings.ingressControllerNamespace,
      ingressClassName: env.GOVHOST_INGRESS_CLASS ?? defaultEServiceSettings.ingressClassName,
      tlsClusterIssuer: env.GOVHOST_TLS_CLUSTER_ISSUER || undefined,
      previewHosts: (env.GOVHOST_A11Y_PREVIEW_HOSTS ?? "").split(",").filter(Boolean),
    },
    identity: env.GOVHOST_CONTROLLER_ID ?? `${hostname()}-${process.pid}`,
    leaseNamespace: env.GOVHOST_LEASE_NAMESPACE ?? controllerIdentity.namespace,
    host: env.GOVHOST_CONTROLLER_HOST ?? "127.0.0.1",
    port: Number(env.GOVHOST_CONTROLLER_PORT ?? 8081),
    complianceIntervalMs: Number(env.GOVHOST_COMPLIANCE_INTERVAL_MS ?? 60_000),
    meteringRefreshMs: Number(env.GOVHOST_METERING_REFRESH_MS ?? 60_000),
    usagePollMs: Number(env.GOVHOST_USAGE_POLL_MS ?? 60_000),
    ledgerCompactBytes: Number(env.GOVHOST_LEDGER_COMPACT_BYTES ?? 256 * 1024),
    timeZone: env.GOVHOST_TIMEZONE ?? "Asia/Hong_Kong",
    scanSettings: scanSettingsFromEnv(env),
  });
  const shutdown = (signal: string) => {
    log.info({ signal }, "shutting down");
    controller.stop().then(
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

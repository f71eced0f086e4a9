import { defaultRateCard } from "./default-ratecard.ts";

/**
 * Defaults that more than one process, the installer or the Pulumi program use. Each is declared here
 * once, so a default never differs between the controller, the portal API and `pulumi up`.
 */
export const platformDefaults = {
  /** Calendar months of statements and budgets are counted in this zone. */
  timeZone: "Asia/Hong_Kong",
  /** Namespace of the platform ingress controller, the only source allowed to reach e-service pods. */
  ingressControllerNamespace: "govhost-ingress",
  ingressClassName: "govhost",
  /** The ingress controller's pods (the local cloud's Traefik): how to find them, their metrics port, and
   * the name of their HTTPS port (the availability probe's way in). */
  ingressMetrics: { port: 9000, selector: "app.kubernetes.io/name=traefik", httpsPortName: "websecure" },
  /** The RateCard whose prices statements use. */
  rateCard: defaultRateCard.metadata.name as string,
  /** The `aud` the portal API accepts in access tokens. */
  apiAudience: "https://api.govhost.local",
  /** The portal API's OAuth client. */
  apiClientId: "govhost-portal-api",
} as const;

/**
 * Node's flags for the controller process, wherever it is started (image, Deployment, host). The young
 * generation is capped at 8 MiB per semi-space (V8's default grows to 16 MiB), a trade of memory for CPU
 * measured both ways on one machine and hour (docs/reliability.md): provisioning 200 departments peaks at
 * 162 MiB against 155 MiB at 2 MiB (197 MiB at the default, another day), while metering's steady churn
 * costs 0.30 cores per 1,000 pod events/s against 0.34 at 2 MiB, where short-lived objects outlived the
 * small young generation and were collected as old ones (`npm run bench -- provision`, `-- metering-load`).
 */
export const controllerNodeFlags = ["--max-semi-space-size=8"] as const;

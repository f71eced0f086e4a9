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
 * Node's flags for the controller process, wherever it is started (image, Deployment, host). A 2 MiB young
 * generation (V8's default grows to 16 MiB per semi-space) keeps the controller's peak resident memory
 * provisioning 200 departments at 147 MiB instead of 197 MiB, for no more CPU (4.6 s against 5.0 s):
 * `npm run bench -- provision`, docs/reliability.md.
 */
export const controllerNodeFlags = ["--max-semi-space-size=2"] as const;

import { inject } from "vitest";
import { type PortalApiSettings, type RunningPortalApi, startPortalApi } from "../../../portal-api/app.ts";
import { kubeConfigFrom } from "../../../tools/cluster/credentials.ts";
import { apiClient } from "../../../tools/oidc/users.ts";

/** The audience the tests' local OpenID provider issues tokens for, and the portal API expects. */
export const testAudience = "https://api.govhost.test";

/**
 * The portal API as the tests run it: as its own service account on the run's control plane, trusting
 * `issuer` (a local OpenID provider over plain HTTP), on a free loopback port, quiet, with its audit log at
 * `auditPath` and a rate limit high enough not to get in the way unless a test sets one.
 */
export function startTestPortalApi(
  issuer: string,
  auditPath: string,
  rateLimitPerMinute = 100_000,
  options: { port?: number; web?: PortalApiSettings["web"]; kubeconfig?: string } = {},
): Promise<RunningPortalApi> {
  return startPortalApi({
    kubeconfig: kubeConfigFrom(options.kubeconfig ?? inject("portalApiKubeconfig")),
    tokens: {
      issuer,
      audience: testAudience,
      clientId: apiClient.id,
      clientSecret: apiClient.secret,
      allowHttpIssuer: true,
    },
    auditPath,
    host: "127.0.0.1",
    port: options.port ?? 0,
    ...(options.web ? { web: options.web } : {}),
    logger: false,
    rateLimitPerMinute,
  });
}

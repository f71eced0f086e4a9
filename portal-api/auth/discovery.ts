import * as oidc from "openid-client";

/** The issuer's metadata for one of the portal's OAuth clients (http only for the local provider). */
export function discoverIssuer(client: {
  issuer: string;
  clientId: string;
  clientSecret?: string | undefined;
  allowHttpIssuer?: boolean | undefined;
}): Promise<oidc.Configuration> {
  return oidc.discovery(
    new URL(client.issuer),
    client.clientId,
    client.clientSecret,
    undefined,
    client.allowHttpIssuer ? { execute: [oidc.allowInsecureRequests] } : undefined,
  );
}

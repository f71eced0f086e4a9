import { generateKeyPairSync, randomBytes } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import Provider, { type Configuration, type KoaContextWithOIDC } from "oidc-provider";
import {
  apiClient,
  cliClientId,
  cliRedirectUri,
  type DemoUser,
  demoMachineClients,
  demoUsers,
  webClient,
} from "./users.ts";

// A real OpenID provider (the oidc-provider package) for the local default and the tests: discovery, JWKS,
// authorization code + PKCE for people, client credentials for machines, JWT access tokens (RFC 9068) for
// the portal API's audience, token introspection. Logins use the package's development interactions, which
// take a demo user name without a password: never run this outside a developer's machine or a test.

export interface LocalProvider {
  issuer: string;
  audience: string;
  provider: Provider;
  close(): Promise<void>;
}

export async function startLocalProvider(options: {
  port?: number;
  /** The address to listen on and name in the issuer (default 127.0.0.1; the node's address for pods). */
  host?: string;
  /**
   * The host the issuer names, when it differs from the address listened on: e.g. listen on 0.0.0.0 before
   * the node's address exists (a `pulumi up` that creates the node) and name the node's address.
   */
  issuerHost?: string;
  audience: string;
  /** Other resource servers the provider issues tokens for (tests use one to get wrong-audience tokens). */
  otherAudiences?: string[];
  accessTokenTtlSeconds?: number;
  /** Users by login name (default: the demo users). */
  users?: Record<string, DemoUser>;
  /** Where the portal's web pages receive the sign-in answer (their `/auth/callback`); none: no web client. */
  webRedirectUris?: string[];
}): Promise<LocalProvider> {
  const users = options.users ?? demoUsers;
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = {
    ...privateKey.export({ format: "jwk" }),
    kid: randomBytes(8).toString("hex"),
    use: "sig",
    alg: "RS256",
  };
  const audience = options.audience;
  const groupsOf = (ctx: KoaContextWithOIDC, accountId?: string) => {
    if (accountId) return users[accountId]?.groups ?? [];
    const clientId = ctx.oidc.client?.clientId ?? "";
    return demoMachineClients[clientId]?.groups ?? [];
  };

  const configuration: Configuration = {
    clients: [
      {
        client_id: cliClientId,
        token_endpoint_auth_method: "none",
        redirect_uris: [cliRedirectUri],
        grant_types: ["authorization_code"],
        response_types: ["code"],
      },
      {
        client_id: apiClient.id,
        client_secret: apiClient.secret,
        grant_types: [],
        redirect_uris: [],
        response_types: [],
      },
      ...(options.webRedirectUris?.length
        ? [
            {
              client_id: webClient.id,
              client_secret: webClient.secret,
              grant_types: ["authorization_code"],
              response_types: ["code" as const],
              redirect_uris: options.webRedirectUris,
              post_logout_redirect_uris: options.webRedirectUris.map((uri) => new URL("/", uri).href),
            },
          ]
        : []),
      ...Object.entries(demoMachineClients).map(([client_id, { secret }]) => ({
        client_id,
        client_secret: secret,
        grant_types: ["client_credentials"],
        redirect_uris: [],
        response_types: [],
      })),
    ],
    jwks: { keys: [jwk as never] },
    pkce: { required: () => true },
    claims: { openid: ["sub"], profile: ["preferred_username", "name", "groups"] },
    scopes: ["openid", "profile", "api"],
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (_ctx, _client, requested) => requested ?? audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== audience && !options.otherAudiences?.includes(resource))
            throw new Error(`unknown resource ${resource}`);
          return {
            scope: "api",
            audience: resource,
            accessTokenFormat: "jwt",
            accessTokenTTL: options.accessTokenTtlSeconds ?? 3600,
            jwt: { sign: { alg: "RS256" } },
          };
        },
      },
    },
    extraTokenClaims: (ctx, token) => {
      const accountId = "accountId" in token ? (token.accountId as string | undefined) : undefined;
      return { groups: groupsOf(ctx, accountId), ...(accountId ? { preferred_username: accountId } : {}) };
    },
    async findAccount(_ctx, id) {
      const user = users[id];
      if (!user) return undefined;
      return {
        accountId: id,
        claims: async () => ({ sub: id, preferred_username: id, name: user.name, groups: user.groups }),
      };
    },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    ttl: {
      AccessToken: options.accessTokenTtlSeconds ?? 3600,
      ClientCredentials: options.accessTokenTtlSeconds ?? 3600,
      IdToken: 3600,
      Interaction: 600,
      Session: 8 * 3600,
      Grant: 8 * 3600,
    },
  };

  const port = options.port ?? 0;
  const host = options.host ?? "127.0.0.1";
  const issuerHost = options.issuerHost ?? host;
  let provider = new Provider(`http://${issuerHost}:${port || 1}`, configuration);
  let server: Server;
  if (port) {
    server = provider.listen(port, host);
  } else {
    // The issuer must name the port, which is only known once listening: listen, then create the real one.
    const probe = provider.listen(0, host);
    await new Promise<void>((resolve) => probe.once("listening", () => resolve()));
    const chosen = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    provider = new Provider(`http://${issuerHost}:${chosen}`, configuration);
    server = provider.listen(chosen, host);
  }
  await new Promise<void>((resolve, reject) => {
    server.once("listening", () => resolve());
    server.once("error", reject);
  });
  const issuer = `http://${issuerHost}:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    audience,
    provider,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

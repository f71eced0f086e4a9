import { resolve } from "node:path";
import Type from "typebox";
import { platformDefaults } from "../controller/api/defaults.ts";
import {
  type Config,
  ConfigError,
  loadConfig,
  Port,
  type SettingsSpec,
  timeZoneSetting,
} from "../lib/config.ts";
import type { PortalApiSettings } from "./app.ts";
import { defaultRoleSettings } from "./auth/principal.ts";

// Every GOVHOST_* variable the portal API process (`npm run api`, `node portal-api/main.ts`) reads, declared
// once: its form, default and meaning. `main.ts` loads them once at start; docs/configuration.md shows this
// table (a unit test keeps the two equal).

/** A claim name as an issuer sends it (plain, or namespaced as a URL). */
const ClaimName = Type.String({ pattern: "^\\S{1,256}$" });

/** An IANA time zone the runtime knows (`Intl` refuses any other). */
export const portalApiSettings = {
  issuer: {
    env: "GOVHOST_OIDC_ISSUER",
    schema: Type.String({ format: "uri", pattern: "^https?://" }),
    required: true,
    description:
      "The OpenID provider whose access tokens the API accepts (discovered at `/.well-known/openid-configuration`)",
    form: "an absolute https:// URL (http:// only with GOVHOST_OIDC_ALLOW_HTTP=true)",
  },
  audience: {
    env: "GOVHOST_OIDC_AUDIENCE",
    schema: Type.String({ minLength: 1, maxLength: 512 }),
    default: platformDefaults.apiAudience,
    description: "The API's audience (resource indicator): tokens for any other audience are refused",
    form: "a non-empty string, usually a URL",
  },
  clientId: {
    env: "GOVHOST_OIDC_CLIENT_ID",
    schema: Type.String({ minLength: 1, maxLength: 256 }),
    default: platformDefaults.apiClientId,
    description: "The API's own OAuth client at the provider (discovery, introspection)",
    form: "a non-empty string",
  },
  clientSecret: {
    env: "GOVHOST_OIDC_CLIENT_SECRET",
    schema: Type.String({ minLength: 1 }),
    secret: true,
    description: "That client's secret (needed for introspection)",
    form: "a non-empty string",
  },
  introspection: {
    env: "GOVHOST_OIDC_INTROSPECTION",
    schema: Type.Boolean(),
    default: false,
    description: "Validate opaque tokens by token introspection instead of as signed JWTs",
    form: "true or false",
  },
  allowHttpIssuer: {
    env: "GOVHOST_OIDC_ALLOW_HTTP",
    schema: Type.Boolean(),
    default: false,
    description: "Allow an http:// issuer (the local OpenID provider only)",
    form: "true or false",
  },
  groupsClaim: {
    env: "GOVHOST_OIDC_GROUPS_CLAIM",
    schema: ClaimName,
    default: defaultRoleSettings.groupsClaim,
    description: "The claim holding the user's groups",
    form: "a claim name (no spaces, at most 256 characters)",
  },
  usernameClaim: {
    env: "GOVHOST_OIDC_USERNAME_CLAIM",
    schema: ClaimName,
    default: defaultRoleSettings.usernameClaim,
    description:
      "The claim that identifies a user: stable, unique at the issuer, not editable by the user (never `preferred_username` or `email`)",
    form: "a claim name (no spaces, at most 256 characters)",
  },
  usernamePrefix: {
    env: "GOVHOST_OIDC_USERNAME_PREFIX",
    schema: Type.String({ maxLength: 256 }),
    description:
      "Prefix of the Kubernetes user name the API acts as; unset: the issuer and `#` (as the API server's OIDC authenticator names users); `-`: no prefix",
    form: "a string, or - for none",
  },
  displayNameClaim: {
    env: "GOVHOST_OIDC_DISPLAY_NAME_CLAIM",
    schema: ClaimName,
    default: defaultRoleSettings.displayNameClaim,
    description: "The claim shown to people (audit records, messages), never used to identify anyone",
    form: "a claim name (no spaces, at most 256 characters)",
  },
  auditLog: {
    env: "GOVHOST_AUDIT_LOG",
    schema: Type.String({ minLength: 1, maxLength: 4096 }),
    default: ".govhost/audit.log",
    description:
      "The append-only audit log file, relative to the working directory unless absolute (a persistent volume in a cluster)",
    form: "a file path",
  },
  host: {
    env: "GOVHOST_API_HOST",
    schema: Type.String({ pattern: "^\\S{1,253}$" }),
    default: "127.0.0.1",
    description: "The address the API listens on",
    form: "a host name or IP address",
  },
  port: {
    env: "GOVHOST_API_PORT",
    schema: Port,
    default: 8080,
    description: "The port the API listens on (0: any free port)",
    form: "a TCP port, a whole number from 0 to 65535",
  },
  rateLimitPerMinute: {
    env: "GOVHOST_API_RATE_LIMIT",
    schema: Type.Integer({ minimum: 1, maximum: 10_000_000 }),
    default: 600,
    description:
      "Requests per minute per client: its verified identity, else its address (an unverified `Authorization` header counts as no token)",
    form: "a whole number from 1 to 10000000",
  },
  trustedProxies: {
    env: "GOVHOST_API_TRUSTED_PROXIES",
    schema: Type.Array(
      Type.String({
        pattern: "^((25[0-5]|2[0-4]\\d|1?\\d?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1?\\d?\\d)(/(3[0-2]|[12]?\\d))?$",
      }),
    ),
    default: [],
    description:
      "The proxies in front of the API (the ingress controller's pods): from them the client's address is read from X-Forwarded-For, so per-address rate limits (anonymous callers, feedback) are per client; empty: the connecting address",
    form: "a comma-separated list of IPv4 addresses or CIDRs",
  },
  timeZone: timeZoneSetting(platformDefaults.timeZone),
  webUrl: {
    env: "GOVHOST_WEB_URL",
    schema: Type.String({ format: "uri", pattern: "^https?://[^/?#]+/?$" }),
    description:
      "The web pages' public address; with the web client and the session key it turns on sign-in to the pages (the provider sends people back to `<url>/auth/callback`)",
    form: "an absolute URL with no path, e.g. https://portal.gov.example",
  },
  webClientId: {
    env: "GOVHOST_WEB_CLIENT_ID",
    schema: Type.String({ minLength: 1, maxLength: 256 }),
    default: "govhost-portal-web",
    description: "The web pages' OAuth client at the provider (authorization code flow with PKCE)",
    form: "a non-empty string",
  },
  webClientSecret: {
    env: "GOVHOST_WEB_CLIENT_SECRET",
    schema: Type.String({ minLength: 1 }),
    secret: true,
    description: "That client's secret",
    form: "a non-empty string",
  },
  sessionKey: {
    env: "GOVHOST_SESSION_KEY",
    schema: Type.String({ pattern: "^[A-Za-z0-9+/]{43}=$" }),
    secret: true,
    description:
      "Encrypts the pages' session cookies (the same on every replica; changing it signs everyone out)",
    form: "32 random bytes in base64 (e.g. `openssl rand -base64 32`)",
  },
} satisfies SettingsSpec;

export type PortalApiConfig = Config<typeof portalApiSettings>;

/** Reads the portal API's settings from `env`; throws a ConfigError naming the first variable that is wrong. */
export function loadPortalApiConfig(env: Record<string, string | undefined>): PortalApiConfig {
  return loadConfig(portalApiSettings, env);
}

/** Sign-in to the pages needs its address, its client's secret and the session key: all or none. */
function webSignInConfigured(
  config: PortalApiConfig,
): config is PortalApiConfig & { webUrl: string; webClientSecret: string; sessionKey: string } {
  const given = [config.webUrl, config.webClientSecret, config.sessionKey].filter((v) => v !== undefined);
  if (given.length === 0) return false;
  if (given.length < 3)
    throw new ConfigError(
      config.webUrl === undefined
        ? "GOVHOST_WEB_URL"
        : config.webClientSecret === undefined
          ? "GOVHOST_WEB_CLIENT_SECRET"
          : "GOVHOST_SESSION_KEY",
      "sign-in to the web pages needs GOVHOST_WEB_URL, GOVHOST_WEB_CLIENT_SECRET and GOVHOST_SESSION_KEY together: set all three, or none for the public pages only",
    );
  return true;
}

/** What `startPortalApi` needs, from the loaded settings. */
export function startSettings(config: PortalApiConfig): PortalApiSettings {
  return {
    tokens: {
      issuer: config.issuer,
      audience: config.audience,
      clientId: config.clientId,
      clientSecret: config.clientSecret,
      introspection: config.introspection,
      allowHttpIssuer: config.allowHttpIssuer,
    },
    roles: {
      ...defaultRoleSettings,
      groupsClaim: config.groupsClaim,
      usernameClaim: config.usernameClaim,
      // Unset: "<issuer>#" (RoleSettings' default); "-" for no prefix.
      ...(config.usernamePrefix !== undefined
        ? { usernamePrefix: config.usernamePrefix === "-" ? "" : config.usernamePrefix }
        : {}),
      displayNameClaim: config.displayNameClaim,
    },
    auditPath: resolve(config.auditLog),
    host: config.host,
    port: config.port,
    rateLimitPerMinute: config.rateLimitPerMinute,
    trustedProxies: config.trustedProxies,
    timeZone: config.timeZone,
    ...(webSignInConfigured(config)
      ? {
          web: {
            baseUrl: config.webUrl,
            clientId: config.webClientId,
            clientSecret: config.webClientSecret,
            sessionKey: new Uint8Array(Buffer.from(config.sessionKey, "base64")),
          },
        }
      : {}),
  };
}

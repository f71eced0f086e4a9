import { join } from "node:path";
import { pino } from "pino";
import { startPortalApi } from "./app.ts";
import { defaultRoleSettings } from "./auth/principal.ts";

// `npm run api`: the portal API against $KUBECONFIG and the OpenID provider named by the environment.
const env = process.env;
const log = pino({ name: "govhost-portal-api" });

function required(name: string): string {
  const value = env[name];
  if (!value) {
    log.fatal(`${name} is not set; see README (Portal API)`);
    process.exit(1);
  }
  return value;
}

const api = await startPortalApi({
  tokens: {
    issuer: required("GOVHOST_OIDC_ISSUER"),
    audience: env.GOVHOST_OIDC_AUDIENCE ?? "https://api.govhost.local",
    clientId: env.GOVHOST_OIDC_CLIENT_ID ?? "govhost-portal-api",
    clientSecret: env.GOVHOST_OIDC_CLIENT_SECRET,
    introspection: env.GOVHOST_OIDC_INTROSPECTION === "true",
    allowHttpIssuer: env.GOVHOST_OIDC_ALLOW_HTTP === "true",
  },
  roles: {
    ...defaultRoleSettings,
    groupsClaim: env.GOVHOST_OIDC_GROUPS_CLAIM ?? defaultRoleSettings.groupsClaim,
    // A stable, unique claim (never preferred_username or email, which users can often change).
    usernameClaim: env.GOVHOST_OIDC_USERNAME_CLAIM ?? defaultRoleSettings.usernameClaim,
    // Unset: "<issuer>#", as the API server's OIDC authenticator names users; "-" for no prefix.
    ...(env.GOVHOST_OIDC_USERNAME_PREFIX !== undefined
      ? { usernamePrefix: env.GOVHOST_OIDC_USERNAME_PREFIX === "-" ? "" : env.GOVHOST_OIDC_USERNAME_PREFIX }
      : {}),
    displayNameClaim: env.GOVHOST_OIDC_DISPLAY_NAME_CLAIM ?? defaultRoleSettings.displayNameClaim,
  },
  auditPath: env.GOVHOST_AUDIT_LOG ?? join(process.cwd(), ".govhost", "audit.log"),
  host: env.GOVHOST_API_HOST ?? "127.0.0.1",
  port: Number(env.GOVHOST_API_PORT ?? 8080),
  rateLimitPerMinute: Number(env.GOVHOST_API_RATE_LIMIT ?? 600),
  timeZone: env.GOVHOST_TIMEZONE ?? "Asia/Hong_Kong",
});
log.info({ url: api.url }, "portal API listening");
const stop = () => void api.close().then(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);

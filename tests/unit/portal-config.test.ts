import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { platformDefaults } from "../../controller/api/defaults.ts";
import { ConfigError, settingsTable } from "../../lib/config.ts";
import { defaultRoleSettings } from "../../portal-api/auth/principal.ts";
import { loadPortalApiConfig, portalApiSettings, startSettings } from "../../portal-api/config.ts";

const root = resolve(import.meta.dirname, "../..");
const issuer = { GOVHOST_OIDC_ISSUER: "https://idp.gov.example" };

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadPortalApiConfig({ ...issuer, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe("portal API configuration", () => {
  it("takes the shared defaults when only the issuer is set", () => {
    const config = loadPortalApiConfig(issuer);
    expect(config).toMatchObject({
      issuer: issuer.GOVHOST_OIDC_ISSUER,
      audience: platformDefaults.apiAudience,
      clientId: platformDefaults.apiClientId,
      introspection: false,
      allowHttpIssuer: false,
      host: "127.0.0.1",
      port: 8080,
      rateLimitPerMinute: 600,
      timeZone: platformDefaults.timeZone,
      auditLog: ".govhost/audit.log",
    });
    expect(config.clientSecret).toBeUndefined();
    const settings = startSettings(config);
    expect(settings.roles).toEqual(defaultRoleSettings);
    expect(settings.auditPath).toBe(join(process.cwd(), ".govhost", "audit.log"));
  });

  it("reads every value in its form", () => {
    const config = loadPortalApiConfig({
      ...issuer,
      GOVHOST_API_PORT: "0",
      GOVHOST_API_RATE_LIMIT: "20",
      GOVHOST_OIDC_INTROSPECTION: "true",
      GOVHOST_OIDC_CLIENT_SECRET: "s3cret",
      GOVHOST_OIDC_USERNAME_PREFIX: "-",
      GOVHOST_OIDC_GROUPS_CLAIM: "https://gov.example/groups",
      GOVHOST_TIMEZONE: "Asia/Taipei",
    });
    const settings = startSettings(config);
    expect(settings).toMatchObject({ port: 0, rateLimitPerMinute: 20, timeZone: "Asia/Taipei" });
    expect(settings.tokens).toMatchObject({ introspection: true, clientSecret: "s3cret" });
    expect(settings.roles).toMatchObject({ usernamePrefix: "", groupsClaim: "https://gov.example/groups" });
  });

  it("refuses a bad value, naming the variable and the form it expects", () => {
    for (const [variable, value] of [
      ["GOVHOST_API_PORT", "80a"],
      ["GOVHOST_API_PORT", "65536"],
      ["GOVHOST_API_PORT", "1e3"],
      ["GOVHOST_API_RATE_LIMIT", "-1"],
      ["GOVHOST_API_RATE_LIMIT", "0"],
      ["GOVHOST_OIDC_INTROSPECTION", "yes"],
      ["GOVHOST_OIDC_ALLOW_HTTP", "1"],
      ["GOVHOST_TIMEZONE", "Mars/Olympus_Mons"],
      ["GOVHOST_OIDC_ISSUER", "idp.gov.example"],
      ["GOVHOST_OIDC_GROUPS_CLAIM", "my groups"],
    ] as const) {
      const error = refusal({ [variable]: value });
      const setting = Object.values(portalApiSettings).find((s) => s.env === variable);
      expect(error.variable).toBe(variable);
      expect(error.message).toContain(variable);
      expect(error.message).toContain(`expected ${setting?.form}`);
    }
  });

  it("needs the issuer", () => {
    const error = refusal({ GOVHOST_OIDC_ISSUER: "" });
    expect(error.message).toBe(`GOVHOST_OIDC_ISSUER is not set: expected ${portalApiSettings.issuer.form}`);
  });

  it("is documented in docs/configuration.md exactly as declared", () => {
    const docs = readFileSync(join(root, "docs", "configuration.md"), "utf8");
    const section = /^## Portal API\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(docs)?.[1] ?? "";
    const table = section
      .split("\n")
      .filter((line) => line.startsWith("|"))
      .join("\n");
    expect(table).toBe(settingsTable(portalApiSettings));
  });
});

describe("node portal-api/main.ts", () => {
  it("exits 2 on a bad value, before it connects anywhere, naming the variable and the form on stderr", {
    timeout: 120_000,
  }, () => {
    const result = spawnSync(process.execPath, ["portal-api/main.ts"], {
      cwd: root,
      env: { PATH: process.env.PATH, KUBECONFIG: "/nonexistent", ...issuer, GOVHOST_API_PORT: "80a" },
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr.trim()).toBe(
      `govhost-portal-api: GOVHOST_API_PORT="80a" is not valid: expected ${portalApiSettings.port.form}`,
    );
  });
});

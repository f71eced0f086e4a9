import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { ConfigError, settingsTable } from "../../lib/config.ts";
import { loadLocalToolConfig, localToolSettings } from "../../tools/config.ts";

const root = resolve(import.meta.dirname, "../..");

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadLocalToolConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe("the local tools' settings (tools/config.ts)", () => {
  it("reads the defaults when nothing is set, and values of the right form", () => {
    expect(loadLocalToolConfig({})).toEqual({
      stateDir: undefined,
      node: "auto",
      tmpDir: undefined,
      cache: undefined,
      oidcPort: 8082,
      demoSitePort: 8083,
    });
    expect(
      loadLocalToolConfig({
        GOVHOST_NODE: "off",
        GOVHOST_CACHE: "/srv/cache",
        GOVHOST_TMPDIR: "/var/tmp",
        GOVHOST_OIDC_PORT: "0",
        GOVHOST_STATE_DIR: "state",
      }),
    ).toMatchObject({ node: "off", cache: "/srv/cache", tmpDir: "/var/tmp", oidcPort: 0, stateDir: "state" });
  });

  it("refuses a bad value, naming the variable and the form it expects", () => {
    for (const [variable, value] of [
      ["GOVHOST_DEMO_SITE_PORT", "80a"],
      ["GOVHOST_OIDC_PORT", "70000"],
      ["GOVHOST_NODE", "no"],
      ["GOVHOST_CACHE", "relative/cache"],
      ["GOVHOST_TMPDIR", "tmp"],
    ] as const) {
      const error = refusal({ [variable]: value });
      const setting = Object.values(localToolSettings).find((s) => s.env === variable);
      expect(error.variable).toBe(variable);
      expect(error.message).toBe(
        `${variable}=${JSON.stringify(value)} is not valid: expected ${setting?.form}`,
      );
    }
  });

  it("is documented in docs/configuration.md exactly as declared", () => {
    const docs = readFileSync(join(root, "docs", "configuration.md"), "utf8");
    const section = /^## Local tools\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(docs)?.[1] ?? "";
    const table = section
      .split("\n")
      .filter((line) => line.startsWith("|"))
      .join("\n");
    expect(table).toBe(settingsTable(localToolSettings));
  });
});

describe("a bad value stops a tool before it starts anything", () => {
  const run = (script: string, env: Record<string, string>, stateDir: string) =>
    spawnSync(process.execPath, [script], {
      cwd: root,
      env: { PATH: process.env.PATH, GOVHOST_STATE_DIR: stateDir, ...env },
      encoding: "utf8",
      timeout: 120_000,
    });

  it("npm start exits 2 naming the variable, with nothing started or written", { timeout: 120_000 }, () => {
    const stateDir = mkdtempSync(join(tmpdir(), "govhost-start-config-"));
    onTestFinished(() => rmSync(stateDir, { recursive: true, force: true }));
    for (const [variable, value, form] of [
      ["GOVHOST_DEMO_SITE_PORT", "80a", localToolSettings.demoSitePort.form],
      // The portal API's and the controller's settings are checked by npm start too, up front.
      ["GOVHOST_API_RATE_LIMIT", "lots", "a whole number from 1 to 10000000"],
      ["GOVHOST_COMPLIANCE_INTERVAL_MS", "60s", "whole milliseconds, at least 1000"],
    ] as const) {
      // A KUBECONFIG that leads nowhere (so a regression cannot start a local cloud): with good settings
      // npm start would say it uses it and then fail to connect (exit 1).
      const result = run("tools/start.ts", { [variable]: value, KUBECONFIG: "/nonexistent" }, stateDir);
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr.trim()).toBe(
        `govhost: ${variable}=${JSON.stringify(value)} is not valid: expected ${form}`,
      );
      expect(result.stdout).toBe("");
    }
    expect(readdirSync(stateDir)).toEqual([]);
  });

  it("npm run token exits 2 naming the variable", { timeout: 120_000 }, () => {
    const result = spawnSync(process.execPath, ["tools/oidc/token.ts", "--user", "immd-admin"], {
      cwd: root,
      env: { PATH: process.env.PATH, GOVHOST_OIDC_PORT: "eighty" },
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr.trim()).toBe(
      `token: GOVHOST_OIDC_PORT="eighty" is not valid: expected ${localToolSettings.oidcPort.form}`,
    );
  });
});

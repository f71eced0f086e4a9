import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { controllerSettings, loadControllerConfig } from "../../controller/config.ts";
import { defaultScanSettings } from "../../controller/eservice/settings.ts";
import { ConfigError, settingsTable } from "../../lib/config.ts";

const root = resolve(import.meta.dirname, "../..");

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadControllerConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe("controller configuration", () => {
  it("has a default for every optional setting and reads valid values", () => {
    const defaults = loadControllerConfig({});
    expect(defaults.complianceIntervalMs).toBe(60_000);
    expect(defaults.scanConcurrency).toBe(defaultScanSettings.concurrency);
    expect(defaults.previewHosts).toEqual([]);
    expect(defaults.tlsClusterIssuer).toBeUndefined();
    const read = loadControllerConfig({
      GOVHOST_A11Y_SCAN_CONCURRENCY: "4",
      GOVHOST_A11Y_SCAN_TIMEOUT_MS: "60000",
      GOVHOST_A11Y_PREVIEW_HOSTS: "preview.gov.example, 127.0.0.1:8443,[::1]:9000",
      GOVHOST_CONTROLLER_PORT: "0",
      GOVHOST_TIMEZONE: "Europe/London",
    });
    expect(read.scanConcurrency).toBe(4);
    expect(read.scanTimeoutMs).toBe(60_000);
    expect(read.previewHosts).toEqual(["preview.gov.example", "127.0.0.1:8443", "[::1]:9000"]);
    expect(read.port).toBe(0);
    expect(read.timeZone).toBe("Europe/London");
  });

  it("refuses a value of the wrong form, naming the variable and the form it needs", () => {
    // Once `setTimeout(NaN)`, which scanned back to back.
    const interval = refusal({ GOVHOST_COMPLIANCE_INTERVAL_MS: "60s" });
    expect(interval.variable).toBe("GOVHOST_COMPLIANCE_INTERVAL_MS");
    expect(interval.message).toBe(
      'GOVHOST_COMPLIANCE_INTERVAL_MS="60s" is not valid: expected whole milliseconds, at least 1000',
    );
    // Once silently replaced by the default.
    expect(refusal({ GOVHOST_A11Y_PAGE_TIMEOUT_MS: "-5" }).variable).toBe("GOVHOST_A11Y_PAGE_TIMEOUT_MS");
    expect(refusal({ GOVHOST_A11Y_AXE_TIMEOUT_MS: "soon" }).variable).toBe("GOVHOST_A11Y_AXE_TIMEOUT_MS");
    expect(refusal({ GOVHOST_CONTROLLER_PORT: "8081.5" }).message).toMatch(/a TCP port/);
    expect(refusal({ GOVHOST_CONTROLLER_PORT: "1e3" }).variable).toBe("GOVHOST_CONTROLLER_PORT");
    expect(refusal({ GOVHOST_A11Y_PREVIEW_HOSTS: "https://preview.gov.example/" }).message).toMatch(
      /host or host:port/,
    );
    expect(refusal({ GOVHOST_INGRESS_NAMESPACE: "Ingress_NS" }).message).toMatch(/DNS label/);
    expect(refusal({ GOVHOST_TIMEZONE: "Mars/Olympus_Mons" }).message).toMatch(
      /time zone this runtime knows/,
    );
  });

  it("stops the controller process before it connects anywhere, with the message on stderr", {
    timeout: 120_000,
  }, () => {
    const result = spawnSync(process.execPath, ["controller/main.ts"], {
      cwd: root,
      env: { ...process.env, KUBECONFIG: "/nonexistent", GOVHOST_COMPLIANCE_INTERVAL_MS: "60s" },
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("GOVHOST_COMPLIANCE_INTERVAL_MS");
    expect(result.stderr).toContain("expected whole milliseconds, at least 1000");
  });

  it("is documented: docs/configuration.md holds the table generated from the declarations", () => {
    const docs = readFileSync(resolve(root, "docs/configuration.md"), "utf8");
    expect(docs).toContain(settingsTable(controllerSettings));
  });
});

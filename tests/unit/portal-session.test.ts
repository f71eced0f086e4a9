import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../lib/config.ts";
import { loadPortalApiConfig, startSettings } from "../../portal-api/config.ts";
import { type Session, SessionSealer, type SignInState } from "../../portal-api/pages/session.ts";
import { safeReturnPath } from "../../portal-api/pages/signed-in.ts";

const now = () => Math.floor(Date.now() / 1000);
const session: Session = {
  accessToken: "token",
  name: "Ada",
  username: "issuer#ada",
  expiresAt: now() + 600,
};

describe("SessionSealer", () => {
  it("opens what it sealed, for the same purpose only", async () => {
    const sealer = new SessionSealer(randomBytes(32));
    const sealed = await sealer.seal(session, "session", session.expiresAt);
    expect(await sealer.open<Session>(sealed, "session")).toMatchObject(session);
    expect(await sealer.open<SignInState>(sealed, "sign-in")).toBeUndefined();
  });

  it("refuses a cookie that was altered, sealed with another key, expired, or is missing", async () => {
    const sealer = new SessionSealer(randomBytes(32));
    const sealed = await sealer.seal(session, "session", session.expiresAt);
    const parts = sealed.split(".");
    const ciphertext = Buffer.from(parts[3] ?? "", "base64url");
    ciphertext[0] = (ciphertext[0] ?? 0) ^ 1;
    parts[3] = ciphertext.toString("base64url");
    expect(await sealer.open(parts.join("."), "session")).toBeUndefined();
    expect(await new SessionSealer(randomBytes(32)).open(sealed, "session")).toBeUndefined();
    const expired = await sealer.seal(session, "session", now() - 10);
    expect(await sealer.open(expired, "session")).toBeUndefined();
    expect(await sealer.open(undefined, "session")).toBeUndefined();
    expect(await sealer.open("not a cookie", "session")).toBeUndefined();
  });

  it("needs a 32-byte key", () => {
    expect(() => new SessionSealer(randomBytes(16))).toThrow("32 bytes");
  });
});

describe("safeReturnPath", () => {
  it("keeps paths on this site and sends anything else to /my", () => {
    expect(safeReturnPath("/departments/immd?x=1")).toBe("/departments/immd?x=1");
    expect(safeReturnPath("/zh-Hant/my")).toBe("/zh-Hant/my");
    for (const bad of [
      undefined,
      "",
      "https://evil.example/",
      "//evil.example/x",
      "/\\evil.example",
      "javascript:alert(1)",
      "/with space",
      `/${"a".repeat(600)}`,
      "/ok\r\nSet-Cookie: x=1",
    ])
      expect(safeReturnPath(bad), String(bad)).toBe("/my");
  });
});

describe("web sign-in settings", () => {
  const base = { GOVHOST_OIDC_ISSUER: "https://idp.gov.example" };
  const all = {
    ...base,
    GOVHOST_WEB_URL: "https://portal.gov.example",
    GOVHOST_WEB_CLIENT_SECRET: "s3cret",
    GOVHOST_SESSION_KEY: randomBytes(32).toString("base64"),
  };

  it("turns sign-in on with all three, and off with none", () => {
    const on = startSettings(loadPortalApiConfig(all));
    expect(on.web).toMatchObject({ baseUrl: "https://portal.gov.example", clientId: "govhost-portal-web" });
    expect(on.web?.sessionKey).toHaveLength(32);
    expect(startSettings(loadPortalApiConfig(base)).web).toBeUndefined();
  });

  it("refuses some without the others, naming what is missing", () => {
    const { GOVHOST_SESSION_KEY: _, ...noKey } = all;
    expect(() => startSettings(loadPortalApiConfig(noKey))).toThrow(ConfigError);
    expect(() => startSettings(loadPortalApiConfig(noKey))).toThrow(/GOVHOST_SESSION_KEY together/);
  });

  it("refuses a session key that is not 32 bytes in base64, without echoing it", () => {
    const error = (() => {
      try {
        loadPortalApiConfig({ ...all, GOVHOST_SESSION_KEY: "short" });
      } catch (caught) {
        return caught as ConfigError;
      }
      return undefined;
    })();
    expect(error?.variable).toBe("GOVHOST_SESSION_KEY");
    expect(error?.message).toContain("(value hidden)");
    expect(error?.message).not.toContain("short");
  });
});

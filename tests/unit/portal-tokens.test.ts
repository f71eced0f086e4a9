import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidTokenError, TokenVerifier, tokenRefusals } from "../../portal-api/auth/tokens.ts";
import { VerifiedTokens, verifiedTokenTtlMs } from "../../portal-api/auth/verified-tokens.ts";

const issuer = "https://idp.gov.example";
const audience = "https://api.govhost.test";
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

async function refusal(verifier: TokenVerifier, token: string): Promise<InvalidTokenError> {
  try {
    await verifier.verify(token);
  } catch (error) {
    if (error instanceof InvalidTokenError) return error;
    throw error;
  }
  throw new Error("the token was accepted");
}

describe("JWT access tokens", () => {
  let verifier: TokenVerifier;
  let sign: (claims: Record<string, unknown>, header?: Record<string, unknown>) => Promise<string>;

  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair("RS256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256" };
    verifier = TokenVerifier.withKeys(
      { issuer, audience, clientId: "api" },
      createLocalJWKSet({ keys: [jwk] }),
    );
    sign = (claims, header = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: "k1", ...header })
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(privateKey);
  });

  it("accepts a signed access token for this issuer and audience", async () => {
    const claims = await verifier.verify(await sign({ iss: issuer, aud: audience, sub: "u1" }));
    expect(claims).toMatchObject({ sub: "u1", iss: issuer });
  });

  it("refuses malformed tokens as malformed, never as a server error", async () => {
    for (const token of ["x", "a.b.c", "e30.e30.e30", "....", `${encode({ alg: "RS256" })}.%%%.x`])
      expect((await refusal(verifier, token)).reason).toMatch(/malformed|algorithm/);
  });

  it("never echoes anything of the token in its refusal", async () => {
    const hostile = 'RS256"\r\nSet-Cookie: a=b';
    for (const token of [
      `${encode({ alg: hostile, typ: "at+jwt" })}.${encode({ iss: issuer })}.`,
      `${encode({ alg: "none" })}.${encode({ iss: issuer, aud: audience, sub: "u1" })}.`,
    ]) {
      const error = await refusal(verifier, token);
      expect(Object.values(tokenRefusals)).toContain(error.message);
      expect(error.message).not.toMatch(/none|Set-Cookie|RS256/);
    }
  });

  it("refuses a token without an issuer, an ID token and a token for another audience", async () => {
    expect((await refusal(verifier, await sign({ aud: audience, sub: "u1" }))).reason).toBe("missingIssuer");
    expect((await refusal(verifier, await sign({ iss: issuer, aud: audience }, { typ: "JWT" }))).reason).toBe(
      "type",
    );
    expect((await refusal(verifier, await sign({ iss: issuer, aud: "https://other" }))).reason).toBe(
      "audience",
    );
  });

  it("checks a token's signature once, and still refuses a token altered after its first use", async () => {
    const { privateKey, publicKey } = await generateKeyPair("RS256");
    const jwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: "k2", alg: "RS256" }] });
    let lookups = 0;
    const counting = TokenVerifier.withKeys({ issuer, audience, clientId: "api" }, (header, token) => {
      lookups++;
      return jwks(header, token);
    });
    const token = await new SignJWT({ iss: issuer, aud: audience, sub: "u2" })
      .setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: "k2" })
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);
    const first = await counting.verify(token);
    expect(await counting.verify(token)).toEqual(first);
    expect(lookups).toBe(1);

    const [header, , signature] = token.split(".");
    const altered = `${header}.${encode({ ...first, sub: "admin" })}.${signature}`;
    expect((await refusal(counting, altered)).reason).toBe("signature");
    expect((await refusal(counting, altered)).reason).toBe("signature");
    expect(lookups).toBe(3);
  });
});

describe("verified tokens kept", () => {
  it("keeps claims for the time to live at most, and never past the token's expiry", () => {
    let now = Date.parse("2026-12-06T08:00:00Z");
    const kept = new VerifiedTokens(() => now);
    kept.keep("long", { sub: "a", exp: now / 1000 + 3600 });
    kept.keep("short", { sub: "b", exp: now / 1000 + 10 });
    kept.keep("expired", { sub: "c", exp: now / 1000 - 1 });
    kept.keep("no-exp", { sub: "d" });
    expect(kept.get("long")?.sub).toBe("a");
    expect(kept.get("short")?.sub).toBe("b");
    expect(kept.get("expired")).toBeUndefined();
    expect(kept.get("no-exp")).toBeUndefined();

    now += 10_001;
    expect(kept.get("short")).toBeUndefined();
    expect(kept.get("long")?.sub).toBe("a");
    now += verifiedTokenTtlMs - 10_001 + 1;
    expect(kept.get("long")).toBeUndefined();
  });
});

describe("introspection", () => {
  let server: Server;
  let base: string;
  let answer: Record<string, unknown> = {};

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      if (req.url === "/.well-known/openid-configuration")
        return res.end(
          JSON.stringify({
            issuer: base,
            introspection_endpoint: `${base}/introspect`,
            token_endpoint: `${base}/token`,
          }),
        );
      if (req.url === "/introspect") return res.end(JSON.stringify(answer));
      res.statusCode = 404;
      res.end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const verifier = () =>
    TokenVerifier.discover({
      issuer: base,
      audience,
      clientId: "api",
      clientSecret: "s",
      introspection: true,
      allowHttpIssuer: true,
    });
  const active = () => ({
    active: true,
    iss: base,
    aud: audience,
    sub: "u1",
    token_type: "Bearer",
    exp: Math.floor(Date.now() / 1000) + 60,
  });

  it("accepts an active bearer access token of this issuer and audience", async () => {
    answer = active();
    expect(await (await verifier()).verify("opaque")).toMatchObject({ sub: "u1" });
  });

  it("refuses an answer that names no issuer", async () => {
    const { iss: _, ...noIssuer } = active();
    answer = noIssuer;
    expect((await refusal(await verifier(), "opaque")).reason).toBe("missingIssuer");
  });

  it("refuses any token type but a bearer access token (refresh tokens, DPoP-bound, unnamed)", async () => {
    const v = await verifier();
    for (const token_type of ["refresh_token", "DPoP", "id_token", undefined]) {
      answer = { ...active(), token_type };
      expect((await refusal(v, "opaque")).reason).toBe("type");
    }
  });

  it("refuses another issuer and another audience", async () => {
    const v = await verifier();
    answer = { ...active(), iss: "https://elsewhere" };
    expect((await refusal(v, "opaque")).reason).toBe("issuer");
    answer = { ...active(), aud: "https://other" };
    expect((await refusal(v, "opaque")).reason).toBe("audience");
  });
});

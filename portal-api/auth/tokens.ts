import { createRemoteJWKSet, decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from "jose";
import * as oidc from "openid-client";

export interface TokenSettings {
  issuer: string;
  /** The API's audience (resource indicator); tokens for anything else are refused. */
  audience: string;
  /** Client the API identifies as for discovery and (optionally) token introspection. */
  clientId: string;
  clientSecret?: string;
  /** Validate opaque tokens by introspection instead of as JWTs. */
  introspection?: boolean;
  /** Allow an http:// issuer (the local OpenID provider only). */
  allowHttpIssuer?: boolean;
}

export class InvalidTokenError extends Error {}

const algorithms = ["RS256", "PS256", "ES256", "EdDSA"];

/**
 * Validates bearer access tokens: issuer discovery and the JWKS through openid-client, then signature,
 * issuer, audience, expiry, not-before and the access-token type (RFC 9068 `at+jwt`, so an ID token is not
 * accepted as an access token). Unsigned tokens (`alg: none`) are never accepted.
 */
export class TokenVerifier {
  private readonly settings: TokenSettings;
  private readonly config: oidc.Configuration;
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  private constructor(settings: TokenSettings, config: oidc.Configuration) {
    this.settings = settings;
    this.config = config;
    const jwksUri = config.serverMetadata().jwks_uri;
    if (!jwksUri) throw new Error(`the issuer ${settings.issuer} publishes no jwks_uri`);
    this.jwks = createRemoteJWKSet(new URL(jwksUri));
  }

  static async discover(settings: TokenSettings): Promise<TokenVerifier> {
    const config = await oidc.discovery(
      new URL(settings.issuer),
      settings.clientId,
      settings.clientSecret,
      undefined,
      settings.allowHttpIssuer ? { execute: [oidc.allowInsecureRequests] } : undefined,
    );
    return new TokenVerifier(settings, config);
  }

  async verify(token: string): Promise<JWTPayload> {
    if (this.settings.introspection) {
      const result = await oidc.tokenIntrospection(this.config, token);
      if (!result.active) throw new InvalidTokenError("the token is not active");
      if (result.iss !== undefined && result.iss !== this.settings.issuer)
        throw new InvalidTokenError("the token was issued by another issuer");
      const audiences = Array.isArray(result.aud) ? result.aud : [result.aud];
      if (!audiences.includes(this.settings.audience))
        throw new InvalidTokenError("the token is for another audience");
      return result as JWTPayload;
    }
    try {
      const { alg } = decodeProtectedHeader(token);
      if (!alg || !algorithms.includes(alg))
        throw new InvalidTokenError(
          `the token is not signed with an accepted algorithm (alg ${alg ?? "missing"})`,
        );
      const { payload } = await jwtVerify(token, this.jwks, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms,
        typ: "at+jwt",
        clockTolerance: 5,
        requiredClaims: ["exp", "iat"],
      });
      return payload;
    } catch (error) {
      if (error instanceof errors.JOSEError) throw new InvalidTokenError(describe(error));
      throw error;
    }
  }
}

function describe(error: InstanceType<typeof errors.JOSEError>): string {
  if (error instanceof errors.JWTExpired) return "the token has expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    const claim = error.claim;
    if (claim === "iss") return "the token was issued by another issuer";
    if (claim === "aud") return "the token is for another audience";
    if (claim === "nbf") return "the token is not valid yet";
    return `the token's ${claim} claim is invalid`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return "the token's signature does not verify";
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported)
    return "the token is not signed with an accepted algorithm";
  if (error instanceof errors.JWKSNoMatchingKey) return "the token is signed by an unknown key";
  return "the token is malformed";
}

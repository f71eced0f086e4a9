import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from "jose";
import * as oidc from "openid-client";
import { discoverIssuer } from "./discovery.ts";
import { VerifiedTokens } from "./verified-tokens.ts";

/** How far the issuer's clock may be from ours when checking exp and nbf, in seconds. */
const clockToleranceSeconds = 5;

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

/**
 * Why a token was refused, as a fixed sentence: nothing of the token (its header, claims or bytes) is ever
 * echoed back, in a header or a body, so a hostile token cannot inject anything into the response.
 */
export const tokenRefusals = {
  malformed: "the token is malformed",
  algorithm: "the token is not signed with an accepted algorithm",
  signature: "the token's signature does not verify",
  unknownKey: "the token is signed by an unknown key",
  expired: "the token has expired",
  notYetValid: "the token is not valid yet",
  issuer: "the token was issued by another issuer",
  missingIssuer: "the token names no issuer",
  audience: "the token is for another audience",
  type: "the token is not an access token",
  claims: "the token's claims are invalid",
  inactive: "the token is not active",
} as const;
export type TokenRefusal = keyof typeof tokenRefusals;

export class InvalidTokenError extends Error {
  readonly reason: TokenRefusal;
  constructor(reason: TokenRefusal) {
    super(tokenRefusals[reason]);
    this.reason = reason;
  }
}

const algorithms = ["RS256", "PS256", "ES256", "EdDSA"];
/** RFC 7662 token_type values of a plain bearer access token (DPoP-bound tokens need a proof we do not check). */
const bearerTypes = new Set(["bearer", "access_token"]);

/**
 * Validates bearer access tokens: issuer discovery and the JWKS through openid-client, then signature,
 * issuer, audience, expiry, not-before and the access-token type (RFC 9068 `at+jwt`, so an ID token is not
 * accepted as an access token). Unsigned tokens (`alg: none`) are never accepted. In introspection mode the
 * answer must be active, name this issuer and audience, and say it is a bearer access token.
 */
export class TokenVerifier {
  private readonly settings: TokenSettings;
  private readonly config: oidc.Configuration | undefined;
  private readonly keys: JWTVerifyGetKey;
  private readonly verified: VerifiedTokens;

  private constructor(
    settings: TokenSettings,
    config: oidc.Configuration | undefined,
    keys: JWTVerifyGetKey,
  ) {
    this.settings = settings;
    this.config = config;
    this.keys = keys;
    this.verified = new VerifiedTokens();
  }

  static async discover(settings: TokenSettings): Promise<TokenVerifier> {
    const config = await discoverIssuer(settings);
    const jwksUri = config.serverMetadata().jwks_uri;
    if (!jwksUri && !settings.introspection)
      throw new Error(`the issuer ${settings.issuer} publishes no jwks_uri`);
    const keys: JWTVerifyGetKey = jwksUri
      ? createRemoteJWKSet(new URL(jwksUri))
      : async () => {
          throw new errors.JWKSNoMatchingKey();
        };
    return new TokenVerifier(settings, config, keys);
  }

  /** A verifier of JWTs signed by the given keys (tests, and issuers whose keys are configured locally). */
  static withKeys(settings: TokenSettings, keys: JWTVerifyGetKey): TokenVerifier {
    return new TokenVerifier({ ...settings, introspection: false }, undefined, keys);
  }

  async verify(token: string): Promise<JWTPayload> {
    if (this.settings.introspection) return this.introspect(token);
    const verified = this.verified.get(token);
    if (verified) return verified;
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new InvalidTokenError("malformed");
    }
    if (!alg || !algorithms.includes(alg)) throw new InvalidTokenError("algorithm");
    try {
      const { payload } = await jwtVerify(token, this.keys, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms,
        typ: "at+jwt",
        clockTolerance: clockToleranceSeconds,
        requiredClaims: ["exp", "iat", "iss"],
      });
      this.verified.keep(token, payload);
      return payload;
    } catch (error) {
      if (error instanceof errors.JOSEError) throw new InvalidTokenError(reasonOf(error));
      throw error; // e.g. the issuer's key set cannot be fetched: the API's problem, not the caller's
    }
  }

  private async introspect(token: string): Promise<JWTPayload> {
    if (!this.config) throw new Error("introspection needs a discovered issuer");
    const result = await oidc.tokenIntrospection(this.config, token, { token_type_hint: "access_token" });
    if (!result.active) throw new InvalidTokenError("inactive");
    if (typeof result.iss !== "string" || result.iss === "") throw new InvalidTokenError("missingIssuer");
    if (result.iss !== this.settings.issuer) throw new InvalidTokenError("issuer");
    if (typeof result.token_type !== "string" || !bearerTypes.has(result.token_type.toLowerCase()))
      throw new InvalidTokenError("type");
    const audiences = Array.isArray(result.aud) ? result.aud : [result.aud];
    if (!audiences.includes(this.settings.audience)) throw new InvalidTokenError("audience");
    const now = Math.floor(Date.now() / 1000);
    if (typeof result.exp === "number" && result.exp + clockToleranceSeconds < now)
      throw new InvalidTokenError("expired");
    if (typeof result.nbf === "number" && result.nbf - clockToleranceSeconds > now)
      throw new InvalidTokenError("notYetValid");
    return result as JWTPayload;
  }
}

function reasonOf(error: InstanceType<typeof errors.JOSEError>): TokenRefusal {
  if (error instanceof errors.JWTExpired) return "expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    const claim = error.claim;
    if (claim === "iss") return error.reason === "missing" ? "missingIssuer" : "issuer";
    if (claim === "aud") return "audience";
    if (claim === "nbf") return "notYetValid";
    if (claim === "typ") return "type";
    return "claims";
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return "signature";
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported)
    return "algorithm";
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
    return "unknownKey";
  return "malformed";
}

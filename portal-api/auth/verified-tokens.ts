import { createHash } from "node:crypto";
import type { JWTPayload } from "jose";
import { LRUCache } from "lru-cache";

/**
 * How long a verified token's claims are reused without checking its signature again. A signing key the
 * issuer withdraws stops accepting its tokens at most this late (the Kubernetes API server keeps webhook
 * token answers for 2 minutes); a token is never kept past its own expiry.
 */
export const verifiedTokenTtlMs = 30_000;
const maxVerifiedTokens = 10_000;

/**
 * The claims of JWTs that verified, by the SHA-256 of the token (the token itself is not kept), so a busy
 * caller's every request does not pay a signature check. Only successes are kept: a refused token is
 * checked again each time it is sent.
 */
export class VerifiedTokens {
  private readonly entries: LRUCache<string, JWTPayload>;
  private readonly now: () => number;

  /** `now` is the clock of both the time to live and `exp` (milliseconds since the epoch). */
  constructor(now: () => number = Date.now) {
    this.now = now;
    this.entries = new LRUCache<string, JWTPayload>({
      max: maxVerifiedTokens,
      perf: { now },
      ttlResolution: 0,
    });
  }

  get(token: string): JWTPayload | undefined {
    return this.entries.get(digest(token));
  }

  /** Keeps `claims` for `token` until the sooner of the time to live and the token's `exp`. */
  keep(token: string, claims: JWTPayload): void {
    if (typeof claims.exp !== "number") return;
    const ttl = Math.min(verifiedTokenTtlMs, claims.exp * 1000 - this.now());
    // Every request with this token gets this one object: none may change it.
    if (ttl > 0) this.entries.set(digest(token), Object.freeze(claims), { ttl });
  }
}

function digest(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}

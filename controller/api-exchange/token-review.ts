import { createHash } from "node:crypto";
import type { KubeClient } from "../../lib/kube/client.ts";
import type { Caller } from "./gateway-check.ts";

// Who a bearer token names, asked of the API server (TokenReview, for one audience), so the gateway accepts
// exactly the tokens Kubernetes issued to pods for it: projected, short-lived, bound to the pod. Answers are
// kept for a short while by the token's hash (never the token), so a busy caller costs one review a minute.

interface TokenReviewStatus {
  authenticated?: boolean;
  audiences?: string[];
  user?: { username?: string };
}

const serviceAccountUser = /^system:serviceaccount:([a-z0-9-]{1,63}):([a-z0-9.-]{1,253})$/;
const maxCached = 10_000;

export class TokenReviewer {
  private readonly cache = new Map<string, { caller: Caller | undefined; until: number }>();
  private readonly client: KubeClient;
  private readonly audience: string;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: { client: KubeClient; audience: string; ttlMs?: number; now?: () => number }) {
    this.client = options.client;
    this.audience = options.audience;
    this.ttlMs = options.ttlMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** The pod's namespace and service account, or undefined for a token the API server does not accept. */
  async review(token: string): Promise<Caller | undefined> {
    const key = createHash("sha256").update(token).digest("hex");
    const now = this.now();
    const cached = this.cache.get(key);
    if (cached && cached.until > now) return cached.caller;
    const review = await this.client.call<{ status?: TokenReviewStatus }>(
      "POST",
      "/apis/authentication.k8s.io/v1/tokenreviews",
      {
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenReview",
          spec: { token, audiences: [this.audience] },
        },
      },
    );
    const caller = callerOf(review.status, this.audience);
    if (this.cache.size >= maxCached) this.evictExpired(now);
    if (this.cache.size < maxCached) this.cache.set(key, { caller, until: now + this.ttlMs });
    return caller;
  }

  private evictExpired(now: number): void {
    for (const [key, entry] of this.cache) if (entry.until <= now) this.cache.delete(key);
  }
}

/** A service account the review vouched for, for our audience; anything else is no caller. */
export function callerOf(status: TokenReviewStatus | undefined, audience: string): Caller | undefined {
  if (!status?.authenticated || !status.audiences?.includes(audience)) return undefined;
  const match = serviceAccountUser.exec(status.user?.username ?? "");
  return match ? { namespace: match[1] as string, serviceAccount: match[2] as string } : undefined;
}

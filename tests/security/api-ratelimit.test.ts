import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { KubeClient } from "../../lib/kube/client.ts";
import type { RunningPortalApi } from "../../portal-api/app.ts";
import { kubeConfigFrom } from "../../tools/cluster/credentials.ts";
import { loginAs } from "../../tools/oidc/login.ts";
import { type LocalProvider, startLocalProvider } from "../../tools/oidc/provider.ts";
import { startTestPortalApi, testAudience } from "../integration/support/portal-api.ts";

// Issue #17, finding 9: rate limits keyed on whatever Authorization header was sent, and a public
// catalogue that listed every EService on every anonymous request. Performed against the real portal API.

const audience = testAudience;
const users = { operator: { name: "Op", groups: ["govhost:platform-operators"] } };
let provider: LocalProvider;
let dir: string;

function startApi(name: string, rateLimitPerMinute: number): Promise<RunningPortalApi> {
  return startTestPortalApi(provider.issuer, join(dir, `${name}.log`), rateLimitPerMinute);
}

async function statuses(api: RunningPortalApi, path: string, authorizations: (string | undefined)[]) {
  const seen: number[] = [];
  for (const authorization of authorizations) {
    const response = await fetch(`${api.url}${path}`, {
      headers: authorization ? { authorization } : {},
    });
    await response.arrayBuffer();
    seen.push(response.status);
  }
  return seen;
}

beforeAll(async () => {
  provider = await startLocalProvider({ audience, users });
  dir = mkdtempSync(join(tmpdir(), "govhost-sec-rate-"));
}, 60_000);

afterAll(async () => {
  await provider?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("rate limits", () => {
  it("limit a client by address however it varies a bogus Authorization header", async () => {
    const api = await startApi("bogus", 30);
    try {
      const seen = await statuses(
        api,
        "/api/v1/departments",
        Array.from({ length: 45 }, (_, i) => `Bearer bogus-${i}-${Math.random().toString(36).slice(2)}`),
      );
      expect(seen.slice(0, 30).every((s) => s === 401)).toBe(true);
      expect(seen.slice(30)).toEqual(Array(15).fill(429));
    } finally {
      await api.close();
    }
  });

  it("limit a user by identity across all of their tokens", async () => {
    const api = await startApi("identity", 30);
    try {
      const first = await loginAs(provider.issuer, "operator", audience);
      const second = await loginAs(provider.issuer, "operator", audience);
      expect(first).not.toBe(second);
      const seen = await statuses(
        api,
        "/api/v1/departments",
        Array.from({ length: 45 }, (_, i) => `Bearer ${i % 2 ? first : second}`),
      );
      expect(seen.slice(0, 30).every((s) => s === 200)).toBe(true);
      expect(seen.slice(30)).toEqual(Array(15).fill(429));
    } finally {
      await api.close();
    }
  });
});

describe("the public service catalogue", () => {
  it("does not list EServices from the API server for every anonymous request", async () => {
    const admin = await KubeClient.fromKubeConfig(kubeConfigFrom(inject("kubeconfig")));
    const api = await startApi("catalogue", 100_000);
    // The API server's own count of LIST calls on EServices (all clients; this file runs alone).
    const lists = async () => {
      const metrics = await admin.call<string>("GET", "/metrics");
      return String(metrics)
        .split("\n")
        .filter(
          (l) =>
            l.startsWith("apiserver_request_total{") &&
            l.includes('resource="eservices"') &&
            l.includes('verb="LIST"'),
        )
        .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
    };
    try {
      const before = await lists();
      const seen = await statuses(api, "/api/v1/service-clusters", Array(100).fill(undefined));
      expect(seen).toEqual(Array(100).fill(200));
      expect((await lists()) - before).toBeLessThanOrEqual(3);
    } finally {
      await api.close();
      admin.close();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeApiError, KubeClient, throttledRequestAttempts } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { kubeConfigFrom } from "../../tools/cluster/credentials.ts";
import { startLocalApiServer } from "./support/local-api-server.ts";

// A request the API server throttles (429, API Priority and Fairness) is sent again after its Retry-After,
// as client-go does: the schemathesis run of the portal API found one surfacing as a 503 to the caller.

let server: Awaited<ReturnType<typeof startLocalApiServer>>;
let throttleNext = 0;
const received: string[] = [];

beforeAll(async () => {
  server = await startLocalApiServer("throttle", (req, res) => {
    received.push(`${req.method} ${req.url}`);
    req.resume();
    res.setHeader("content-type", "application/json");
    if (throttleNext > 0) {
      throttleNext--;
      res.statusCode = 429;
      res.setHeader("retry-after", "0");
      return res.end(
        JSON.stringify({ kind: "Status", reason: "TooManyRequests", message: "too many requests" }),
      );
    }
    res.end(JSON.stringify({ kind: "ConfigMap", apiVersion: "v1", metadata: { name: "x" } }));
  });
});

afterAll(() => server?.close());

describe("KubeClient under API Priority and Fairness", () => {
  it("sends a throttled request again, reads and writes alike, and gives up after a bounded number of tries", async () => {
    const client = await KubeClient.fromKubeConfig(kubeConfigFrom(server.kubeconfig));
    try {
      received.length = 0;
      throttleNext = 2;
      expect((await client.get(resources.configMap, "x", "ns")).metadata?.name).toBe("x");
      expect(received).toEqual(Array(3).fill("GET /api/v1/namespaces/ns/configmaps/x"));

      received.length = 0;
      throttleNext = 1;
      await client.create({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "ns" } });
      expect(received).toEqual(Array(2).fill("POST /api/v1/namespaces/ns/configmaps"));

      received.length = 0;
      throttleNext = 100;
      const refused = await client.get(resources.configMap, "x", "ns").catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(KubeApiError);
      expect(refused).toMatchObject({ code: 429, retryAfterMs: 0 });
      expect(received).toHaveLength(throttledRequestAttempts);
    } finally {
      throttleNext = 0;
      client.close();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeClient } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { kubeConfigFrom } from "../../tools/cluster/credentials.ts";
import { startLocalApiServer } from "./support/local-api-server.ts";

// The leader's fence (beforeWrite) is asked again when a write gets its connection, not only when it is
// queued: a replica that was stopped while its writes waited for a socket must not send them when it
// resumes without the lease (tests/integration/leader-fencing.test.ts found one such write).

let server: Awaited<ReturnType<typeof startLocalApiServer>>;
const received: string[] = [];
let release: () => void = () => {};
let held = new Promise<void>((resolve) => {
  release = resolve;
});

beforeAll(async () => {
  server = await startLocalApiServer("fence", (req, res) => {
    received.push(`${req.method} ${req.url}`);
    req.resume();
    void held.then(() => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ kind: "ConfigMap", apiVersion: "v1", metadata: { name: "x" } }));
    });
  });
});

afterAll(() => server?.close());

describe("KubeClient's beforeWrite", () => {
  it("is asked again when a queued write gets its socket, and a refusal there sends nothing", async () => {
    let leading = true;
    const base = await KubeClient.fromKubeConfig(kubeConfigFrom(server.kubeconfig));
    const fenced = base.derived({
      beforeWrite: () => {
        if (!leading) throw new Error("not leading");
      },
    });
    const cm = (i: number) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: `c${i}`, namespace: "ns" },
    });
    // The client keeps at most 32 connections: the 33rd write waits for one of them.
    const writes = Array.from({ length: 33 }, (_, i) =>
      fenced.create(cm(i)).then(
        () => "sent",
        (error: Error) => error.message,
      ),
    );
    for (let i = 0; i < 100 && received.length < 32; i++) await new Promise((r) => setTimeout(r, 20));
    expect(received).toHaveLength(32);

    leading = false; // the lease is lost while the 33rd waits
    release();
    const outcomes = await Promise.all(writes);
    expect(outcomes.filter((o) => o === "sent")).toHaveLength(32);
    expect(outcomes.filter((o) => o === "not leading")).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(received).toHaveLength(32);

    // Reads are never fenced, and a write with the lease goes out on a reused connection.
    held = Promise.resolve();
    await expect(base.get(resources.configMap, "x", "ns")).resolves.toMatchObject({ kind: "ConfigMap" });
    leading = true;
    await expect(fenced.create(cm(99))).resolves.toMatchObject({ kind: "ConfigMap" });
    expect(received.at(-1)).toBe("POST /api/v1/namespaces/ns/configmaps");
    base.close();
  }, 20_000);
});

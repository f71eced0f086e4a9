import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { SharedService } from "../../controller/api/shared-service.ts";
import { BrokerProvisioner } from "../../controller/shared-service/broker.ts";
import type { Plan } from "../../controller/shared-service/desired.ts";
import { BrokerError, BrokerUnreachable, OsbClient } from "../../controller/shared-service/osb-client.ts";
import type { KubeClient } from "../../lib/kube/client.ts";

// Issue #17, finding 16: a broker is outside the platform's trust. Its answers are bounded, and a binding
// whose credentials were lost (the Secret could not be written) is made again instead of staying lost.
// A real HTTP server on loopback plays the broker.

let server: Server | undefined;

async function broker(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  server = createServer(handle);
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A catalogue entry whose broker is at `url` (no credentials). */
const brokerService = (name: string, url: string) =>
  ({
    metadata: { name },
    spec: {
      displayName: { en: name, zhHant: name },
      provisioning: { method: "broker", broker: { url, serviceId: "svc" } },
    },
  }) as unknown as SharedService;

afterEach(async () => {
  const open = server;
  server = undefined;
  if (!open) return;
  open.closeAllConnections(); // a broker that never answered still holds its requests
  await new Promise((resolve) => open.close(resolve));
});

describe("broker answers", () => {
  it("refuses an answer larger than 1 MiB, streamed without a length, without buffering it", async () => {
    let sent = 0;
    const url = await broker((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const chunk = Buffer.alloc(64 * 1024, "a");
      const push = () => {
        while (sent < 64 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", push);
        }
        res.end();
      };
      push();
    });
    const error = await new OsbClient({ url }).catalog().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect((error as Error).message).toContain("over 1048576 bytes");
    // It stopped reading long before the broker's 64 MiB were sent.
    expect(sent).toBeLessThan(32 * 1024 * 1024);
  });

  it("refuses an answer that declares a length over the limit, and one that is not a JSON object", async () => {
    const url = await broker((req, res) => {
      if (req.url === "/v2/catalog") {
        res.writeHead(200, { "content-type": "application/json", "content-length": String(5 * 1024 * 1024) });
        res.end();
      } else res.writeHead(200).end("[1,2,3]");
    });
    await expect(new OsbClient({ url }).catalog()).rejects.toThrow("5242880 bytes, over 1048576");
    await expect(new OsbClient({ url }).lastOperation("x")).rejects.toThrow("not a JSON object");
  });
});

describe("brokers in trouble", () => {
  it("a broker that never answers, or stops half way through its answer, is unreachable within the time limit", async () => {
    const url = await broker((req, res) => {
      if (req.url === "/v2/catalog") return; // accepts the request, says nothing
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"state": "in pro'); // and nothing more
    });
    const client = new OsbClient({ url }, { timeoutMs: 300 });
    const silent = await client.catalog().catch((e: unknown) => e);
    expect(silent).toBeInstanceOf(BrokerUnreachable);
    expect((silent as Error).message).toBe(
      `the broker at ${url} did not answer GET /v2/catalog within 0.3 s`,
    );
    const trickle = await client.lastOperation("x").catch((e: unknown) => e);
    expect(trickle).toBeInstanceOf(BrokerUnreachable);
    expect((trickle as Error).message).toContain("did not answer GET /v2/service_instances/x/last_operation");
  });

  it("a broker nobody listens for is unreachable, naming the cause", async () => {
    const url = await broker(() => {});
    const closing = server;
    server = undefined;
    await new Promise((resolve) => closing?.close(resolve));
    const error = await new OsbClient({ url }).catalog().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerUnreachable);
    expect((error as Error).message).toBe(
      `could not reach the broker at ${url} for GET /v2/catalog: ECONNREFUSED`,
    );
  });

  it("an operation state the API does not define is an error, not an operation in progress for ever", async () => {
    const url = await broker((_req, res) => res.writeHead(200).end(JSON.stringify({ state: "done!" })));
    const error = await new OsbClient({ url }).lastOperation("x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerError);
    expect(error).not.toBeInstanceOf(BrokerUnreachable);
    expect((error as Error).message).toContain('no valid state (in progress, succeeded or failed): "done!"');
  });

  it("a broker that did not answer is left alone for twice the time limit: its other instances are told at once", async () => {
    let calls = 0;
    const url = await broker(() => {
      calls++; // never answers
    });
    const service = brokerService("forms", url);
    const provisioner = new BrokerProvisioner({} as KubeClient, { timeoutMs: 300 });
    expect(provisioner.retryMs).toBe(600);
    const instance = (uid: string) =>
      ({
        apiVersion: "govhost.io/v1alpha1",
        kind: "SharedServiceInstance",
        metadata: { name: uid, namespace: "immd-prod", uid },
        spec: { service: "forms", plan: "small", parameters: {} },
      }) as never;
    const step = (uid: string) =>
      provisioner.step(instance(uid), service, { name: "small" } as Plan, "immd").catch((e: unknown) => e);
    const first = await step("a");
    expect(first).toBeInstanceOf(BrokerUnreachable);
    const second = await step("b");
    expect(second).toBeInstanceOf(BrokerUnreachable);
    expect((second as Error).message).toMatch(/did not answer PUT .* within 0.3 s; it is asked again after /);
    expect(calls).toBe(1); // told at once: the broker was not called again
    await new Promise((resolve) => setTimeout(resolve, 650));
    expect(await step("c")).toBeInstanceOf(BrokerUnreachable);
    expect(calls).toBe(2);
  });
});

describe("bindings", () => {
  it("a binding the broker already has (credentials lost) is unbound and made again", async () => {
    const calls: string[] = [];
    let bound = true; // an earlier bind whose Secret write failed
    let generation = 1;
    const url = await broker((req, res) => {
      calls.push(`${req.method} ${req.url?.split("?")[0]}`);
      if (req.method === "PUT" && req.url?.includes("/service_bindings/")) {
        if (bound) return void res.writeHead(409).end(JSON.stringify({ description: "binding exists" }));
        bound = true;
        generation++;
        return void res
          .writeHead(201)
          .end(JSON.stringify({ credentials: { password: `secret-${generation}` } }));
      }
      if (req.method === "DELETE" && req.url?.includes("/service_bindings/")) {
        bound = false;
        return void res.writeHead(200).end("{}");
      }
      res.writeHead(404).end("{}");
    });
    const service = brokerService("records", url);
    const plan = { name: "small" } as Plan;
    const provisioner = new BrokerProvisioner({} as KubeClient);
    const step = await provisioner.step(
      {
        apiVersion: "govhost.io/v1alpha1",
        kind: "SharedServiceInstance",
        metadata: { name: "records", namespace: "immd-prod", uid: "uid-1" },
        spec: { service: "records", plan: "small", parameters: {} },
        status: { broker: { plan: "small", bound: false } },
      } as never,
      service,
      plan,
      "immd",
    );
    expect(step.credentials).toEqual({ password: "secret-2" });
    expect(step.broker.bound).toBe(true);
    expect(calls).toEqual([
      "PUT /v2/service_instances/uid-1/service_bindings/uid-1",
      "DELETE /v2/service_instances/uid-1/service_bindings/uid-1",
      "PUT /v2/service_instances/uid-1/service_bindings/uid-1",
    ]);
  });
});

import { describe, expect, it } from "vitest";
import type { ApiGrant } from "../../controller/api/api-exchange.ts";
import { gatewayUrl, parseGatewayPath } from "../../controller/api/api-gateway.ts";
import { CallCounter, type CallDelta } from "../../controller/api-exchange/call-counter.ts";
import { judgeCall } from "../../controller/api-exchange/gateway-check.ts";
import { callerOf } from "../../controller/api-exchange/token-review.ts";
import type { KubeObject } from "../../lib/kube/client.ts";

// The API gateway's decision about a call, who a token review names, and the call counter's batching.

const now = new Date("2026-12-01T10:00:00Z");
const grant = (
  overrides: { name?: string; phase?: string; observed?: number; expiresAt?: string; created?: string } = {},
) =>
  ({
    metadata: {
      name: overrides.name ?? "visa-lookup",
      namespace: "lands-dev",
      generation: 3,
      creationTimestamp: overrides.created ?? "2026-11-01T00:00:00Z",
    },
    spec: {
      export: { department: "immd", environment: "prod", name: "visa-status" },
      purpose: "Check visa status when processing land applications",
      dataClassification: "RESTRICTED",
      expiresAt: overrides.expiresAt ?? "2027-01-01T00:00:00Z",
    },
    status: { phase: overrides.phase ?? "Active", observedGeneration: overrides.observed ?? 3 },
  }) as ApiGrant & KubeObject;
const caller = { namespace: "lands-dev", serviceAccount: "default" };
const path = "/immd-prod/visa-status/v1/visas/A123";

describe("the gateway's decision about one call", () => {
  it("lets a caller with an active grant for exactly that export through, as its namespace", () => {
    const verdict = judgeCall({ uri: path, caller, grants: [grant()], now });
    expect(verdict).toMatchObject({ outcome: "allowed", consumer: "lands-dev" });
    expect(verdict.grant?.metadata.name).toBe("visa-lookup");
  });

  const refusals: [string, Parameters<typeof judgeCall>[0], number, string][] = [
    [
      "no token",
      { uri: path, caller: undefined, grants: [grant()], now },
      401,
      "No valid service-account token",
    ],
    ["not an API path", { uri: "/", caller, grants: [grant()], now }, 400, "Not an API path"],
    ["a path with dots", { uri: "/../immd-prod/x", caller, grants: [grant()], now }, 400, "Not an API path"],
    ["no grant", { uri: path, caller, grants: [], now }, 403, "No grant"],
    [
      "a grant in another namespace",
      { uri: path, caller: { ...caller, namespace: "lands-prod" }, grants: [grant()], now },
      403,
      "No grant",
    ],
    [
      "a grant for another export",
      { uri: "/immd-prod/passport-status/", caller, grants: [grant()], now },
      403,
      "No grant",
    ],
    [
      "a grant for the same export name in another environment",
      { uri: "/immd-dev/visa-status/", caller, grants: [grant()], now },
      403,
      "No grant",
    ],
    [
      "a pending grant",
      { uri: path, caller, grants: [grant({ phase: "Pending" })], now },
      403,
      "Grant not active",
    ],
    [
      "a grant edited since it was reported active",
      { uri: path, caller, grants: [grant({ observed: 2 })], now },
      403,
      "Grant not active",
    ],
    [
      "a grant past its end, not yet marked expired",
      { uri: path, caller, grants: [grant({ expiresAt: "2026-12-01T09:59:59Z" })], now },
      403,
      "Grant not active",
    ],
  ];
  for (const [what, input, status, title] of refusals)
    it(`refuses ${what}`, () => {
      expect(judgeCall(input)).toMatchObject({ outcome: "refused", status, title });
    });

  it("counts a refusal on the caller's grant for that export, and uses any active one of several", () => {
    const refused = judgeCall({ uri: path, caller, grants: [grant({ phase: "Expired" })], now });
    expect(refused.grant?.metadata.name).toBe("visa-lookup");
    const allowed = judgeCall({
      uri: path,
      caller,
      grants: [grant({ name: "a-old", phase: "Expired" }), grant({ name: "b-new" })],
      now,
    });
    expect(allowed).toMatchObject({ outcome: "allowed" });
    expect(allowed.grant?.metadata.name).toBe("b-new");
    // With none open, the refusal goes on the newest request, whatever the names.
    const onNewest = judgeCall({
      uri: path,
      caller,
      grants: [
        grant({ name: "a-new", phase: "Pending", created: "2026-11-30T00:00:00Z" }),
        grant({ name: "b-old", phase: "Refused", created: "2026-10-01T00:00:00Z" }),
      ],
      now,
    });
    expect(onNewest.grant?.metadata.name).toBe("a-new");
  });

  it("reads the namespace and export from the path, and builds the address consumers call", () => {
    expect(parseGatewayPath("/immd-prod/visa-status")).toEqual({
      namespace: "immd-prod",
      export: "visa-status",
    });
    expect(parseGatewayPath("/immd-prod/visa-status?x=1")).toEqual({
      namespace: "immd-prod",
      export: "visa-status",
    });
    expect(parseGatewayPath("/immd-prod/visa-statusX")).toBeUndefined();
    expect(parseGatewayPath("/Immd-prod/visa-status/")).toBeUndefined();
    expect(gatewayUrl("govhost-ingress", "immd-prod", "visa-status")).toBe(
      "http://api-gateway.govhost-ingress.svc.cluster.local/immd-prod/visa-status/",
    );
  });
});

describe("who a token review names", () => {
  const audience = "govhost-api-gateway";
  const user = { username: "system:serviceaccount:lands-dev:default" };
  it("names a pod's service account, for the gateway's audience only", () => {
    expect(callerOf({ authenticated: true, audiences: [audience], user }, audience)).toEqual(caller);
    expect(
      callerOf({ authenticated: true, audiences: ["https://kubernetes.default.svc"], user }, audience),
    ).toBeUndefined();
    expect(callerOf({ authenticated: false, audiences: [audience], user }, audience)).toBeUndefined();
    expect(callerOf(undefined, audience)).toBeUndefined();
    // A person's token (OIDC) is not a workload's.
    expect(
      callerOf(
        { authenticated: true, audiences: [audience], user: { username: "https://login.gov.example#ada" } },
        audience,
      ),
    ).toBeUndefined();
  });
});

describe("the call counter", () => {
  it("writes each call before answering, batches the calls that arrive during a write, and passes on whether the grant was open", async () => {
    const writes: [string, CallDelta][] = [];
    let release: () => void = () => {};
    const counter = new CallCounter(async (key, delta) => {
      writes.push([key, { ...delta }]);
      if (writes.length === 1) await new Promise<void>((resolve) => (release = resolve));
      // The second write finds the grant closed (say, edited meanwhile).
      return writes.length === 1;
    });
    const first = counter.record("lands-dev/a", "allowed", now);
    const later = [
      counter.record("lands-dev/a", "allowed", new Date(now.getTime() + 1)),
      counter.record("lands-dev/a", "refused", new Date(now.getTime() + 2)),
      counter.record("lands-dev/a", "allowed", new Date(now.getTime() + 3)),
    ];
    let firstDone = false;
    void first.then(() => (firstDone = true));
    await Promise.resolve();
    expect(firstDone).toBe(false);
    release();
    // The first call went through; the three batched behind it learn the grant closed.
    expect(await first).toBe(true);
    expect(await Promise.all(later)).toEqual([false, false, false]);
    expect(writes).toEqual([
      ["lands-dev/a", { allowed: 1, refused: 0, lastCallAt: now }],
      ["lands-dev/a", { allowed: 2, refused: 1, lastCallAt: new Date(now.getTime() + 3) }],
    ]);
  });

  it("fails the calls whose write failed, and only those", async () => {
    let fail = true;
    const counter = new CallCounter(async () => {
      if (fail) throw new Error("API server unavailable");
      return true;
    });
    await expect(counter.record("lands-dev/a", "allowed", now)).rejects.toThrow("unavailable");
    fail = false;
    await expect(counter.record("lands-dev/a", "allowed", now)).resolves.toBe(true);
  });
});

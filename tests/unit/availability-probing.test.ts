import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeHomePage } from "../../controller/performance/availability-prober.ts";
import {
  dueForProbe,
  isUp,
  type ProbedEService,
  probeEntrances,
  recordProbes,
} from "../../controller/performance/availability-probing.ts";
import { publicFiguresOf } from "../../controller/performance/public-figures.ts";
import {
  type AvailabilityMonths,
  availabilityStoreData,
  readAvailabilityStore,
} from "../../lib/performance/availability-store.ts";
import { publicPercent } from "../../lib/performance/public-figures.ts";
import { eserviceReport, scorecard } from "../../lib/performance/report.ts";
import { createPki } from "../../tools/cluster/pki.ts";

const visa: ProbedEService = {
  department: "immd",
  namespace: "immd-prod",
  name: "visa",
  host: "visa.gov.example",
  publicSince: Date.parse("2026-12-01T00:00:00Z"),
};
const permits: ProbedEService = { ...visa, name: "permits", host: "permits.gov.example" };
const at = "2026-12-03T10:00:00.000Z";

describe("what the availability probe decides", () => {
  it("probes an e-service once it has been public for the grace period", () => {
    const since = visa.publicSince as number;
    expect(dueForProbe(visa, since + 59_999, 60_000)).toBe(false);
    expect(dueForProbe(visa, since + 60_000, 60_000)).toBe(true);
    // Public with no recorded transition (an older status): probed.
    expect(dueForProbe({ ...visa, publicSince: undefined }, since, 60_000)).toBe(true);
  });

  it("counts 2xx and 3xx as up, anything else as down", () => {
    expect([199, 200, 204, 301, 399, 400, 404, 500, 503].map(isUp)).toEqual([
      false,
      true,
      true,
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
  });

  it("goes in only through ingress controller pods that are Ready, not terminating, with the named port", () => {
    const pod = (name: string, ready: boolean, extra: Record<string, unknown> = {}) => ({
      metadata: { name, ...extra },
      spec: {
        containers: [
          {
            ports: [
              { name: "web", containerPort: 8000 },
              { name: "websecure", containerPort: 8443 },
            ],
          },
        ],
      },
      status: {
        podIP: `10.0.0.${name.length}`,
        conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
      },
    });
    expect(
      probeEntrances(
        [
          pod("traefik-bbbbbb", true),
          pod("traefik-a", true),
          pod("traefik-notready", false),
          pod("traefik-gone", true, { deletionTimestamp: at }),
          { ...pod("traefik-noip", true), status: { conditions: [{ type: "Ready", status: "True" }] } },
        ],
        "websecure",
      ),
    ).toEqual([
      { address: "10.0.0.9", port: 8443 },
      { address: "10.0.0.14", port: 8443 },
    ]);
    expect(probeEntrances([pod("traefik-a", true)], "https")).toEqual([]);
  });

  it("adds a round to its month only, keeping the latest probe, without changing what it was given", () => {
    const stored: AvailabilityMonths = {
      "2026-11": { "immd-prod/visa": { up: 7, down: 1, last: { at, up: true, result: "HTTP 200" } } },
    };
    const frozen = JSON.stringify(stored);
    const down = { at, up: false, result: "HTTP 503" };
    const once = recordProbes(
      stored,
      [
        { eservice: visa, probe: down },
        { eservice: permits, probe: { at, up: true, result: "HTTP 200" } },
      ],
      "2026-12",
    );
    const twice = recordProbes(
      once,
      [{ eservice: visa, probe: { at, up: true, result: "HTTP 302" } }],
      "2026-12",
    );
    expect(JSON.stringify(stored)).toBe(frozen);
    expect(twice).toEqual({
      "2026-11": stored["2026-11"],
      "2026-12": {
        "immd-prod/visa": { up: 1, down: 1, last: { at, up: true, result: "HTTP 302" } },
        "immd-prod/permits": { up: 1, down: 0, last: { at, up: true, result: "HTTP 200" } },
      },
    });
  });

  it("reads back what it stores, and refuses a store that is not its own shape rather than overwrite it", () => {
    const months: AvailabilityMonths = {
      "2026-12": { "immd-prod/visa": { up: 3, down: 0, last: { at, up: true, result: "HTTP 200" } } },
    };
    expect(readAvailabilityStore(availabilityStoreData(months))).toEqual(months);
    expect(readAvailabilityStore(undefined)).toEqual({});
    expect(String(readAvailabilityStore({ months: "{" }))).toContain("not JSON");
    expect(String(readAvailabilityStore({ months: '{"2026-12":{"a/b":{"up":-1}}}' }))).toContain(
      "does not match its schema",
    );
  });
});

describe("availability in the public catalogue", () => {
  it("is shown to one decimal, rounded down, so an e-service is never shown better than measured", () => {
    expect(publicPercent(1439, 1440)).toBe(99.9);
    expect(publicPercent(9999, 10_000)).toBe(99.9);
    expect(publicPercent(2, 3)).toBe(66.6);
    expect(publicPercent(5, 5)).toBe(100);
    expect(publicPercent(0, 5)).toBe(0);
  });
});

describe("the public figures", () => {
  const months: AvailabilityMonths = {
    "2026-12": {
      "immd-prod/visa": { up: 1439, down: 1, last: { at, up: true, result: "HTTP 200" } },
    },
  };
  it("give each public e-service's availability and satisfaction this month, rounded down", () => {
    const ratings = new Map([["immd", { "2026-12": { "immd-prod/permits": [1, 0, 0, 1, 1] } }]]);
    expect(publicFiguresOf([visa, permits], "2026-12", () => months, ratings, {})).toEqual({
      "immd-prod/visa": { period: "2026-12", availabilityPercent: 99.9 },
      "immd-prod/permits": { period: "2026-12", satisfactionPercent: 66.6, ratings: 3 },
    });
  });

  it("keep a department's availability published this month when its probes could not be stored", () => {
    const previous = { "immd-prod/visa": { period: "2026-12", availabilityPercent: 97 } };
    expect(publicFiguresOf([visa], "2026-12", () => undefined, new Map(), previous)).toEqual(previous);
    // Not last month's: a new month starts without figures.
    expect(publicFiguresOf([visa], "2027-01", () => undefined, new Map(), previous)).toEqual({});
    // And an e-service no longer public is no longer shown.
    expect(publicFiguresOf([], "2026-12", () => months, new Map(), previous)).toEqual({});
  });
});

describe("availability in the report", () => {
  it("gives the share of probes answered, the latest probe, and the target's status and gap", () => {
    const report = eserviceReport({
      environment: "prod",
      eservice: "visa",
      targets: { availabilityPercent: 99.5 },
      probes: { up: 196, down: 4, last: { at, up: false, result: "HTTP 404" } },
    });
    expect(report.figures).toMatchObject({ probes: 200, probesDown: 4, availabilityPercent: 98 });
    expect(report.lastProbe).toEqual({ at, up: false, result: "HTTP 404" });
    expect(report.targets).toEqual([
      { target: "availabilityPercent", goal: 99.5, actual: 98, status: "missed", difference: 98 - 99.5 },
    ]);
    expect(scorecard([report]).rows[0]?.missed).toEqual([
      { target: "availabilityPercent", goal: 99.5, actual: 98, difference: 98 - 99.5 },
    ]);
  });

  it("says availability was not measured when the e-service was not probed", () => {
    const report = eserviceReport({
      environment: "prod",
      eservice: "visa",
      targets: { availabilityPercent: 99 },
    });
    expect(report.figures).toMatchObject({ probes: 0, probesDown: 0, availabilityPercent: null });
    expect(report.lastProbe).toBeNull();
    expect(report.targets[0]).toMatchObject({ status: "not-measured", actual: null });
    expect(report.targets[0]?.reason).toContain("not probed");
  });
});

describe("one probe over HTTPS", () => {
  let dir: string;
  let server: Server;
  let entrance: { address: string; port: number };
  const seen: { host?: string; servername?: string; path?: string; agent?: string }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "govhost-probe-"));
    const pki = createPki(dir);
    server = createServer(
      { cert: readFileSync(pki.servingCert), key: readFileSync(pki.servingKey) },
      (req, res) => {
        const host = req.headers.host ?? "";
        seen.push({
          host,
          servername: String((req.socket as TLSSocket).servername),
          path: req.url ?? "",
          agent: req.headers["user-agent"] ?? "",
        });
        if (host.startsWith("slow.")) return; // never answers
        res.statusCode = host.startsWith("up.") ? 200 : host.startsWith("moved.") ? 302 : 503;
        res.end("page");
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    entrance = { address: "127.0.0.1", port: (server.address() as AddressInfo).port };
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("asks for the home page with the e-service's name as SNI and Host, and tells up from down", async () => {
    expect(await probeHomePage(entrance, "up.gov.example", 2_000, at)).toEqual({
      at,
      up: true,
      result: "HTTP 200",
    });
    expect(await probeHomePage(entrance, "moved.gov.example", 2_000, at)).toEqual({
      at,
      up: true,
      result: "HTTP 302",
    });
    expect(await probeHomePage(entrance, "down.gov.example", 2_000, at)).toEqual({
      at,
      up: false,
      result: "HTTP 503",
    });
    expect(seen[0]).toEqual({
      host: "up.gov.example",
      servername: "up.gov.example",
      path: "/",
      agent: "govhost-availability-probe",
    });
  });

  it("counts no answer within the timeout, and a refused connection, as down with the reason", async () => {
    expect(await probeHomePage(entrance, "slow.gov.example", 300, at)).toEqual({
      at,
      up: false,
      result: "no answer within 300 ms",
    });
    const refused = await probeHomePage({ address: "127.0.0.1", port: 1 }, "up.gov.example", 2_000, at);
    expect(refused).toMatchObject({ at, up: false });
    expect(refused.result).toContain("ECONNREFUSED");
  });
});

import { createServer, request, type Server } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OriginProxy, sameOrigin, scanOrigin } from "../../controller/accessibility/origin-guard.ts";

describe("origin of a scan", () => {
  it("compares scheme, host and port, with default ports made explicit", () => {
    const origin = scanOrigin("http://portal.immd-prod.svc/apply");
    expect(origin).toMatchObject({ protocol: "http:", hostname: "portal.immd-prod.svc", port: "80" });
    expect(sameOrigin("http://portal.immd-prod.svc:80/x?y", origin)).toBe(true);
    expect(sameOrigin("http://PORTAL.immd-prod.svc/", origin)).toBe(true);
    for (const other of [
      "http://portal.immd-prod.svc:2379/v3/kv/put",
      "https://portal.immd-prod.svc/",
      "ws://portal.immd-prod.svc/",
      "http://portal.immd-prod.svc.evil.example/",
      "http://127.0.0.1/",
      "data:text/html,x",
      "not a url",
    ])
      expect(sameOrigin(other, origin)).toBe(false);
    expect(sameOrigin("https://preview.gov.example:443/", scanOrigin("https://preview.gov.example/"))).toBe(
      true,
    );
  });

  it("refuses pages that are not http(s) or that carry credentials", () => {
    expect(() => scanOrigin("file:///etc/passwd")).toThrow(/only http and https/);
    expect(() => scanOrigin("http://user:secret@portal.svc/")).toThrow(/credentials/);
  });
});

describe("origin proxy", () => {
  let site: Server;
  let other: Server;
  let sitePort = 0;
  let otherPort = 0;
  let otherHits = 0;
  let proxy: OriginProxy;

  const listen = (server: Server) =>
    new Promise<number>((resolve) =>
      server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
    );

  beforeAll(async () => {
    site = createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/plain", "x-host": req.headers.host ?? "" });
      res.end(`site ${req.method} ${req.url}`);
    });
    other = createServer((_req, res) => {
      otherHits++;
      res.end("other");
    });
    sitePort = await listen(site);
    otherPort = await listen(other);
    proxy = await OriginProxy.start(`http://127.0.0.1:${sitePort}/`);
  });

  afterAll(async () => {
    await proxy.close();
    site.close();
    other.close();
  });

  const viaProxy = (absoluteUrl: string, method = "GET") =>
    new Promise<{ status: number; body: string; host: string }>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: proxy.port, method, path: absoluteUrl }, (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body, host: String(res.headers["x-host"] ?? "") }),
        );
      });
      req.on("error", reject);
      req.end();
    });

  it("forwards requests on the origin, with their Host", async () => {
    expect(await viaProxy(`http://127.0.0.1:${sitePort}/apply?x=1`, "POST")).toEqual({
      status: 200,
      body: "site POST /apply?x=1",
      host: `127.0.0.1:${sitePort}`,
    });
  });

  it("adds its listeners to an upstream connection once, however many requests reuse it", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on("warning", onWarning);
    try {
      // One after another: the proxy's keep-alive agent sends them all over one upstream connection.
      for (let i = 0; i < 30; i++)
        expect((await viaProxy(`http://127.0.0.1:${sitePort}/page/${i}`)).status).toBe(200);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings.filter((w) => w.startsWith("MaxListenersExceededWarning"))).toEqual([]);
  });

  it("refuses any other port, host or scheme, and counts the refusals", async () => {
    const before = proxy.refused;
    for (const url of [
      `http://127.0.0.1:${otherPort}/v3/kv/put`,
      `http://localhost:${otherPort}/`,
      `http://127.0.0.1:${proxy.port}/`,
      "/relative",
    ])
      expect((await viaProxy(url)).status).toBe(403);
    expect(otherHits).toBe(0);
    expect(proxy.refused - before).toBe(4);
  });

  it("opens no tunnel (CONNECT) for an http origin, and upgrades no connection to a WebSocket", async () => {
    const exchange = (payload: string) =>
      new Promise<string>((resolve) => {
        const socket = connect(proxy.port, "127.0.0.1", () => socket.write(payload));
        let reply = "";
        socket.on("data", (d) => {
          reply += d.toString();
        });
        socket.on("close", () => resolve(reply));
        socket.on("error", () => resolve(reply));
      });
    expect(
      await exchange(`CONNECT 127.0.0.1:${otherPort} HTTP/1.1\r\nhost: 127.0.0.1:${otherPort}\r\n\r\n`),
    ).toMatch(/^HTTP\/1\.1 403/);
    expect(
      await exchange(`CONNECT 127.0.0.1:${sitePort} HTTP/1.1\r\nhost: 127.0.0.1:${sitePort}\r\n\r\n`),
    ).toMatch(/^HTTP\/1\.1 403/);
    expect(
      await exchange(
        `GET http://127.0.0.1:${sitePort}/ws HTTP/1.1\r\nhost: 127.0.0.1:${sitePort}\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      ),
    ).toMatch(/^HTTP\/1\.1 403/);
    expect(otherHits).toBe(0);
  });
});

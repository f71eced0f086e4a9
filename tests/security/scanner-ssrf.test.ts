// Issue #17, finding 1: a tenant's page, scanned by the controller's Chromium, must not make the browser
// reach anything but the page's own origin. The hostile site below tries every way a page has to send a
// request elsewhere (redirect hops of fetch, images and the page itself, WebSockets, navigations, forms,
// pop-ups, frames, prefetch, EventSource, beacons, CSS, workers, service workers, WebRTC); a listener on
// another loopback port, standing in for etcd's plain-HTTP port, counts every TCP connection it receives,
// and a UDP socket every datagram (WebRTC's STUN and TURN).

import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createServer as createHttpServer, type IncomingMessage, type Server } from "node:http";
import { createServer as createNetServer, type Server as NetServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccessibilityScanner } from "../../controller/accessibility/scanner.ts";
import { type BrowserServer, startBrowserServer } from "../integration/support/browser-server.ts";
import { requireChromium } from "../integration/support/chromium.ts";

interface Hit {
  firstLine: string;
}

function listen(server: Server | NetServer): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
  });
}

const page = (title: string, head: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>${head}</head><body><main><h1>${title}</h1>${body}</main></body></html>`;

/**
 * Each path is one attack; `elsewhere` is the sentinel's origin, `alias` the same port by another name,
 * `udpPort` a UDP sentinel (WebRTC's STUN goes over UDP).
 */
function attacks(elsewhere: string, alias: string, udpPort: number): Record<string, string> {
  const script = (code: string) => `<script>${code}</script>`;
  return {
    "/fetch-307": page(
      "fetch answered with 307",
      "",
      script(
        `fetch("/redirect?status=307&to=${encodeURIComponent(`${elsewhere}/v3/kv/put`)}", {method: "POST", body: JSON.stringify({key: "Zm9v", value: "YmFy"})}).catch(() => {});`,
      ),
    ),
    "/img-302": page(
      "image answered with 302",
      "",
      `<img alt="" src="/redirect?status=302&to=${encodeURIComponent(`${elsewhere}/img.png`)}">`,
    ),
    "/direct": page(
      "direct cross-origin requests",
      `<script src="${elsewhere}/script.js"></script><link rel="stylesheet" href="${alias}/style.css">`,
      `<img alt="" src="${elsewhere}/direct.png">${script(`fetch("${alias}/fetch", {mode: "no-cors"}).catch(() => {}); new Image().src = "${elsewhere}/image";`)}`,
    ),
    "/websocket": page(
      "WebSockets",
      "",
      script(
        `for (const url of ["${elsewhere.replace("http:", "ws:")}/ws", "${alias.replace("http:", "ws:")}/ws"]) { try { new WebSocket(url); } catch {} }`,
      ),
    ),
    "/location": page(
      "location change",
      "",
      script(`setTimeout(() => { location.href = "${elsewhere}/location"; }, 0);`),
    ),
    "/meta-refresh": page(
      "meta refresh",
      `<meta http-equiv="refresh" content="0;url=${elsewhere}/meta-refresh">`,
      "",
    ),
    "/form": page(
      "form submission",
      "",
      `<form method="post" action="${elsewhere}/v3/kv/put"><label>key <input name="key" value="foo"></label></form>${script("document.forms[0].submit();")}`,
    ),
    "/window-open": page("pop-up", "", script(`window.open("${elsewhere}/popup");`)),
    "/iframe": page("frame", "", `<iframe title="frame" src="${elsewhere}/iframe"></iframe>`),
    "/prefetch": page(
      "prefetch",
      `<link rel="prefetch" href="${elsewhere}/prefetch"><link rel="preload" as="fetch" crossorigin href="${alias}/preload"><link rel="prerender" href="${elsewhere}/prerender">`,
      "",
    ),
    "/eventsource": page("EventSource", "", script(`new EventSource("${elsewhere}/events");`)),
    "/beacon": page("beacon", "", script(`navigator.sendBeacon("${elsewhere}/beacon", "x");`)),
    "/css-url": page(
      "CSS url()",
      `<style>body { background-image: url("${elsewhere}/background.png"); }</style>`,
      "",
    ),
    "/css-import": page("CSS @import", `<style>@import url("${alias}/import.css");</style>`, ""),
    "/worker": page("worker", "", script(`new Worker("/worker.js");`)),
    "/service-worker": page(
      "service worker",
      "",
      script(`navigator.serviceWorker?.register("/sw.js").catch(() => {});`),
    ),
    "/webrtc": page(
      "WebRTC",
      "",
      script(
        `const pc = new RTCPeerConnection({iceServers: [{urls: ["turn:127.0.0.1:${new URL(elsewhere).port}?transport=tcp", "stun:127.0.0.1:${new URL(elsewhere).port}", "stun:127.0.0.1:${udpPort}", "turn:127.0.0.1:${udpPort}?transport=udp"], username: "u", credential: "p"}]}); pc.createDataChannel("x"); pc.createOffer().then((o) => pc.setLocalDescription(o));`,
      ),
    ),
  };
}

// The same attacks against both ways the scanner gets its browser: Chromium started by the controller
// (on a host), and Chromium from Playwright's server in the browser container of the controller's pod,
// started here with the container's command.
const modes = [
  { where: "Chromium started by the scanner", fromServer: false },
  { where: "Chromium from the browser container's server", fromServer: true },
];

describe.each(modes)(
  "scanner ($where): a hostile page cannot make the browser leave its origin",
  ({ fromServer }) => {
    const hits: Hit[] = [];
    const datagrams: number[] = [];
    const seenAtOrigin: string[] = [];
    let sentinel: NetServer;
    let udpSentinel: UdpSocket;
    let site: Server;
    let origin = "";
    let pages: Record<string, string> = {};
    let scanner: AccessibilityScanner;
    let server: BrowserServer | undefined;

    beforeAll(async () => {
      requireChromium();
      server = fromServer ? await startBrowserServer() : undefined;
      scanner = new AccessibilityScanner(server ? { browserOptions: { endpoint: server.endpoint } } : {});
      // The sentinel counts TCP connections, not HTTP requests: a WebSocket, a TURN allocation or a
      // half-sent request count as much as a completed POST.
      sentinel = createNetServer((socket) => {
        const hit: Hit = { firstLine: "" };
        hits.push(hit);
        socket.once("data", (data) => {
          hit.firstLine = data.toString("latin1").split("\r\n")[0] ?? "";
          socket.end("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        });
        socket.on("error", () => {});
      });
      const sentinelPort = await listen(sentinel);
      udpSentinel = createSocket("udp4", (message) => datagrams.push(message.length));
      const udpPort = await new Promise<number>((resolve) =>
        udpSentinel.bind(0, "127.0.0.1", () => resolve(udpSentinel.address().port)),
      );
      const elsewhere = `http://127.0.0.1:${sentinelPort}`;
      pages = attacks(elsewhere, `http://localhost:${sentinelPort}`, udpPort);
      site = createHttpServer((req: IncomingMessage, res) => {
        const url = new URL(req.url ?? "/", "http://site");
        seenAtOrigin.push(url.pathname);
        if (url.pathname === "/redirect") {
          res.writeHead(Number(url.searchParams.get("status")), {
            location: url.searchParams.get("to") ?? "/",
          });
          return res.end();
        }
        if (url.pathname === "/navigate-away") {
          // The scanned page itself answers with a redirect to the sentinel.
          res.writeHead(302, { location: `${elsewhere}/navigation` });
          return res.end();
        }
        if (url.pathname === "/worker.js" || url.pathname === "/sw.js") {
          res.writeHead(200, { "content-type": "text/javascript" });
          return res.end(
            `fetch("${elsewhere}${url.pathname}").catch(() => {}); try { new WebSocket("${elsewhere.replace("http:", "ws:")}/worker-ws"); } catch {}`,
          );
        }
        const html = pages[url.pathname];
        if (!html) {
          res.writeHead(404);
          return res.end();
        }
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end(html);
      });
      origin = `http://127.0.0.1:${await listen(site)}`;
    });

    afterAll(async () => {
      await scanner?.close();
      await server?.stop();
      site?.close();
      sentinel?.close();
      udpSentinel?.close();
    });

    it("every attack runs in the browser tier, and the listener on another port is never reached", async () => {
      const paths = [...Object.keys(pages), "/navigate-away"];
      const result = await scanner.scan({
        baseUrl: origin,
        paths,
        standard: "WCAG21-AA",
        clientRendered: true,
        languages: ["en"],
      });
      // Connections still on their way would be counted too.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(result.tiers).toEqual(["chromium"]);
      // The attacks were really attempted: their first hops reached the tenant's own server.
      expect(seenAtOrigin).toEqual(
        expect.arrayContaining(["/fetch-307", "/img-302", "/redirect", "/worker.js", "/navigate-away"]),
      );
      expect(seenAtOrigin.filter((p) => p === "/redirect").length).toBeGreaterThanOrEqual(2);
      expect(hits.map((h) => h.firstLine)).toEqual([]);
      expect(datagrams).toEqual([]);
      // Pages that navigate away are not scanned as if they were the e-service; the others are scanned.
      const navigating = ["/location", "/meta-refresh", "/form", "/navigate-away"];
      expect(result.errors.map((e) => e.path)).toContain("/navigate-away");
      for (const error of result.errors) {
        expect(navigating).toContain(error.path);
        expect(error.message).toMatch(/navigated|redirected/);
      }
    }, 120_000);

    it("the server-rendered path (jsdom fetch, then Chromium) does not leave the origin either", async () => {
      const before = hits.length;
      const result = await scanner.scan({
        baseUrl: origin,
        paths: ["/fetch-307", "/img-302", "/websocket", "/css-import", "/navigate-away"],
        standard: "WCAG21-AA",
        clientRendered: false,
        languages: ["en"],
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(result.tiers).toEqual(["chromium", "jsdom"]);
      expect(hits.slice(before).map((h) => h.firstLine)).toEqual([]);
      expect(result.errors.map((e) => e.path)).toEqual(["/navigate-away"]);
    }, 120_000);
  },
);

describe("scanner (Chromium from the browser container's server): one browser per scan", () => {
  let server: BrowserServer;
  let scanner: AccessibilityScanner;
  let site: Server;
  let origin = "";

  beforeAll(async () => {
    requireChromium();
    server = await startBrowserServer();
    scanner = new AccessibilityScanner({ browserOptions: { endpoint: server.endpoint } });
    site = createHttpServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end('<!doctype html><html lang="en"><title>t</title><main><h1>t</h1></main></html>');
    });
    origin = `http://127.0.0.1:${await listen(site)}`;
  });

  afterAll(async () => {
    await scanner?.close();
    await server?.stop();
    site?.close();
  });

  it("gives each scan a Chromium of its own, which ends with the scan", async () => {
    const first = await scanner.browser.open(`${origin}/`);
    const second = await scanner.browser.open(`${origin}/`);
    expect(server.browsers()).toBe(2);
    await Promise.all([first.close(), second.close()]);
    const deadline = Date.now() + 10_000;
    while (server.browsers() > 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.browsers()).toBe(0);
  });
});

import { lookup } from "node:dns/promises";
import { Agent, createServer, type IncomingHttpHeaders, request, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import type { Logger } from "pino";

// The scanner's browser renders pages that a tenant controls. Whatever those pages do, the browser may talk
// to exactly one origin (scheme, host and port) for the length of a scan. This module holds the two
// network-layer checks the browser tier relies on: the origin comparison used by the browser's request
// interception (every request and every redirect hop), and the forward proxy that is the browser's only way
// out (so WebSockets, WebRTC over TCP, preconnects and anything the interception does not see meet the same
// rule, and DNS cannot be rebound between two requests of one scan).

const defaultPorts: Record<string, string> = { "http:": "80", "https:": "443" };

/**
 * Where to connect for a scan's origin instead of resolving its host, e.g. one pod of the version being
 * judged (its IP and container port) while requests name the e-service's Service.
 */
export interface ConnectTo {
  address: string;
  port: number;
}

/** The origin a scan may reach: scheme, host (as URL spells it) and explicit port. */
export interface ScanOrigin {
  protocol: "http:" | "https:";
  hostname: string;
  port: string;
  /** `scheme://host[:port]`, as `URL.origin` writes it. */
  origin: string;
}

export function scanOrigin(url: string): ScanOrigin {
  const parsed = new URL(url);
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    throw new Error(`only http and https pages can be scanned, not ${parsed.protocol}`);
  if (parsed.username || parsed.password) throw new Error("page URLs must not carry credentials");
  return {
    protocol: parsed.protocol,
    hostname: parsed.hostname,
    port: parsed.port || (defaultPorts[parsed.protocol] as string),
    origin: parsed.origin,
  };
}

/** True when `url` is on exactly `origin` (same scheme, host and port); anything unparsable is not. */
export function sameOrigin(url: string, origin: ScanOrigin): boolean {
  try {
    const parsed = new URL(url);
    return (
      parsed.protocol === origin.protocol &&
      parsed.hostname === origin.hostname &&
      (parsed.port || defaultPorts[parsed.protocol]) === origin.port
    );
  } catch {
    return false;
  }
}

const unbracket = (host: string) => host.replace(/^\[(.*)\]$/, "$1");

// Hop-by-hop and proxy headers are not forwarded (RFC 9110 §7.6.1).
const hopByHop = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "proxy-authenticate",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

function forwardable(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined && !hopByHop.has(name.toLowerCase())) out[name] = value;
  return out;
}

/**
 * A forward proxy on a loopback port that lets through only requests to one origin, connecting to the
 * address that origin's host resolved to when the scan began. Plain-HTTP requests are forwarded when their
 * absolute URL is on the origin; CONNECT tunnels only to an https origin's own host and port; protocol
 * upgrades (WebSockets over plain HTTP) never. Everything refused is counted and logged.
 */
export class OriginProxy {
  readonly origin: ScanOrigin;
  /** Requests, tunnels and upgrades refused so far (for logs and tests). */
  refused = 0;
  private readonly server: Server;
  private readonly address: string;
  private readonly upstreamPort: number;
  private readonly log: Logger | undefined;
  private readonly sockets = new Set<Socket>();
  /** Connections to the origin, so none outlives the scan (a page may answer forever). */
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });
  port = 0;

  private constructor(origin: ScanOrigin, upstream: ConnectTo, log: Logger | undefined) {
    this.origin = origin;
    this.address = upstream.address;
    this.upstreamPort = upstream.port;
    this.log = log;
    this.server = createServer({ requestTimeout: 60_000 });
    this.server.on("request", (req, res) => {
      const target = req.url ?? "";
      if (!target.startsWith("http://") || !sameOrigin(target, origin) || origin.protocol !== "http:") {
        this.refuse("request", target);
        res.writeHead(403, { "content-type": "text/plain", connection: "close" });
        res.end("blocked by the govhost accessibility scanner: the page may reach only its own origin\n");
        return;
      }
      const url = new URL(target);
      const upstream = request(
        {
          host: this.address,
          port: this.upstreamPort,
          method: req.method,
          path: `${url.pathname}${url.search}`,
          headers: { ...forwardable(req.headers), host: url.host },
          setHost: false,
          agent: this.agent,
        },
        (response) => {
          res.writeHead(response.statusCode ?? 502, forwardable(response.headers));
          response.pipe(res);
        },
      );
      upstream.on("socket", (socket) => this.track(socket));
      upstream.on("error", () => {
        if (!res.headersSent) res.writeHead(502, { connection: "close" });
        res.end();
      });
      req.pipe(upstream);
    });
    this.server.on("connect", (req, socket: Socket, head: Buffer) => {
      this.track(socket);
      const [host, port] = splitAuthority(req.url ?? "");
      if (
        origin.protocol !== "https:" ||
        unbracket(host) !== unbracket(origin.hostname) ||
        port !== origin.port
      ) {
        this.refuse("tunnel", req.url ?? "");
        socket.end("HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\n");
        return;
      }
      const upstream = connect(this.upstreamPort, this.address, () => {
        socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        if (head.length) upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      this.track(upstream);
      upstream.on("error", () => socket.destroy());
      socket.on("error", () => upstream.destroy());
    });
    this.server.on("upgrade", (req, socket: Socket) => {
      this.refuse("upgrade", req.url ?? "");
      socket.end("HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\n");
    });
    this.server.on("connection", (socket: Socket) => this.track(socket));
  }

  /**
   * Starts a proxy for the origin of `url`, resolving its host once, or connecting to `connectTo` (the
   * origin's host name still goes in every request).
   */
  static async start(url: string, log?: Logger, connectTo?: ConnectTo): Promise<OriginProxy> {
    const origin = scanOrigin(url);
    const upstream = connectTo ?? {
      address: (await lookup(unbracket(origin.hostname))).address,
      port: Number(origin.port),
    };
    const proxy = new OriginProxy(origin, upstream, log);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once("error", reject);
      proxy.server.listen(0, "127.0.0.1", () => resolve());
    });
    proxy.port = (proxy.server.address() as { port: number }).port;
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private track(socket: Socket): void {
    // The keep-alive agent hands the same upstream socket to request after request: listen to it once.
    if (this.sockets.has(socket)) return;
    this.sockets.add(socket);
    socket.on("error", () => {});
    socket.once("close", () => this.sockets.delete(socket));
  }

  private refuse(kind: "request" | "tunnel" | "upgrade", target: string): void {
    // A page can try thousands: the first few are logged, the browser tier logs the count at the end.
    if (++this.refused > 5) return;
    this.log?.warn(
      { origin: this.origin.origin, kind, target: target.slice(0, 200) },
      "accessibility scan: blocked a connection outside the page's origin",
    );
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.agent.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function splitAuthority(authority: string): [string, string] {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(authority);
  return [match?.[1] ?? "", match?.[2] ?? ""];
}

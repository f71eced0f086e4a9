// Fetches a page's HTML for the jsdom tier. The scanner is pointed at tenant-controlled servers, so it
// follows redirects only within the page's origin, caps size and time, and accepts only HTML.
// undici's fetch rather than the global one: its Agent can connect to a given address and port (a pod of
// the version being judged) while the request keeps the page's host name, which the global fetch cannot.

import { connect, isIP } from "node:net";
import { Agent, type buildConnector, fetch, type Response } from "undici";
import { readBounded } from "../runtime/bounded-body.ts";
import { abortReason, seconds } from "./deadline.ts";
import type { ConnectTo } from "./origin-guard.ts";

export interface FetchedPage {
  url: string;
  html: string;
}

export class PageFetchError extends Error {}

const maxRedirects = 5;

function readCapped(response: Response, maxBytes: number): Promise<string> {
  return readBounded(response, maxBytes, () => new PageFetchError(`page is larger than ${maxBytes} bytes`));
}

/** An agent whose every connection goes to `to`, whatever host and port the request names. */
function agentConnectingTo(to: ConnectTo): Agent {
  if (isIP(to.address) === 0) throw new PageFetchError(`connectTo ${to.address} is not an IP address`);
  const connector: buildConnector.connector = (_options, callback) => {
    const socket = connect({ host: to.address, port: to.port });
    socket.once("connect", () => callback(null, socket));
    socket.once("error", (error) => callback(error, null));
    return socket;
  };
  return new Agent({ connect: connector });
}

export async function fetchPage(
  url: string,
  options: { timeoutMs: number; maxBytes: number; signal?: AbortSignal; connectTo?: ConnectTo },
): Promise<FetchedPage> {
  const dispatcher = options.connectTo ? agentConnectingTo(options.connectTo) : undefined;
  try {
    return await fetchWithin(url, options, dispatcher);
  } finally {
    await dispatcher?.close();
  }
}

async function fetchWithin(
  url: string,
  options: { timeoutMs: number; maxBytes: number; signal?: AbortSignal },
  dispatcher: Agent | undefined,
): Promise<FetchedPage> {
  const origin = new URL(url).origin;
  let current = url;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  for (let hop = 0; hop <= maxRedirects; hop++) {
    let response: Response;
    try {
      response = await fetch(current, {
        redirect: "manual",
        signal,
        ...(dispatcher ? { dispatcher } : {}),
        headers: { accept: "text/html", "user-agent": "govhost-accessibility-scanner" },
      });
    } catch (error) {
      if (timeout.aborted)
        throw new PageFetchError(`${current} did not answer within ${seconds(options.timeoutMs)}`);
      if (options.signal?.aborted) throw abortReason(options.signal);
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
      throw new PageFetchError(
        `cannot reach ${current}${cause || (error instanceof Error ? `: ${error.message}` : "")}`,
      );
    }
    if (response.status >= 300 && response.status < 400) {
      const location = response.headers.get("location");
      await response.body?.cancel();
      if (!location) throw new PageFetchError(`${current} redirected without a Location`);
      const next = new URL(location, current);
      if (next.origin !== origin)
        throw new PageFetchError(
          `${current} redirects to another origin (${next.origin}); scan that site directly`,
        );
      current = next.href;
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new PageFetchError(`${current} answered HTTP ${response.status}`);
    }
    const type = response.headers.get("content-type") ?? "";
    if (!type.includes("html")) {
      await response.body?.cancel();
      throw new PageFetchError(`${current} is not an HTML page (content-type ${type || "missing"})`);
    }
    try {
      return { url: current, html: await readCapped(response, options.maxBytes) };
    } catch (error) {
      if (error instanceof PageFetchError) throw error;
      if (timeout.aborted)
        throw new PageFetchError(`${current} did not arrive in full within ${seconds(options.timeoutMs)}`);
      if (options.signal?.aborted) throw abortReason(options.signal);
      throw new PageFetchError(
        `reading ${current} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  throw new PageFetchError(`${url} redirected more than ${maxRedirects} times`);
}

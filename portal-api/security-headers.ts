import type { IncomingMessage, ServerResponse } from "node:http";
import helmet from "helmet";

/**
 * The response headers helmet sets with its defaults (Content-Security-Policy, Strict-Transport-Security,
 * X-Content-Type-Options, ...), worked out once. They do not vary by request here (no CSP nonces, no
 * per-route settings), and @fastify/helmet rebuilds helmet's middleware for every request: a fifth of what a
 * cached read allocated, measured with the `api` benchmark.
 */
export function securityHeaders(): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: unknown) {
      headers[name.toLowerCase()] = String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let done = false;
  helmet()({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
    done = true;
  });
  if (!done) throw new Error("helmet did not set its headers synchronously");
  return Object.freeze(headers);
}

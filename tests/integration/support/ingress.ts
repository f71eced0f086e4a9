import type { LookupAddress } from "node:dns";
import { request } from "node:https";
import type { LookupFunction } from "node:net";
import type { PeerCertificate, TLSSocket } from "node:tls";
import { localIngress } from "../../../tools/cluster/node/ingress.ts";

export interface IngressResponse {
  status: number;
  body: string;
  location?: string;
  certificate: PeerCertificate;
}

/** A DNS lookup that answers the ingress's address for every name (Node asks for one or for all). */
const resolveToIngress: LookupFunction = (_hostname, options, callback) => {
  const address = { address: localIngress.address, family: 4 };
  if (options.all) (callback as (error: null, addresses: LookupAddress[]) => void)(null, [address]);
  else callback(null, address.address, address.family);
};

/**
 * GET (or `options.method`) https://<host><path> at the local ingress controller, as `curl --resolve <host>:443:<node address>`
 * does: the name is sent (SNI, Host) but not looked up, and the certificate is verified against `ca`.
 */
export function getThroughIngress(
  host: string,
  path: string,
  ca: Buffer,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<IngressResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port: localIngress.httpsPort,
        path,
        ca,
        timeout: 5_000,
        lookup: resolveToIngress,
        method: options.method ?? "GET",
        headers: options.headers ?? {},
        // A connection of its own: a reused one, or a resumed TLS session, has no peer certificate to show.
        agent: false,
      },
      (res) => {
        const certificate = (res.socket as TLSSocket).getPeerCertificate();
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString("utf8"),
            ...(res.headers.location ? { location: res.headers.location } : {}),
            certificate,
          }),
        );
      },
    );
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`no answer from the ingress for ${host}${path}`)));
    req.end(options.body);
  });
}

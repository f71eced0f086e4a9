/**
 * One Ingress rule that sends everything under `path` (default `/`), on `host` when given, to a Service's
 * port: the shape of the API gateway's routes and the portal API's Ingress (an e-service's adds its
 * completed-transaction path, eservice/desired.ts).
 */
export function prefixRule(o: { host?: string; path?: string; service: string; port: number }) {
  return {
    ...(o.host ? { host: o.host } : {}),
    http: {
      paths: [
        {
          path: o.path ?? "/",
          pathType: "Prefix",
          backend: { service: { name: o.service, port: { number: o.port } } },
        },
      ],
    },
  };
}

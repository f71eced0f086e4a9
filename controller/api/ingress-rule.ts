/**
 * One Ingress rule that sends everything under `path` (default `/`), on `host` when given, to a Service's
 * port: the shape of every Ingress the platform writes (e-services, the API gateway's routes, the portal API).
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

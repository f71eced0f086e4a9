// The API gateway (issue #21): calls between departments pass through the platform's ingress controller on
// an entry point of their own, which only pods inside the cluster reach (no host port). Each call is checked
// by the controller (Traefik's forwardAuth: the caller's service-account token, its grant) and counted
// there; the provider receives the caller's identity in a header the caller cannot forge. The names below
// are shared by the controller (the Ingress it renders per ApiExport), the local cloud's Traefik
// configuration (tools/cluster/node/ingress.ts) and the portal API (the address it shows in the catalogue).

export const apiGateway = {
  /** Traefik entry point for API calls; the public entry points never serve these routes. */
  entryPoint: "apis",
  /** The entry point's port in the ingress controller's pod (the consumer's egress rule names it). */
  containerPort: 8081,
  /** The Service in the ingress controller's namespace that consumers call. */
  serviceName: "api-gateway",
  servicePort: 80,
  /** The `aud` of the projected service-account token a consumer pod presents as `Authorization: Bearer`. */
  audience: "govhost-api-gateway",
  /** Set by the gateway on every call it lets through (any value the caller sends is dropped). */
  consumerHeader: "X-Govhost-Consumer",
  grantHeader: "X-Govhost-Api-Grant",
  /** Where the controller answers the gateway's forwardAuth requests. */
  verifyPath: "/api-gateway/verify",
  /**
   * In a cluster: the Service (in the controller's namespace, no selector) whose only endpoint is the
   * leading controller replica, published by that replica (controller/api-exchange/check-endpoint.ts).
   */
  checkService: { name: "govhost-api-gateway-check", portName: "http", port: 8082 },
  /**
   * Traefik middlewares (file provider) every API route uses, in this order: ask the controller, then drop
   * the caller's token (the provider must not be able to replay it), then strip `/<namespace>/<export>`.
   */
  middlewares: { auth: "govhost-api-auth", forward: "govhost-api-forward", strip: "govhost-api-strip" },
} as const;

/**
 * The Service the ingress controller's forwardAuth asks (whether the controller runs in the cluster or on a
 * host): no selector, so it has exactly the endpoint the leading replica publishes (its pod address, or the
 * host address it answers on).
 */
export function gatewayCheckService(namespace: string) {
  const { name, portName, port } = apiGateway.checkService;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name,
      namespace,
      labels: { "app.kubernetes.io/part-of": "govhost", "app.kubernetes.io/name": name },
    },
    spec: { type: "ClusterIP", ports: [{ name: portName, port, targetPort: port }] },
  };
}

/** The URL the ingress controller's forwardAuth middleware calls: the check Service, by its cluster name. */
export function gatewayCheckUrl(namespace: string): string {
  const { name, port } = apiGateway.checkService;
  return `http://${name}.${namespace}.svc.cluster.local:${port}${apiGateway.verifyPath}`;
}

/** The Ingress annotations that put a route on Traefik entry points and through middlewares. */
export const entryPointsAnnotation = "traefik.ingress.kubernetes.io/router.entrypoints";
export const middlewaresAnnotation = "traefik.ingress.kubernetes.io/router.middlewares";

/** The middlewares annotation's value on every API route: the file provider's, in order. */
export const routeMiddlewares = Object.values(apiGateway.middlewares)
  .map((name) => `${name}@file`)
  .join(",");

/** Is this Ingress an export's route at the API gateway (in-cluster only), rather than a public endpoint? */
export function isGatewayRoute(ingress: { metadata?: { annotations?: Record<string, string> } }): boolean {
  return ingress.metadata?.annotations?.[entryPointsAnnotation] === apiGateway.entryPoint;
}

/** The path prefix under which an export is called at the gateway. */
export function gatewayPath(providerNamespace: string, exportName: string): string {
  return `/${providerNamespace}/${exportName}`;
}

/** The address a consumer's pods call for an export (cluster DNS name of the gateway). */
export function gatewayUrl(ingressNamespace: string, providerNamespace: string, exportName: string): string {
  return `http://${apiGateway.serviceName}.${ingressNamespace}.svc.cluster.local${gatewayPath(providerNamespace, exportName)}/`;
}

/** The provider namespace and export a gateway path names, if it names one. */
export function parseGatewayPath(uri: string): { namespace: string; export: string } | undefined {
  const match =
    /^\/([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)\/([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(?:[/?#]|$)/.exec(uri);
  return match ? { namespace: match[1] as string, export: match[3] as string } : undefined;
}

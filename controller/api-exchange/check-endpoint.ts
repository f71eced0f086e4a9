import type { Logger } from "pino";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { apiGateway } from "../api/api-gateway.ts";

// In a cluster the controller runs as two replicas, and only the leader answers the gateway's checks (its
// caches are the ones that are synced). Instead of a selector, the check's Service gets its one endpoint
// from the leader: on taking the lease, the replica writes this EndpointSlice with its own pod address, so
// a standby is never asked and a takeover moves the endpoint within the lease duration.

const fieldManager = "govhost-controller-api-gateway";

/** The check Service's EndpointSlice naming `address` (the leader's pod IP) on `port`. */
export function checkEndpointSlice(namespace: string, address: string, port: number): KubeObject {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: `${apiGateway.checkService.name}-leader`,
      namespace,
      labels: {
        "kubernetes.io/service-name": apiGateway.checkService.name,
        "endpointslice.kubernetes.io/managed-by": "controller.govhost.io",
        "app.kubernetes.io/part-of": "govhost",
      },
    },
    addressType: address.includes(":") ? "IPv6" : "IPv4",
    endpoints: [{ addresses: [address], conditions: { ready: true } }],
    ports: [{ name: apiGateway.checkService.portName, port, protocol: "TCP" }],
  } as KubeObject;
}

/** Writes the slice, trying again every `retryMs` until it is written or `signal` aborts. */
export async function publishCheckEndpoint(
  client: KubeClient,
  slice: KubeObject,
  log: Logger,
  signal: AbortSignal,
  retryMs = 5_000,
): Promise<void> {
  while (!signal.aborted) {
    try {
      await client.apply(slice, { fieldManager });
      log.info({ endpointSlice: slice.metadata?.name }, "API gateway checks now reach this replica");
      return;
    } catch (error) {
      log.error(
        { err: error },
        "could not publish this replica as the API gateway check's endpoint; retrying",
      );
      await new Promise((resolve) => setTimeout(resolve, retryMs));
    }
  }
}

import type { KubeObject } from "../../lib/kube/client.ts";
import { objectKey } from "../../lib/kube/informer.ts";
import { resources } from "../../lib/kube/resources.ts";
import type { ApiExport, ApiGrant, ApiGrantDecision } from "../api/api-exchange.ts";
import { apiGateway } from "../api/api-gateway.ts";
import { namespaceName } from "../api/group.ts";
import { eservicesInformer } from "../eservice/setup.ts";
import type { Manager } from "../runtime/manager.ts";
import { tenantLookup, tenantNamespaces } from "../tenancy/setup.ts";
import { checkEndpointSlice, publishCheckEndpoint } from "./check-endpoint.ts";
import { type GrantInputs, grantLabels } from "./desired.ts";
import { startGatewayServer } from "./gateway-server.ts";
import { ApiGrantReconciler, grantKeyOf } from "./reconciler.ts";
import { TokenReviewer } from "./token-review.ts";

type Grant = ApiGrant & KubeObject;

export interface ApiExchangeSettings {
  /** The ingress controller that serves as the API gateway. */
  gateway: GrantInputs["gateway"];
  /**
   * Where to answer the gateway's checks of each call; without it no call gets through the gateway. With
   * `advertise` (in a cluster: the pod's IP), the leader makes itself the check Service's endpoint.
   */
  check?: { host: string; port: number; advertise?: { namespace: string; address: string } };
}

/**
 * API exchange: each ApiGrant opens (or closes) the path to the ApiExport it asks for, following the
 * provider admin's ApiGrantDecision and the grant's expiry. A change to an export, a decision, the provider's
 * e-service or one of the grant's own NetworkPolicies looks at the grants concerned again. While leading,
 * the controller also answers the gateway's check of every call, and counts it (gateway-server.ts).
 */
export function setupApiExchange(manager: Manager, settings: ApiExchangeSettings): void {
  const grants = manager.informer<Grant>(resources.apiGrant, { phase: 1 });
  const exports = manager.informer<ApiExport & KubeObject>(resources.apiExport, { phase: 1 });
  const decisions = manager.informer<ApiGrantDecision & KubeObject>(resources.apiGrantDecision, { phase: 1 });
  const eservices = eservicesInformer(manager);
  const policies = manager.informer<KubeObject>(resources.networkPolicy, {
    labelSelector: grantLabels.grant,
    phase: 1,
  });
  const reconciler = new ApiGrantReconciler({
    client: manager.client,
    status: manager.status,
    lookup: {
      tenantOf: tenantLookup(tenantNamespaces(manager)),
      exportOf: (namespace, name) => exports.get(`${namespace}/${name}`),
      eserviceOf: (namespace, name) => eservices.get(`${namespace}/${name}`),
      decisionsIn: (namespace) => decisions.list().filter((d) => d.metadata.namespace === namespace),
      policiesOf: (namespace, grant) =>
        policies.list().filter((p) => grantKeyOf(p) === `${namespace}/${grant}`),
    },
    gateway: settings.gateway,
  });
  const queue = manager.controller({
    name: "apigrant",
    kind: "ApiGrant",
    reconcile: (key) => reconciler.reconcile(key),
    // Grants, and any policy left behind by a grant deleted while no replica was leading.
    resyncKeys: () =>
      new Set([...grants.list().map(objectKey), ...policies.list().flatMap((p) => grantKeyOf(p) ?? [])]),
  });
  const providerNamespaceOf = (grant: Grant) =>
    namespaceName(grant.spec.export.department, grant.spec.export.environment);
  /** Every grant asking for something in `namespace` (optionally: for export `name` only). */
  const grantsInto = (namespace: string, exportName?: string) => {
    for (const grant of grants.list())
      if (
        providerNamespaceOf(grant) === namespace &&
        (exportName === undefined || grant.spec.export.name === exportName)
      )
        queue.add(objectKey(grant));
  };
  manager.watch(grants, (_event, grant) => queue.add(objectKey(grant)));
  manager.watch(decisions, (_event, decision) =>
    queue.add(`${decision.spec.grant.namespace}/${decision.spec.grant.name}`),
  );
  manager.watch(exports, (_event, apiExport) =>
    grantsInto(apiExport.metadata.namespace as string, apiExport.metadata.name),
  );
  manager.watch(eservices, (_event, es) => grantsInto(es.metadata?.namespace as string));
  manager.watch(policies, (_event, policy) => {
    const key = grantKeyOf(policy);
    if (key) queue.add(key);
  });
  const { check } = settings;
  if (check)
    manager.runnable((signal) => {
      startGatewayServer({
        ...check,
        client: manager.client,
        reviewer: new TokenReviewer({ client: manager.client, audience: apiGateway.audience }),
        grantsIn: (namespace) => grants.list().filter((g) => g.metadata.namespace === namespace),
        registry: manager.metrics.registry,
        log: manager.log,
      }).then(
        (server) => {
          manager.log.info({ address: `http://${check.host}:${check.port}` }, "API gateway checks listening");
          signal.addEventListener("abort", () => server.close(), { once: true });
          if (check.advertise) {
            const slice = checkEndpointSlice(check.advertise.namespace, check.advertise.address, check.port);
            void publishCheckEndpoint(manager.client, slice, manager.log, signal);
          }
        },
        (error: unknown) => manager.log.error({ err: error }, "API gateway checks could not listen"),
      );
    });
}

import { KubeApiError, type KubeClient, type KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import type { ApiExport, ApiGrant, ApiGrantDecision } from "../api/api-exchange.ts";
import { statusOwners } from "../api/conditions.ts";
import type { EService } from "../api/eservice.ts";
import type { Tenant } from "../api/eservice-workload.ts";
import { fieldManager, namespaceName } from "../api/group.ts";
import type { StatusWriter } from "../runtime/status-writer.ts";
import type { ReconcileResult } from "../runtime/workqueue.ts";
import { desiredGrant, type GrantInputs, grantLabels } from "./desired.ts";

type Grant = ApiGrant & KubeObject;

/** How soon a grant whose route was refused is looked at again. */
const routeRetryMs = 60_000;

/** setTimeout's ceiling: a grant that expires later is looked at again after this long. */
const maxRequeueMs = 2_147_000_000;

/**
 * Reconciles one ApiGrant (key `<consumer namespace>/<name>`): works out what it should open (desired.ts),
 * applies the export's route at the gateway and the grant's NetworkPolicy, deletes any other policy opened
 * for it, reports the phase, and looks again when it expires. A grant that is gone has its policies deleted
 * too.
 */
export class ApiGrantReconciler {
  private readonly client: KubeClient;
  private readonly status: StatusWriter;
  private readonly lookup: {
    tenantOf: (namespace: string) => Tenant | undefined;
    exportOf: (namespace: string, name: string) => (ApiExport & KubeObject) | undefined;
    eserviceOf: (namespace: string, name: string) => (EService & KubeObject) | undefined;
    decisionsIn: (namespace: string) => ApiGrantDecision[];
    /** The NetworkPolicies opened for a grant, wherever they are. */
    policiesOf: (consumerNamespace: string, grant: string) => KubeObject[];
  };
  private readonly gateway: GrantInputs["gateway"];
  private readonly now: () => Date;

  constructor(options: {
    client: KubeClient;
    status: StatusWriter;
    lookup: ApiGrantReconciler["lookup"];
    gateway: GrantInputs["gateway"];
    now?: () => Date;
  }) {
    this.client = options.client;
    this.status = options.status;
    this.lookup = options.lookup;
    this.gateway = options.gateway;
    this.now = options.now ?? (() => new Date());
  }

  async reconcile(key: string): Promise<ReconcileResult | undefined> {
    const [namespace, name] = key.split("/") as [string, string];
    const grant = await this.client.find<Grant>(resources.apiGrant, name, namespace);
    if (!grant || grant.metadata.deletionTimestamp) {
      await this.deleteAll(this.lookup.policiesOf(namespace, name), []);
      return undefined;
    }
    const wanted = grant.spec.export;
    const providerNamespace = namespaceName(wanted.department, wanted.environment);
    const apiExport = this.lookup.exportOf(providerNamespace, wanted.name);
    let outcome = desiredGrant({
      grant,
      consumer: this.lookup.tenantOf(namespace),
      export: apiExport,
      eservice: apiExport ? this.lookup.eserviceOf(providerNamespace, apiExport.spec.eservice) : undefined,
      decisions: this.lookup.decisionsIn(providerNamespace),
      gateway: this.gateway,
      now: this.now(),
    });
    // The export's route stays while the export does (it is the export's child, shared by its grants); a
    // caller without an active grant is refused at the gateway and cannot reach it anyway.
    if (outcome.route) {
      try {
        await this.client.apply(outcome.route, { fieldManager });
      } catch (error) {
        // Refused by the API server (the department's Ingress quota, say): nothing opens, and the grant says
        // why; looked at again in a minute.
        if (!(error instanceof KubeApiError) || ![403, 422].includes(error.code)) throw error;
        outcome = {
          ...outcome,
          phase: "Pending",
          ready: {
            type: "Ready",
            status: "False",
            reason: "GatewayRouteRefused",
            message: `Approved by ${outcome.decidedBy}, but the export's route at the API gateway was refused in ${providerNamespace}: ${error.message}`,
          },
          policies: [],
          route: undefined,
          expiresInMs: routeRetryMs,
        };
      }
    }
    for (const policy of outcome.policies) await this.client.apply(policy, { fieldManager });
    await this.deleteAll(this.lookup.policiesOf(namespace, name), outcome.policies);
    await this.status.write(statusOwners.apiGrant, grant, {
      fields: { phase: outcome.phase, decidedBy: outcome.decidedBy, provider: outcome.provider },
      conditions: [outcome.ready],
    });
    return outcome.expiresInMs !== undefined
      ? { requeueAfterMs: Math.min(outcome.expiresInMs + 1_000, maxRequeueMs) }
      : undefined;
  }

  /** Deletes the grant's policies that are not among `keep` (by namespace and name). */
  private async deleteAll(existing: KubeObject[], keep: KubeObject[]): Promise<void> {
    const kept = new Set(keep.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`));
    for (const policy of existing) {
      const { name, namespace } = policy.metadata ?? {};
      if (!name || kept.has(`${namespace}/${name}`)) continue;
      await this.client.delete(resources.networkPolicy, name, namespace);
    }
  }
}

/** The grant a policy was opened for, as a queue key (from its labels). */
export function grantKeyOf(policy: KubeObject): string | undefined {
  const labels = policy.metadata?.labels ?? {};
  const namespace = labels[grantLabels.consumer];
  const grant = labels[grantLabels.grant];
  return namespace && grant ? `${namespace}/${grant}` : undefined;
}

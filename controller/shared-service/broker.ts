import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import type { InstanceCondition } from "../api/conditions.ts";
import { controllerIdentity } from "../api/rbac.ts";
import type {
  SharedService,
  SharedServiceInstance,
  SharedServiceInstanceStatus,
} from "../api/shared-service.ts";
import type { Plan } from "./desired.ts";
import {
  type BrokerEndpoint,
  BrokerError,
  BrokerUnreachable,
  defaultBrokerTimeoutMs,
  OsbClient,
} from "./osb-client.ts";

// Broker-backed instances: the catalogue entry points at an Open Service Broker, and the instance follows
// the broker's asynchronous operations (provision, plan update, deprovision) by polling last_operation,
// one step per reconcile. Restart-safe: the operation in flight is kept in status.broker.

type InstanceObject = SharedServiceInstance & KubeObject;
type BrokerStatus = NonNullable<SharedServiceInstanceStatus["broker"]>;

export interface BrokerStep {
  broker: BrokerStatus;
  phase: string;
  condition: InstanceCondition;
  /** Credentials to hand out once the broker has bound the instance. */
  credentials?: Record<string, string>;
  requeueAfterMs?: number;
}

export const pollMs = 2_000;

export class BrokerProvisioner {
  private readonly client: KubeClient;
  private readonly timeoutMs: number;
  /**
   * Brokers that did not answer, by URL, with when they may be called again: meanwhile their instances are
   * told so at once, so a hanging broker holds at most one of the controller's workers at a time and the
   * instances of other services (and every other controller) go on.
   */
  private readonly unreachable = new Map<string, { until: number; error: BrokerUnreachable }>();

  constructor(client: KubeClient, options: { timeoutMs?: number | undefined } = {}) {
    this.client = client;
    this.timeoutMs = options.timeoutMs ?? defaultBrokerTimeoutMs;
  }

  /** How long an instance waits before its broker is asked again after a failure (see above). */
  get retryMs(): number {
    return 2 * this.timeoutMs;
  }

  /**
   * Runs `work` with a client for the service's broker, unless that broker is being left alone after not
   * answering; a broker that does not answer now is left alone for `retryMs`.
   */
  private async withBroker<T>(service: SharedService, work: (osb: OsbClient) => Promise<T>): Promise<T> {
    const endpoint = await this.endpoint(service);
    const held = this.unreachable.get(endpoint.url);
    if (held && held.until > Date.now())
      throw new BrokerUnreachable(
        `${held.error.message}; it is asked again after ${new Date(held.until).toISOString()}`,
      );
    this.unreachable.delete(endpoint.url);
    try {
      return await work(new OsbClient(endpoint, { timeoutMs: this.timeoutMs }));
    } catch (error) {
      if (error instanceof BrokerUnreachable)
        this.unreachable.set(endpoint.url, { until: Date.now() + this.retryMs, error });
      throw error;
    }
  }

  private async endpoint(service: SharedService): Promise<BrokerEndpoint> {
    const broker = service.spec.provisioning.broker;
    if (!broker) throw new Error(`${service.metadata.name} has no broker`);
    if (!broker.credentialsSecret) return { url: broker.url };
    const secret = await this.client.get<KubeObject & { data?: Record<string, string> }>(
      resources.secret,
      broker.credentialsSecret,
      controllerIdentity.namespace,
    );
    const decode = (key: string) => Buffer.from(secret.data?.[key] ?? "", "base64").toString();
    return { url: broker.url, username: decode("username"), password: decode("password") };
  }

  private ids(service: SharedService, plan: Plan) {
    return {
      serviceId: service.spec.provisioning.broker?.serviceId ?? "",
      planId: plan.brokerPlanId ?? plan.name,
    };
  }

  /** One step towards the instance existing at the broker on `plan`, and bound. */
  async step(
    instance: InstanceObject,
    service: SharedService,
    plan: Plan,
    department: string,
  ): Promise<BrokerStep> {
    return this.withBroker(service, (osb) => this.stepWith(osb, instance, service, plan, department));
  }

  private async stepWith(
    osb: OsbClient,
    instance: InstanceObject,
    service: SharedService,
    plan: Plan,
    department: string,
  ): Promise<BrokerStep> {
    const id = instance.metadata.uid as string;
    const state: BrokerStatus = { ...instance.status?.broker };
    const waiting = (what: string): BrokerStep => ({
      broker: state,
      phase: what === "provision" ? "Provisioning" : "Updating",
      condition: {
        type: "Ready",
        status: "False",
        reason: "BrokerOperationInProgress",
        message: `The broker is working on the ${what}`,
      },
      requeueAfterMs: pollMs,
    });

    if (state.operationKind === "provision" || state.operationKind === "update") {
      const last = await osb.lastOperation(id, state.operation);
      if (last.state === "in progress") return waiting(state.operationKind);
      const kind = state.operationKind;
      const target = state.targetPlan;
      delete state.operation;
      delete state.operationKind;
      delete state.targetPlan;
      if (last.state === "failed")
        return {
          broker: state,
          phase: "Failed",
          condition: {
            type: "Ready",
            status: "False",
            reason: kind === "provision" ? "ProvisionFailed" : "UpdateFailed",
            message: `The broker's ${kind} failed: ${last.description ?? "no description"}`,
          },
        };
      if (target) state.plan = target;
    }

    const ids = this.ids(service, plan);
    if (!state.plan) {
      const context = { department, namespace: instance.metadata.namespace as string };
      const result = await osb.provision(id, { ...ids, context, parameters: instance.spec.parameters });
      if (!result.done) {
        Object.assign(state, {
          operationKind: "provision",
          targetPlan: plan.name,
          ...(result.operation ? { operation: result.operation } : {}),
        });
        return waiting("provision");
      }
      state.plan = plan.name;
    } else if (state.plan !== plan.name) {
      const result = await osb.update(id, ids);
      if (!result.done) {
        Object.assign(state, {
          operationKind: "update",
          targetPlan: plan.name,
          ...(result.operation ? { operation: result.operation } : {}),
        });
        return waiting("update");
      }
      state.plan = plan.name;
    }

    let credentials: Record<string, string> | undefined;
    if (!state.bound) {
      credentials = await this.bindAfresh(osb, id, ids);
      state.bound = true;
    }
    return {
      broker: state,
      phase: "Ready",
      condition: {
        type: "Ready",
        status: "True",
        reason: "Provisioned",
        message: `${service.spec.displayName.en}, plan ${plan.name}, provisioned by its service broker`,
      },
      ...(credentials ? { credentials } : {}),
    };
  }

  /**
   * Binds; a binding the broker already has (409: an earlier bind whose credentials were lost because the
   * Secret could not be written, or the status not saved) is unbound and made again, so the credentials
   * the broker honours are always the ones written to the Secret. A 200 for an identical binding returns
   * its credentials as well.
   */
  private async bindAfresh(osb: OsbClient, id: string, ids: { serviceId: string; planId: string }) {
    try {
      return await osb.bind(id, id, ids);
    } catch (error) {
      if (!(error instanceof BrokerError) || error.status !== 409) throw error;
      await osb.unbind(id, id, ids);
      return osb.bind(id, id, ids);
    }
  }

  /** One step of deprovisioning (unbind, then deprovision and wait); true once the broker has let go. */
  async release(
    instance: InstanceObject,
    service: SharedService,
    plan: Plan,
  ): Promise<{ done: boolean; broker: BrokerStatus }> {
    return this.withBroker(service, (osb) => this.releaseWith(osb, instance, plan, service));
  }

  private async releaseWith(
    osb: OsbClient,
    instance: InstanceObject,
    plan: Plan,
    service: SharedService,
  ): Promise<{ done: boolean; broker: BrokerStatus }> {
    const id = instance.metadata.uid as string;
    const state: BrokerStatus = { ...instance.status?.broker };
    const ids = this.ids(service, plan);
    if (state.operationKind === "deprovision") {
      const last = await osb.lastOperation(id, state.operation);
      if (last.state === "failed")
        throw new Error(`the broker's deprovision failed: ${last.description ?? "no description"}`);
      return { done: last.state === "succeeded", broker: state };
    }
    if (!state.plan && !state.operationKind) return { done: true, broker: state };
    if (state.bound) {
      await osb.unbind(id, id, ids);
      state.bound = false;
    }
    const result = await osb.deprovision(id, ids);
    if (result.done) return { done: true, broker: state };
    Object.assign(state, {
      operationKind: "deprovision",
      ...(result.operation ? { operation: result.operation } : {}),
    });
    return { done: false, broker: state };
  }
}

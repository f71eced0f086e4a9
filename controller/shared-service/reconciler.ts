import { randomBytes } from "node:crypto";
import { isAdmissionRefusal, isConflict, type KubeClient, type KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { type InstanceCondition, statusOwners } from "../api/conditions.ts";
import type { Tenant } from "../api/eservice-workload.ts";
import { controllerReference, fieldManager } from "../api/group.ts";
import type {
  SharedService,
  SharedServiceInstance,
  SharedServiceInstanceStatus,
} from "../api/shared-service.ts";
import { applyChild, invalidChildMessage, RefusedChild } from "../runtime/invalid-child.ts";
import { type DeploymentStatus, rolloutAvailability } from "../runtime/rollout.ts";
import type { StatusWriter } from "../runtime/status-writer.ts";
import type { ReconcileResult } from "../runtime/workqueue.ts";
import { BrokerProvisioner, pollMs } from "./broker.ts";
import { type Plan, renderInstance } from "./desired.ts";
import { BrokerError, BrokerUnreachable } from "./osb-client.ts";

const availabilityPollMs = 15_000;

type InstanceObject = SharedServiceInstance & KubeObject;

export const brokerFinalizer = "govhost.io/broker-deprovision";

/** The plan history with `plan` appended when it is new: what metering bills (see allocations.ts). */
function withPlan(instance: InstanceObject, plan: Plan) {
  const history = instance.status?.planHistory ?? [];
  if (history.at(-1)?.plan === plan.name) return history;
  return [
    ...history,
    {
      plan: plan.name,
      // The first plan counts from the subscription itself; a change from when it is put in place.
      since: history.length
        ? new Date().toISOString().replace(/\.\d+Z$/, "Z")
        : (instance.metadata.creationTimestamp as string),
      priceMinorPerMonth: plan.priceMinorPerMonth,
    },
  ].slice(-100);
}

/**
 * Reconciles a department's subscription to a shared service: looks up the catalogue entry and plan,
 * renders the workload into the instance's namespace, and hands out a binding Secret. Plan changes re-render;
 * deleting the instance removes everything it owns (garbage collection), unless admission refuses the
 * deletion (records under retention or legal hold, rule GH-REC-001).
 */
export class SharedServiceInstanceReconciler {
  private readonly client: KubeClient;
  private readonly tenantOf: (namespace: string) => Tenant | undefined;
  private readonly serviceOf: (name: string) => SharedService | undefined;
  private readonly broker: BrokerProvisioner;
  private readonly status: StatusWriter;

  constructor(options: {
    client: KubeClient;
    tenantOf: (namespace: string) => Tenant | undefined;
    serviceOf: (name: string) => SharedService | undefined;
    status: StatusWriter;
    brokerTimeoutMs?: number;
  }) {
    this.status = options.status;
    this.client = options.client;
    this.tenantOf = options.tenantOf;
    this.serviceOf = options.serviceOf;
    this.broker = new BrokerProvisioner(options.client, { timeoutMs: options.brokerTimeoutMs });
  }

  async reconcile(key: string): Promise<ReconcileResult | undefined> {
    const [namespace, name] = key.split("/") as [string, string];
    const instance = await this.client.find<InstanceObject>(resources.sharedServiceInstance, name, namespace);
    if (!instance) return undefined;
    if (instance.metadata.deletionTimestamp) return this.finalize(instance);
    const notReady = (reason: Extract<InstanceCondition, { type: "Ready" }>["reason"], message: string) =>
      this.writeStatus(instance, {
        phase: "Failed",
        conditions: [{ type: "Ready", status: "False", reason, message }],
      });

    const tenant = this.tenantOf(namespace);
    if (!tenant) {
      await notReady("NotATenantNamespace", `Namespace ${namespace} does not belong to a department`);
      return undefined;
    }
    const service = this.serviceOf(instance.spec.service);
    if (!service) {
      await notReady(
        "UnknownService",
        `There is no shared service ${instance.spec.service} in the catalogue`,
      );
      return undefined;
    }
    const plan = service.spec.plans.find((p) => p.name === instance.spec.plan);
    if (!plan) {
      await notReady(
        "UnknownPlan",
        `${instance.spec.service} has no plan ${instance.spec.plan}; plans: ${service.spec.plans.map((p) => p.name).join(", ")}`,
      );
      return undefined;
    }
    if (service.spec.provisioning.method === "broker")
      return this.provisionAtBroker(instance, service, plan, tenant.department);

    const children = renderInstance(instance, service, plan, tenant);
    const conditions: InstanceCondition[] = [];
    let rollout: ReturnType<typeof rolloutAvailability> | undefined;
    const apply = (child: KubeObject) => this.client.apply(child, { fieldManager });
    try {
      await applyChild(children.config, apply);
      // The volume's refusals are reported as StorageSized below, not as a refused child.
      try {
        await apply(children.volume);
        conditions.push({
          type: "StorageSized",
          status: "True",
          reason: "AsPlanned",
          message: `${plan.limits.storage} requested`,
        });
      } catch (error) {
        // A claim can only grow where its storage class allows expansion; report it and carry on.
        if (!isAdmissionRefusal(error)) throw error;
        conditions.push({
          type: "StorageSized",
          status: "False",
          reason: "ResizeRefused",
          message: `The volume could not be resized to ${plan.limits.storage}: ${error.message}`,
        });
      }
      const deployment = await applyChild(children.deployment, apply);
      rollout = rolloutAvailability(
        (children.deployment.spec as { replicas: number }).replicas,
        (deployment as { status?: DeploymentStatus }).status,
      );
      conditions.push({
        type: "Available",
        status: rollout.serving ? "True" : "False",
        reason: rollout.reason,
        message: rollout.message,
      });
      await applyChild(children.service, apply);
    } catch (error) {
      if (!(error instanceof RefusedChild)) throw error;
      if (error.byPolicy) {
        await notReady("RefusedByAdmission", error.message);
        return undefined;
      }
      // A child's own validation refused it: most often a hand edit that, merged with what the platform
      // applies, is invalid. Deleting the child is the fix; a later reconcile then creates it again.
      await notReady(
        "ChildInvalid",
        invalidChildMessage(
          "shared-service instance",
          error,
          "tell the platform team (the catalogue entry renders it)",
        ),
      );
      return { requeueAfterMs: availabilityPollMs };
    }
    await this.ensureBindingSecret(instance, children.bindingSecretName, {
      url: children.url,
      username: `svc-${instance.metadata.name}`,
      password: randomBytes(24).toString("base64url"),
    });
    await this.writeStatus(instance, {
      phase: "Ready",
      plan: plan.name,
      planHistory: withPlan(instance, plan),
      url: children.url,
      bindingSecret: children.bindingSecretName,
      conditions: [
        ...conditions,
        {
          type: "Ready",
          status: "True",
          reason: "Provisioned",
          message: `${service.spec.displayName.en}, plan ${plan.name}, rendered into ${instance.metadata.namespace}; credentials in Secret ${children.bindingSecretName}`,
        },
      ],
    });
    // Its Deployment's status changes re-run this (setup.ts); the poll only backs that up.
    return rollout?.serving === false ? { requeueAfterMs: availabilityPollMs } : undefined;
  }

  /** A broker-backed instance: one step of the broker's work per reconcile (see broker.ts). */
  private async provisionAtBroker(
    instance: InstanceObject,
    service: SharedService,
    plan: Plan,
    department: string,
  ): Promise<ReconcileResult | undefined> {
    if (!instance.metadata.finalizers?.includes(brokerFinalizer)) {
      await this.client.mergePatch(
        resources.sharedServiceInstance,
        instance.metadata.name as string,
        {
          metadata: {
            finalizers: [...(instance.metadata.finalizers ?? []), brokerFinalizer],
            resourceVersion: instance.metadata.resourceVersion,
          },
        },
        { namespace: instance.metadata.namespace },
      );
      return { requeueAfterMs: 0 };
    }
    let step: Awaited<ReturnType<BrokerProvisioner["step"]>>;
    try {
      step = await this.broker.step(instance, service, plan, department);
    } catch (error) {
      if (!(error instanceof BrokerError)) throw error;
      return this.brokerTrouble(instance, instance.status?.phase ?? "Provisioning", error);
    }
    const bindingSecret = `${instance.metadata.name}-binding`;
    if (step.credentials) await this.ensureBindingSecret(instance, bindingSecret, step.credentials);
    const confirmed = step.broker.plan
      ? service.spec.plans.find((p) => p.name === step.broker.plan)
      : undefined;
    await this.writeStatus(instance, {
      phase: step.phase,
      broker: step.broker,
      ...(confirmed ? { plan: confirmed.name, planHistory: withPlan(instance, confirmed) } : {}),
      ...(step.broker.bound ? { bindingSecret } : {}),
      conditions: [step.condition],
    });
    return step.requeueAfterMs ? { requeueAfterMs: step.requeueAfterMs } : undefined;
  }

  /**
   * A broker that did not answer, or answered what the API does not allow (not JSON, an error status, an
   * unknown operation state): the instance says so, keeps what the broker last confirmed, and its broker is
   * asked again later, as a reconcile that succeeded (no fast retries against a broker in trouble).
   */
  private async brokerTrouble(
    instance: InstanceObject,
    phase: string,
    error: BrokerError,
  ): Promise<ReconcileResult> {
    await this.writeStatus(instance, {
      phase,
      conditions: [
        {
          type: "Ready",
          status: "False",
          reason: error instanceof BrokerUnreachable ? "BrokerUnreachable" : "BrokerFault",
          message: error.message,
        },
      ],
    });
    return { requeueAfterMs: this.broker.retryMs };
  }

  /** Deletion: a broker-backed instance is released at the broker before its finalizer goes. */
  private async finalize(instance: InstanceObject): Promise<ReconcileResult | undefined> {
    if (!instance.metadata.finalizers?.includes(brokerFinalizer)) return undefined;
    const service = this.serviceOf(instance.spec.service);
    const plan = service?.spec.plans.find(
      (p) => p.name === (instance.status?.broker?.plan ?? instance.spec.plan),
    );
    if (service && plan) {
      let released: Awaited<ReturnType<BrokerProvisioner["release"]>>;
      try {
        released = await this.broker.release(instance, service, plan);
      } catch (error) {
        if (!(error instanceof BrokerError)) throw error;
        return this.brokerTrouble(instance, "Deprovisioning", error);
      }
      if (!released.done) {
        await this.writeStatus(instance, {
          phase: "Deprovisioning",
          broker: released.broker,
          conditions: [
            {
              type: "Ready",
              status: "False",
              reason: "Deprovisioning",
              message: "The broker is deprovisioning the instance",
            },
          ],
        });
        return { requeueAfterMs: pollMs };
      }
    }
    await this.client.mergePatch(
      resources.sharedServiceInstance,
      instance.metadata.name as string,
      {
        metadata: {
          finalizers: (instance.metadata.finalizers ?? []).filter((f) => f !== brokerFinalizer),
          resourceVersion: instance.metadata.resourceVersion,
        },
      },
      { namespace: instance.metadata.namespace },
    );
    return undefined;
  }

  /** The credentials e-services use: created once, never rewritten or read back. */
  private async ensureBindingSecret(
    instance: InstanceObject,
    name: string,
    data: Record<string, string>,
  ): Promise<void> {
    try {
      await this.client.create({
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name,
          namespace: instance.metadata.namespace,
          labels: { "govhost.io/shared-service-instance": instance.metadata.name as string },
          ownerReferences: [controllerReference("SharedServiceInstance", instance)],
        },
        type: "Opaque",
        stringData: data,
      });
    } catch (error) {
      if (!(isConflict(error) || (error instanceof Error && /already exists/.test(error.message))))
        throw error;
    }
  }

  private async writeStatus(
    instance: InstanceObject,
    update: { conditions: InstanceCondition[] } & Omit<
      SharedServiceInstanceStatus,
      "conditions" | "observedGeneration"
    >,
  ): Promise<void> {
    const { conditions, ...fields } = update;
    await this.status.write(statusOwners.sharedServiceInstance, instance, { fields, conditions });
  }
}

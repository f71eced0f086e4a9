import { randomBytes } from "node:crypto";
import { fieldManager } from "../api/group.ts";
import type {
  SharedService,
  SharedServiceInstance,
  SharedServiceInstanceStatus,
} from "../api/shared-service.ts";
import type { Tenant } from "../eservice/desired.ts";
import { type ConditionInput, mergeConditions } from "../runtime/conditions.ts";
import { isAdmissionRefusal, isConflict, type KubeClient, type KubeObject } from "../runtime/kube-client.ts";
import { resources } from "../runtime/resources.ts";
import { stableJson } from "../runtime/stable-json.ts";
import type { ReconcileResult } from "../runtime/workqueue.ts";
import { renderInstance } from "./desired.ts";

type InstanceObject = SharedServiceInstance & KubeObject;

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

  constructor(options: {
    client: KubeClient;
    tenantOf: (namespace: string) => Tenant | undefined;
    serviceOf: (name: string) => SharedService | undefined;
  }) {
    this.client = options.client;
    this.tenantOf = options.tenantOf;
    this.serviceOf = options.serviceOf;
  }

  async reconcile(key: string): Promise<ReconcileResult | undefined> {
    const [namespace, name] = key.split("/") as [string, string];
    const instance = await this.client.find<InstanceObject>(resources.sharedServiceInstance, name, namespace);
    if (!instance || instance.metadata.deletionTimestamp) return undefined;
    const notReady = (reason: string, message: string) =>
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
    if (service.spec.provisioning.method !== "rendered") {
      await notReady(
        "BrokerNotSupported",
        "Open Service Broker provisioning is not available yet on this platform",
      );
      return undefined;
    }

    const children = renderInstance(instance, service, plan, tenant);
    const conditions: ConditionInput[] = [];
    try {
      await this.client.apply(children.config, { fieldManager });
      try {
        await this.client.apply(children.volume, { fieldManager });
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
      await this.client.apply(children.deployment, { fieldManager });
      await this.client.apply(children.service, { fieldManager });
    } catch (error) {
      if (!isAdmissionRefusal(error)) throw error;
      await notReady("RefusedByAdmission", error.message);
      return undefined;
    }
    await this.ensureBindingSecret(instance, children.bindingSecretName, children.url);
    const history = instance.status?.planHistory ?? [];
    const planHistory =
      history.at(-1)?.plan === plan.name
        ? history
        : [
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
    await this.writeStatus(instance, {
      phase: "Ready",
      plan: plan.name,
      planHistory,
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
    return undefined;
  }

  /** The credentials e-services use: created once with a random password, never rewritten or read back. */
  private async ensureBindingSecret(instance: InstanceObject, name: string, url: string): Promise<void> {
    try {
      await this.client.create({
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name,
          namespace: instance.metadata.namespace,
          labels: { "govhost.io/shared-service-instance": instance.metadata.name as string },
          ownerReferences: [
            {
              apiVersion: instance.apiVersion,
              kind: "SharedServiceInstance",
              name: instance.metadata.name,
              uid: instance.metadata.uid,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        type: "Opaque",
        stringData: {
          url,
          username: `svc-${instance.metadata.name}`,
          password: randomBytes(24).toString("base64url"),
        },
      });
    } catch (error) {
      if (!(isConflict(error) || (error instanceof Error && /already exists/.test(error.message))))
        throw error;
    }
  }

  private async writeStatus(
    instance: InstanceObject,
    update: { conditions: ConditionInput[] } & Omit<
      SharedServiceInstanceStatus,
      "conditions" | "observedGeneration"
    >,
  ): Promise<void> {
    const current = instance.status ?? {};
    const next: SharedServiceInstanceStatus = {
      ...current,
      ...update,
      observedGeneration: instance.metadata.generation,
      conditions: mergeConditions(
        current.conditions,
        update.conditions,
        instance.metadata.generation,
        new Date(),
      ),
    };
    if (stableJson(next) === stableJson(current)) return;
    await this.client.apply(
      {
        apiVersion: instance.apiVersion,
        kind: instance.kind,
        metadata: { name: instance.metadata.name, namespace: instance.metadata.namespace },
        status: next,
      },
      { fieldManager, subresource: "status" },
    );
  }
}

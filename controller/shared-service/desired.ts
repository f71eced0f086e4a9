import type { KubeObject } from "../../lib/kube/client.ts";
import { tenantDeclared } from "../../policies/keys.ts";
import type { Tenant } from "../api/eservice-workload.ts";
import { controllerReference } from "../api/group.ts";
import type { SharedService, SharedServiceInstance } from "../api/shared-service.ts";
import { childLabels } from "../tenancy/desired.ts";

// What a rendered shared-service instance owns in the department namespace, as a pure function of the
// instance, the catalogue entry and its plan: a bounded, policy-compliant workload that quota and metering
// treat like any other. The binding Secret is not here: its password is generated once (reconciler.ts).

/** The label on every object rendered for an instance (and its pods' selector): the instance's name. */
export const instanceLabel = "govhost.io/shared-service-instance";

export type Plan = SharedService["spec"]["plans"][number];

export interface InstanceChildren {
  deployment: KubeObject;
  service: KubeObject;
  volume: KubeObject;
  config: KubeObject;
  url: string;
  bindingSecretName: string;
}

export function renderInstance(
  instance: SharedServiceInstance,
  service: SharedService,
  plan: Plan,
  tenant: Tenant,
): InstanceChildren {
  const name = instance.metadata.name as string;
  const namespace = instance.metadata.namespace as string;
  const selector = { [instanceLabel]: name };
  const meta = (objectName: string) => ({
    name: objectName,
    namespace,
    labels: {
      ...selector,
      "govhost.io/shared-service": service.metadata.name as string,
      ...childLabels(tenant.department, tenant.environment),
    },
    ownerReferences: [controllerReference("SharedServiceInstance", instance)],
  });
  const { limits } = plan;
  const parameters = instance.spec.parameters ?? {};
  const seats = Math.min(parameters.seats ?? limits.seats ?? 1, limits.seats ?? Number.MAX_SAFE_INTEGER);
  const configData: Record<string, string> = {
    service: service.metadata.name as string,
    plan: plan.name,
    ...(limits.seats ? { seats: String(seats) } : {}),
    ...(parameters.filePlan ? { "file-plan.json": JSON.stringify(parameters.filePlan) } : {}),
    ...(parameters.retentionSchedules
      ? { "retention-schedules.json": JSON.stringify(parameters.retentionSchedules) }
      : {}),
  };
  const deploymentMeta = meta(name);
  return {
    deployment: {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: deploymentMeta,
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        strategy: { type: "Recreate" }, // one writer of the data volume
        template: {
          metadata: {
            labels: { ...deploymentMeta.labels, [tenantDeclared.dataClassification]: "UNCLASSIFIED" },
          },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
            containers: [
              {
                name: "service",
                image: service.spec.provisioning.image,
                imagePullPolicy: "Always",
                ports: [{ name: "http", containerPort: 8080 }],
                envFrom: [{ configMapRef: { name: `${name}-config` } }],
                resources: {
                  requests: { cpu: limits.cpu, memory: limits.memory },
                  limits: { cpu: limits.cpu, memory: limits.memory },
                },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  runAsNonRoot: true,
                  capabilities: { drop: ["ALL"] },
                },
                volumeMounts: [
                  { name: "data", mountPath: "/var/lib/service" },
                  { name: "tmp", mountPath: "/tmp" },
                ],
              },
            ],
            volumes: [
              { name: "data", persistentVolumeClaim: { claimName: `${name}-data` } },
              { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
            ],
          },
        },
      },
    },
    service: {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(name),
      spec: { type: "ClusterIP", selector, ports: [{ name: "http", port: 80, targetPort: "http" }] },
    },
    volume: {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: meta(`${name}-data`),
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: limits.storage } } },
    },
    config: { apiVersion: "v1", kind: "ConfigMap", metadata: meta(`${name}-config`), data: configData },
    url: `http://${name}.${namespace}.svc`,
    bindingSecretName: `${name}-binding`,
  };
}

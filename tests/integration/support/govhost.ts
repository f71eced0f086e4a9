import { inject } from "vitest";
import type { Department, DepartmentSpec } from "../../../controller/api/department.ts";
import {
  type Impersonation,
  KubeApiError,
  KubeClient,
  type KubeObject,
} from "../../../controller/runtime/kube-client.ts";
import { resources } from "../../../controller/runtime/resources.ts";
import { kubeConfigFrom } from "../../../tools/cluster/credentials.ts";
import { eventually } from "./kube.ts";

export type DepartmentObject = Department & KubeObject;

/** The run's admin (system:masters), or the admin impersonating `as` so RBAC applies to that identity. */
export function client(as?: Impersonation): Promise<KubeClient> {
  return KubeClient.fromKubeConfig(kubeConfigFrom(inject("kubeconfig")), as);
}

export function departmentManifest(name: string, spec: Partial<DepartmentSpec> = {}): DepartmentObject {
  return {
    apiVersion: "govhost.io/v1alpha1",
    kind: "Department",
    metadata: { name },
    spec: {
      displayName: { en: `Department ${name}`, zhHant: `部門 ${name}` },
      costCentre: "CC-1001",
      contacts: [{ name: "IT Manager", email: `it@${name}.gov.example` }],
      groups: {
        admins: [`${name}-admins`],
        developers: [`${name}-developers`],
        viewers: [`${name}-viewers`],
      },
      environments: ["dev", "staging", "prod"],
      quota: { cpu: "16", memory: "64Gi", storage: "500Gi", pods: 100, eServices: 20, publicEndpoints: 10 },
      maxDataClassification: "RESTRICTED",
      suspended: false,
      ...spec,
    },
  };
}

export function condition(dept: DepartmentObject | undefined, type: string) {
  return dept?.status?.conditions?.find((c) => c.type === type);
}

/** Waits until the controller has observed the current generation and `accept` holds. */
export function waitForDepartment(
  admin: KubeClient,
  name: string,
  accept: (dept: DepartmentObject) => boolean,
  what = "department to converge",
  timeoutMs = 30_000,
): Promise<DepartmentObject> {
  return eventually(
    `${name}: ${what}`,
    async () => {
      const dept = await admin.get<DepartmentObject>(resources.department, name);
      const observed = dept.status?.observedGeneration === dept.metadata.generation;
      return observed && accept(dept) ? dept : undefined;
    },
    timeoutMs,
  );
}

export const isReady = (dept: DepartmentObject) => condition(dept, "Ready")?.status === "True";

/** Runs `call` and returns the API error it fails with (fails the test if it succeeds). */
export async function rejection(call: Promise<unknown>): Promise<KubeApiError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof KubeApiError) return error;
    throw error;
  }
  throw new Error("expected the request to be rejected, but it succeeded");
}

/** A pod that passes Pod Security `restricted` and the govhost security baseline. */
export function compliantPod(namespace: string, name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: { app: "web", "govhost.io/data-classification": "UNCLASSIFIED" } },
    spec: compliantPodSpec(),
  };
}

export function compliantPodSpec() {
  return {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
    containers: [
      {
        name: "app",
        image: "registry.gov.example/app:1.0.0",
        imagePullPolicy: "Always",
        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
        securityContext: {
          allowPrivilegeEscalation: false,
          capabilities: { drop: ["ALL"] },
          readOnlyRootFilesystem: true,
        },
      },
    ],
  };
}

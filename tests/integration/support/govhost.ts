import { afterAll, beforeAll, inject } from "vitest";
import type { Department } from "../../../controller/api/department.ts";
import { type Impersonation, KubeApiError, KubeClient, type KubeObject } from "../../../lib/kube/client.ts";
import { resources } from "../../../lib/kube/resources.ts";
import { kubeConfigFrom } from "../../../tools/cluster/credentials.ts";
import { compliantPodSpec } from "../../policy-corpus/corpus.ts";
import { type ControllerProcess, startController } from "./controller-process.ts";

export { departmentManifest } from "../../fixtures/departments.ts";

import { eventually } from "./kube.ts";

export type DepartmentObject = Department & KubeObject;

/** The run's admin (system:masters), or the admin impersonating `as` so RBAC applies to that identity. */
export function client(as?: Impersonation): Promise<KubeClient> {
  return KubeClient.fromKubeConfig(kubeConfigFrom(inject("kubeconfig")), as);
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

export { compliantPodSpec };

/** A pod that passes Pod Security `restricted` and the govhost security baseline. */
export function compliantPod(namespace: string, name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: { app: "web", "govhost.io/data-classification": "UNCLASSIFIED" } },
    spec: compliantPodSpec(),
  };
}

/**
 * The usual setup of a test file: an admin client and the controller (as its service account), started
 * before the file's tests and stopped after them. Read `env.admin` / `env.controller` inside tests.
 */
export function useAdminAndController(options: Parameters<typeof startController>[0] = {}) {
  const env = {} as { admin: KubeClient; controller: ControllerProcess };
  beforeAll(async () => {
    env.admin = await client();
    env.controller = await startController(options);
  });
  afterAll(async () => {
    await env.controller?.stop();
    env.admin?.close();
  });
  return env;
}

/**
 * Waits until the namespace's tenant quota counts `resource` (e.g. count/eservices.govhost.io). On a fresh
 * cluster the quota controller discovers new CRDs within about a minute; creates are refused until then.
 */
export function waitForQuotaToCount(admin: KubeClient, namespace: string, resource: string): Promise<string> {
  return eventually(
    `${namespace}: quota to count ${resource}`,
    async () => {
      const quota = await admin.get<KubeObject & { status?: { used?: Record<string, string> } }>(
        resources.resourceQuota,
        "govhost-tenant-quota",
        namespace,
      );
      return quota.status?.used?.[resource];
    },
    120_000,
  );
}

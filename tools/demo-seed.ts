import { setTimeout as sleep } from "node:timers/promises";
import { platformGroups } from "../controller/api/rbac.ts";
import { KubeApiError, KubeClient, type KubeObject } from "../lib/kube/client.ts";
import { resources } from "../lib/kube/resources.ts";
import { kubeConfigFrom } from "./cluster/credentials.ts";
import { demoDepartments, demoEService } from "./demo-data.ts";

/**
 * Seeds the demo departments and the demo e-service (`pages`: its image, and a previewUrl where no node runs
 * it) into the cluster of `kubeconfig`, as `npm start` does in both of its modes.
 */
export async function seedDemo(
  kubeconfig: string,
  pages: Parameters<typeof demoEService>[0],
  say: (message: string) => void,
): Promise<void> {
  const admin = await KubeClient.fromKubeConfig(kubeConfigFrom(kubeconfig));
  try {
    for (const dept of demoDepartments) await admin.apply(dept, { fieldManager: "govhost-demo" });
    say(`seeded demo departments: ${demoDepartments.map((d) => d.metadata.name).join(", ")}`);
    // A public e-service with a preview is an operator's decision (GH-PUB-001, GH-A11Y-002), not the
    // cluster admin's: seed it as the demo operator.
    await applyWhenQuotaTracks(
      admin.impersonating({ user: "operator", groups: [platformGroups.operator] }),
      demoEService(pages),
      say,
    );
  } finally {
    admin.close();
  }
}

/**
 * Applies an object whose namespace quota counts its kind. On a freshly started cluster the quota
 * controller discovers new CRDs within about a minute; until then such creates are refused.
 */
async function applyWhenQuotaTracks(
  admin: KubeClient,
  object: KubeObject,
  say: (message: string) => void,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.apply(object, { fieldManager: "govhost-demo" });
      return;
    } catch (error) {
      const waiting =
        error instanceof KubeApiError &&
        (/status unknown for quota/.test(error.message) || error.code === 404);
      if (!waiting || attempt >= 60) throw error;
      if (attempt === 0)
        say("waiting for the namespace quota to count EServices (a fresh cluster takes up to a minute)");
      await sleep(2_000);
    }
  }
}

/**
 * Deletes every Department and waits until the controller has cleaned each one up (its finalizer). Before a
 * `pulumi destroy` of the platform: once the controller is gone, a Department left behind keeps its finalizer
 * and the CRD's deletion waits for it forever.
 */
export async function removeAllDepartments(
  kubeconfig: string,
  say: (message: string) => void,
): Promise<void> {
  const admin = await KubeClient.fromKubeConfig(kubeConfigFrom(kubeconfig));
  try {
    // No CRD (an install that stopped early): no Department either.
    const departments = await admin.list<KubeObject>(resources.department).then(
      (list) => list.items,
      (error: unknown) => {
        if (error instanceof KubeApiError && error.code === 404) return [];
        throw error;
      },
    );
    if (departments.length === 0) return;
    say(
      `deleting the departments (${departments.map((d) => d.metadata?.name).join(", ")}) while the controller runs`,
    );
    for (const dept of departments) await admin.delete(resources.department, dept.metadata?.name as string);
    for (let waited = 0; (await admin.list<KubeObject>(resources.department)).items.length > 0; waited += 2) {
      if (waited >= 180)
        throw new Error("departments still there after 3 minutes: is the controller running?");
      await sleep(2_000);
    }
  } finally {
    admin.close();
  }
}

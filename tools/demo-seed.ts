import { setTimeout as sleep } from "node:timers/promises";
import { platformGroups } from "../controller/api/rbac.ts";
import { KubeApiError, KubeClient, type KubeObject } from "../lib/kube/client.ts";
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

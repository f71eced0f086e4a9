import type { KubeClient, KubeObject } from "../../../lib/kube/client.ts";
import { resources } from "../../../lib/kube/resources.ts";
import { eventually } from "./kube.ts";

// The local control plane has no node yet (issue #14), so a test that needs pods to run plays the kubelet:
// it reports the pods that the workload controllers really created as running and ready, through the
// status subresource, exactly as a kubelet would. Everything above the kubelet (admission, the deployment
// and replica set controllers, availability) is the real thing.

/** Waits for `count` pods matching `labelSelector` in `namespace`, then marks them running and ready. */
export async function runPods(
  admin: KubeClient,
  namespace: string,
  labelSelector: string,
  count = 1,
): Promise<KubeObject[]> {
  const pods = await eventually(
    `${count} pods ${labelSelector} in ${namespace} created by their controllers`,
    async () => {
      const list = await admin.list<KubeObject>(resources.pod, { namespace, labelSelector });
      return list.items.length >= count ? list.items : undefined;
    },
    60_000,
  );
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  for (const pod of pods) {
    const containers = (
      (pod.spec as { containers?: { name: string; image: string }[] }).containers ?? []
    ).map((c) => ({
      name: c.name,
      image: c.image,
      imageID: c.image,
      ready: true,
      restartCount: 0,
      started: true,
      state: { running: { startedAt: now } },
    }));
    await admin.mergePatch(
      resources.pod,
      pod.metadata?.name as string,
      {
        status: {
          phase: "Running",
          startTime: now,
          conditions: ["PodScheduled", "Initialized", "ContainersReady", "Ready"].map((type) => ({
            type,
            status: "True",
            lastTransitionTime: now,
          })),
          containerStatuses: containers,
        },
      },
      { namespace, subresource: "status" },
    );
  }
  return pods;
}

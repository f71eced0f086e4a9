import { KubeApiError, type KubeClient, type KubeObject } from "../../../lib/kube/client.ts";
import { resources } from "../../../lib/kube/resources.ts";
import { compliantPod } from "./govhost.ts";
import { eventually } from "./kube.ts";

// The run's shared control plane has no node (tests that need one bring up their own, support/node-platform.ts).
// Metering tests that check the ledger's arithmetic to the minor unit at chosen instants (pods that ran
// hours ago, thousands of pods at once) play the kubelet for those pods: they report them running and
// finished through the status subresource, exactly as a kubelet would. Real pods are metered on the real
// node in metering-node.test.ts.

/**
 * Plays the kubelet for one pod with `cpu` and `memory` requested (and as limits): it runs from `start` and,
 * when `end` is given, succeeds then. Quota admission answers 409 when the namespace's ResourceQuota changed
 * meanwhile (the tenancy controller rebalances it as pods come and go): as the API server advises, the
 * create is tried again. Options: `tenant` creates the pod instead of `admin` (RBAC and admission then judge
 * that identity; the kubelet's part is still played by `admin`); `reportFinishedOnly` reports a pod with an
 * `end` once, already finished, as a kubelet whose status sync came after the pod ended (one status update
 * instead of two, for tests that play many pods).
 */
export async function playPod(
  admin: KubeClient,
  pod: { namespace: string; name: string; cpu: string; memory: string; start: number; end?: number },
  options: { tenant?: KubeClient; reportFinishedOnly?: boolean } = {},
): Promise<void> {
  const { namespace, name, cpu, memory } = pod;
  const manifest = compliantPod(namespace, name) as KubeObject & {
    spec: { containers: { resources: Record<string, Record<string, string>> }[] };
  };
  const container = manifest.spec.containers[0];
  if (!container) throw new Error("no container");
  container.resources = { requests: { cpu, memory }, limits: { cpu, memory } };
  await eventually(`pod ${name} to be admitted`, async () => {
    try {
      return await (options.tenant ?? admin).create(manifest);
    } catch (error) {
      if (error instanceof KubeApiError && error.code === 409 && error.message.includes("resourcequotas"))
        return undefined;
      throw error;
    }
  });
  const startTime = new Date(pod.start).toISOString();
  const status = (phase: string, extra: Record<string, unknown> = {}) =>
    admin.mergePatch(
      resources.pod,
      name,
      { status: { phase, startTime, ...extra } },
      { namespace, subresource: "status" },
    );
  if (pod.end === undefined || !options.reportFinishedOnly) await status("Running");
  if (pod.end === undefined) return;
  const terminated = { exitCode: 0, startedAt: startTime, finishedAt: new Date(pod.end).toISOString() };
  await status("Succeeded", {
    containerStatuses: [
      {
        name: "app",
        image: "registry.gov.example/app:1.0.0",
        imageID: "",
        ready: false,
        restartCount: 0,
        state: { terminated },
      },
    ],
  });
}

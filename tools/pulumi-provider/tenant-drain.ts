import { setTimeout as sleep } from "node:timers/promises";
import { KubeConfig } from "@kubernetes/client-node";
import Type from "typebox";
import { KubeApiError, KubeClient } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";

// govhost:platform:TenantDrain: on `pulumi destroy`, every Department goes while the controller still runs,
// also those made through the API, which the stack does not know. The program creates it after the
// controller, so the engine deletes it first. Without it, deleting the CRDs would leave each such Department
// with its finalizer and nobody to release it: the CRD, and so the destroy, would wait forever.

export const tenantDrainType = "govhost:platform:TenantDrain";

export const TenantDrainInputs = Type.Object(
  {
    /** The admin kubeconfig's content (secret in the program). */
    kubeconfig: Type.String({ minLength: 1 }),
    /** The kubeconfig's context to use (default: its current one). */
    context: Type.Optional(Type.String({ minLength: 1 })),
    /** How long the controller may take to remove them all (their namespaces first). */
    timeoutSeconds: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);

interface DrainInputs {
  kubeconfig: string;
  context?: string;
  timeoutSeconds: number;
}

const pollMs = 2_000;

/** Deletes every Department and waits until the controller has removed them (their namespaces gone). */
export async function drainTenants(inputs: DrainInputs, log: (line: string) => void): Promise<void> {
  const config = new KubeConfig();
  config.loadFromString(inputs.kubeconfig);
  if (inputs.context) config.setCurrentContext(inputs.context);
  const client = await KubeClient.fromKubeConfig(config);
  try {
    const names = async () =>
      (await client.list(resources.department)).items.map((d) => d.metadata?.name as string);
    let left: string[];
    try {
      left = await names();
    } catch (error) {
      // No Department CRD (an up that failed before it): no Department either.
      if (error instanceof KubeApiError && error.code === 404) return;
      throw error;
    }
    if (left.length === 0) return;
    log(`deleting ${left.length} Department(s) while the controller runs: ${left.join(", ")}`);
    for (const name of left) await client.delete(resources.department, name);
    const deadline = Date.now() + inputs.timeoutSeconds * 1000;
    let reported = Date.now();
    while (left.length > 0) {
      if (Date.now() > deadline)
        throw new Error(
          `these Departments were not removed within ${inputs.timeoutSeconds} s: ${left.join(", ")}; their status says why (the controller must run to remove their namespaces)`,
        );
      await sleep(pollMs);
      left = await names();
      if (Date.now() - reported > 30_000) {
        log(`still waiting for ${left.length} Department(s): ${left.join(", ")}`);
        reported = Date.now();
      }
    }
    log("every Department is removed");
  } finally {
    client.close();
  }
}

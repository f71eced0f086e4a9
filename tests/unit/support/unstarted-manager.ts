import { pino } from "pino";
import { Manager } from "../../../controller/runtime/manager.ts";
import type { KubeClient } from "../../../lib/kube/client.ts";

/**
 * A controller manager that is never started, on a client that makes no request: for tests of what the
 * manager builds (its shared caches, its metrics), not of what it runs.
 */
export function unstartedManager(): Manager {
  const client = { derived: () => client } as unknown as KubeClient;
  return new Manager({
    client,
    log: pino({ level: "silent" }),
    identity: "unit",
    leaseNamespace: "govhost-system",
    leaseName: "govhost-controller",
    host: "127.0.0.1",
    port: 0,
  });
}

import type { Logger } from "pino";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";

/** Records Kubernetes Events (core/v1) about govhost objects, as `kubectl describe` shows them. */
export class EventRecorder {
  private readonly client: KubeClient;
  private readonly component: string;
  private readonly log: Logger;
  constructor(client: KubeClient, component: string, log: Logger) {
    this.client = client;
    this.component = component;
    this.log = log;
  }

  async record(
    object: KubeObject,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): Promise<void> {
    const meta = object.metadata ?? {};
    const now = new Date().toISOString();
    // Events about cluster-scoped objects live in the default namespace, as kubectl expects.
    const namespace = meta.namespace ?? "default";
    await this.client
      .call("POST", `/api/v1/namespaces/${namespace}/events`, {
        body: {
          apiVersion: "v1",
          kind: "Event",
          metadata: { generateName: `${meta.name}.`, namespace },
          involvedObject: {
            apiVersion: object.apiVersion,
            kind: object.kind,
            name: meta.name,
            namespace: meta.namespace,
            uid: meta.uid,
            resourceVersion: meta.resourceVersion,
          },
          reason,
          message: message.slice(0, 1024),
          type,
          source: { component: this.component },
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      })
      .catch((error: unknown) => {
        // Events are best effort: failing to record one must never fail a reconcile, but it is logged.
        this.log.warn(
          { err: error, reason, kind: object.kind, name: meta.name, namespace: meta.namespace },
          "event write failed",
        );
      });
  }
}

import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { unstartedManager } from "./support/unstarted-manager.ts";

// Each shared cache's watch restarts and relists are the controller's metrics, named by resource (and by
// what of it the cache keeps), read from the informers when scraped.

describe("watch metrics", () => {
  it("counts every shared cache's watch restarts and relists under a readable resource name", async () => {
    const manager = unstartedManager();
    const pods = manager.informer<KubeObject>(resources.pod);
    const departments = manager.informer<KubeObject>(resources.department, { metadataOnly: true });
    manager.informer<KubeObject>(resources.namespace, { labelSelector: "govhost.io/department" });
    pods.watchCounts.restarts = 3;
    pods.watchCounts.relists = 1;
    departments.watchCounts.restarts = 2;

    const text = await manager.metrics.registry.metrics();
    const lines = text.split("\n").filter((line) => /^govhost_watch_(restarts|relists)_total\{/.test(line));
    expect(lines.sort()).toEqual(
      [
        'govhost_watch_restarts_total{resource="pods"} 3',
        'govhost_watch_relists_total{resource="pods"} 1',
        'govhost_watch_restarts_total{resource="departments.govhost.io (metadata)"} 2',
        'govhost_watch_relists_total{resource="departments.govhost.io (metadata)"} 0',
        'govhost_watch_restarts_total{resource="namespaces govhost.io/department"} 0',
        'govhost_watch_relists_total{resource="namespaces govhost.io/department"} 0',
      ].sort(),
    );
  });
});

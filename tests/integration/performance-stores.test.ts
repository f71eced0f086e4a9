import { describe, expect, it } from "vitest";
import { platformDefaults } from "../../controller/api/defaults.ts";
import { departmentStores } from "../../controller/performance/department-stores.ts";
import { dayOf } from "../../lib/chargeback/calendar.ts";
import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { commentsStoreName, feedbackNamespace } from "../../lib/performance/feedback-store.ts";
import { departmentManifest, isReady, useAdminAndController, waitForDepartment } from "./support/govhost.ts";
import { eventually, uniqueName } from "./support/kube.ts";

// What becomes of a department's service-performance stores (docs/performance.md), with the controller as
// it runs (its own least-privilege identity): citizens' comments past their retention are deleted even when
// the department gets no more feedback, and every store goes with a deleted department.

const env = useAdminAndController({ env: { GOVHOST_COMMENT_PRUNE_INTERVAL_MS: "1000" } });

type Store = KubeObject & { data?: Record<string, string> };

/** The controller's count of finished retention passes, from its /metrics. */
async function passesDone(): Promise<number> {
  const text = await fetch(`http://127.0.0.1:${env.controller.port}/metrics`).then((r) => r.text());
  const line = text
    .split("\n")
    .find((l) => l.startsWith('govhost_feedback_retention_passes_total{outcome="done"}'));
  return Number(line?.split(" ")[1] ?? 0);
}

const day = (daysAgo: number) => dayOf(Date.now() - daysAgo * 86_400_000, platformDefaults.timeZone);

function commentsStore(department: string, comments: unknown[] | string): Store {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: commentsStoreName(department),
      namespace: feedbackNamespace,
      labels: { "govhost.io/department": department, "govhost.io/component": "comments" },
    },
    data: { comments: typeof comments === "string" ? comments : JSON.stringify(comments) },
  };
}

describe("the service-performance stores", () => {
  it("deletes comments past their 90 days from a quiet department's store, and leaves one it cannot read", async () => {
    const quiet = uniqueName("q");
    const odd = uniqueName("o");
    const fresh = { eservice: `${quiet}-prod/visa`, day: day(89), rating: 4, text: "kept: 89 days old" };
    const expired = { eservice: `${quiet}-prod/visa`, day: day(92), rating: 2, text: "92 days old" };
    await env.admin.create(commentsStore(quiet, [expired, fresh]));
    await env.admin.create(commentsStore(odd, "{not json"));
    try {
      await eventually(
        "the expired comment to be deleted",
        async () => {
          const store = await env.admin.get<Store>(
            resources.configMap,
            commentsStoreName(quiet),
            feedbackNamespace,
          );
          const comments = JSON.parse(store.data?.comments ?? "[]") as unknown[];
          return comments.length === 1 ? comments : undefined;
        },
        30_000,
      ).then((comments) => expect(comments).toEqual([fresh]));
      // Two whole passes later, the store it cannot read is as it was (nothing is guessed away).
      const before = await env.admin.get<Store>(
        resources.configMap,
        commentsStoreName(odd),
        feedbackNamespace,
      );
      const passes = await passesDone();
      await eventually(
        "two more passes",
        async () => ((await passesDone()) >= passes + 2 ? true : undefined),
        30_000,
      );
      const after = await env.admin.get<Store>(
        resources.configMap,
        commentsStoreName(odd),
        feedbackNamespace,
      );
      expect(after.data).toEqual({ comments: "{not json" });
      expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    } catch (error) {
      // What the controller said about its passes, to tell a failed pass from none.
      const said = env.controller.output().split("\n");
      process.stderr.write(
        `${said
          .filter((l) => /retention|periodic/.test(l))
          .slice(-20)
          .join("\n")}\n`,
      );
      throw error;
    } finally {
      for (const name of [quiet, odd])
        await env.admin
          .delete(resources.configMap, commentsStoreName(name), feedbackNamespace)
          .catch(() => {});
    }
  });

  it("deletes every store of a deleted department, and no other department's", async () => {
    const gone = uniqueName("g");
    const stays = uniqueName("s");
    await env.admin.create(departmentManifest(gone, { environments: ["prod"] }));
    await waitForDepartment(env.admin, gone, isReady, "Ready");
    const stores = [...departmentStores(gone), ...departmentStores(stays)];
    for (const store of stores)
      await env.admin.create({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: store.name, namespace: store.namespace },
        data: {},
      });
    try {
      await env.admin.delete(resources.department, gone);
      await eventually(
        "the department to be gone",
        async () => ((await env.admin.find(resources.department, gone)) ? undefined : true),
        60_000,
      );
      const left = async (department: string) => {
        const found = [];
        for (const store of departmentStores(department))
          if (await env.admin.find(resources.configMap, store.name, store.namespace)) found.push(store.name);
        return found;
      };
      expect(await left(gone)).toEqual([]);
      expect(await left(stays)).toEqual(departmentStores(stays).map((s) => s.name));
    } finally {
      for (const store of stores)
        await env.admin.delete(resources.configMap, store.name, store.namespace).catch(() => {});
    }
  });
});

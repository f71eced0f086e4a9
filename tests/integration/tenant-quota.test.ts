import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, inject, it } from "vitest";
import { resources } from "../../lib/kube/resources.ts";
import { auditedWrites, replicaOf } from "../../tools/cluster/api-audit.ts";
import {
  compliantPod,
  condition,
  type DepartmentObject,
  departmentManifest,
  isReady,
  rejection,
  useAdminAndController,
  waitForDepartment,
} from "./support/govhost.ts";
import { uniqueName } from "./support/kube.ts";

// The department quota holds across all of its namespaces together, enforced by the API server.

const env = useAdminAndController();

const settled = (d: DepartmentObject) =>
  isReady(d) && ["WithinQuota", "OverQuota"].includes(condition(d, "QuotaHealthy")?.reason ?? "");

async function podCount(name: string, environments: string[]): Promise<number> {
  let total = 0;
  for (const environment of environments) {
    total += (await env.admin.list(resources.pod, { namespace: `${name}-${environment}` })).items.length;
  }
  return total;
}

async function tryCreatePod(namespace: string, podName: string): Promise<boolean> {
  try {
    await env.admin.create(compliantPod(namespace, podName));
    return true;
  } catch {
    return false;
  }
}

describe("tenant-wide quota", () => {
  it("refuses pods whose total across environments exceeds the department quota", async () => {
    const name = uniqueName("q");
    const quota = { cpu: "16", memory: "64Gi", storage: "10Gi", pods: 4, eServices: 1, publicEndpoints: 1 };
    await env.admin.create(departmentManifest(name, { environments: ["dev", "prod"], quota }));
    await waitForDepartment(env.admin, name, settled);

    // dev takes pods one at a time; after each, headroom is rebalanced, so dev may use the whole quota.
    let accepted = 0;
    for (let i = 0; i < 6; i++) {
      if (!(await tryCreatePod(`${name}-dev`, `p${i}`))) break;
      accepted++;
      await waitForDepartment(
        env.admin,
        name,
        (d) => settled(d) && d.status?.quota?.used.pods === String(accepted),
      );
    }
    expect(accepted).toBe(4);

    const refused = await rejection(env.admin.create(compliantPod(`${name}-prod`, "one-too-many")));
    expect(refused.code).toBe(403);
    expect(refused.message).toContain("exceeded quota: govhost-tenant-quota");
    expect(await podCount(name, ["dev", "prod"])).toBe(4);

    // Freed capacity flows to whichever environment needs it.
    await env.admin.delete(resources.pod, "p0", `${name}-dev`);
    await env.admin.delete(resources.pod, "p1", `${name}-dev`);
    await waitForDepartment(env.admin, name, (d) => settled(d) && d.status?.quota?.used.pods === "2");
    const prodPod = await env.admin.create(compliantPod(`${name}-prod`, "now-fits"));
    expect(prodPod.metadata?.uid).toBeTruthy();
  });

  it("rewrites no quota whose amounts did not change, however the API server spells them", async () => {
    // The API server stores quantities in canonical form: 5000 pods come back as "5k", 1024Gi as "1Ti".
    // Comparing the strings took every usage change for a change of limits and wrote the quota again.
    const name = uniqueName("q");
    const quota = {
      cpu: "16",
      memory: "64Gi",
      storage: "1024Gi",
      pods: 5000,
      eServices: 1,
      publicEndpoints: 1,
    };
    await env.admin.create(departmentManifest(name, { environments: ["prod"], quota }));
    await waitForDepartment(env.admin, name, settled);
    const quotaObject = await env.admin.get<{ spec: { hard: Record<string, string> } }>(
      resources.resourceQuota,
      "govhost-tenant-quota",
      `${name}-prod`,
    );
    expect(quotaObject.spec.hard).toMatchObject({ pods: "5k", "requests.storage": "1Ti" });

    const mark = Date.now();
    for (let i = 0; i < 3; i++) {
      await env.admin.create(compliantPod(`${name}-prod`, `p${i}`));
      await waitForDepartment(
        env.admin,
        name,
        (d) => settled(d) && d.status?.quota?.used.pods === String(i + 1),
      );
    }
    for (let i = 0; i < 3; i++) await env.admin.delete(resources.pod, `p${i}`, `${name}-prod`);
    await waitForDepartment(env.admin, name, (d) => settled(d) && d.status?.quota?.used.pods === "0");
    await sleep(2_000); // any rebalance still due
    const quotaWrites = auditedWrites(inject("apiAuditLog"), mark).filter(
      (e) =>
        replicaOf(e) !== undefined &&
        e.objectRef?.resource === "resourcequotas" &&
        e.objectRef.namespace === `${name}-prod`,
    );
    expect(quotaWrites.map((e) => `${e.verb} ${e.requestReceivedTimestamp}`)).toEqual([]);
    // The usage moved through status all the same: the department's status followed every pod.
    const statusWrites = auditedWrites(inject("apiAuditLog"), mark).filter(
      (e) =>
        replicaOf(e) !== undefined && e.objectRef?.resource === "departments" && e.objectRef.name === name,
    );
    expect(statusWrites.length).toBeGreaterThan(0);
  });

  it("holds under concurrent bursts into every environment", async () => {
    const name = uniqueName("q");
    const environments = ["dev", "staging", "prod"];
    const quota = { cpu: "16", memory: "64Gi", storage: "10Gi", pods: 7, eServices: 1, publicEndpoints: 1 };
    await env.admin.create(departmentManifest(name, { environments, quota }));
    await waitForDepartment(env.admin, name, settled);

    let attempt = 0;
    for (let round = 0; round < 6; round++) {
      const burst = Array.from({ length: 9 }, () => {
        const environment = environments[attempt % environments.length] as string;
        return tryCreatePod(`${name}-${environment}`, `burst-${attempt++}`);
      });
      await Promise.all(burst);
      const total = await podCount(name, environments);
      expect(total).toBeLessThanOrEqual(7);
      await waitForDepartment(
        env.admin,
        name,
        (d) => settled(d) && d.status?.quota?.used.pods === String(total),
      );
    }
    expect(await podCount(name, environments)).toBe(7);
    const dept = await env.admin.get<DepartmentObject>(resources.department, name);
    expect(dept.status?.quota?.used.pods).toBe("7");
  });
});

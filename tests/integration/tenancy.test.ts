import { describe, expect, inject, it } from "vitest";
import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { auditedWrites, replicaOf } from "../../tools/cluster/api-audit.ts";
import { startController } from "./support/controller-process.ts";
import {
  compliantPod,
  condition,
  departmentManifest,
  isReady,
  rejection,
  useAdminAndController,
  waitForDepartment,
} from "./support/govhost.ts";
import { eventually, uniqueName } from "./support/kube.ts";

const env = useAdminAndController();

const names = async (type: (typeof resources)[keyof typeof resources], namespace: string) =>
  (await env.admin.list<KubeObject>(type, { namespace })).items.map((o) => o.metadata?.name).sort();

describe("Department lifecycle", () => {
  it("provisions one governed namespace per environment", async () => {
    const name = uniqueName("d");
    await env.admin.create(departmentManifest(name));
    const dept = await waitForDepartment(env.admin, name, isReady, "Ready");
    expect(dept.status?.namespaces).toEqual([`${name}-dev`, `${name}-staging`, `${name}-prod`]);
    expect(dept.metadata.finalizers).toContain("govhost.io/department-cleanup");

    const ns = await env.admin.get<KubeObject>(resources.namespace, `${name}-prod`);
    expect(ns.metadata?.labels).toMatchObject({
      "govhost.io/department": name,
      "govhost.io/environment": "prod",
      "pod-security.kubernetes.io/enforce": "restricted",
      "pod-security.kubernetes.io/enforce-version": "v1.37",
      "pod-security.kubernetes.io/warn": "restricted",
      "pod-security.kubernetes.io/audit": "restricted",
    });
    expect(await names(resources.networkPolicy, `${name}-prod`)).toEqual([
      "govhost-allow-dns",
      "govhost-allow-ingress-controller",
      "govhost-allow-same-namespace",
      "govhost-default-deny",
    ]);
    expect(await names(resources.roleBinding, `${name}-prod`)).toEqual([
      "govhost-admins",
      "govhost-controller",
      "govhost-developers",
      "govhost-viewers",
    ]);
    expect(await names(resources.limitRange, `${name}-prod`)).toEqual(["govhost-defaults"]);
    const quota = await env.admin.get<KubeObject & { spec: { hard: Record<string, string> } }>(
      resources.resourceQuota,
      "govhost-tenant-quota",
      `${name}-prod`,
    );
    expect(quota.spec.hard).toMatchObject({ "services.nodeports": "0", "services.loadbalancers": "0" });
    expect(condition(dept, "QuotaHealthy")?.status).toBe("True");
  });

  it("converges on updates: a new environment, a new quota, suspension and resumption", async () => {
    const name = uniqueName("d");
    await env.admin.create(departmentManifest(name, { environments: ["dev", "prod"] }));
    await waitForDepartment(env.admin, name, isReady);

    await env.admin.mergePatch(resources.department, name, {
      spec: { environments: ["dev", "prod", "uat"], quota: { pods: 30 } },
    });
    // Headroom moves to the new environment once the quota controller confirms the others' lower limits.
    const updated = await waitForDepartment(
      env.admin,
      name,
      (d) =>
        isReady(d) &&
        d.status?.namespaces?.length === 3 &&
        condition(d, "QuotaHealthy")?.reason === "WithinQuota",
    );
    expect(updated.status?.namespaces).toContain(`${name}-uat`);
    const allocatedPods = Object.values(updated.status?.quota?.allocated ?? {}).map((hard) =>
      Number(hard.pods),
    );
    expect(allocatedPods.reduce((a, b) => a + b, 0)).toBe(30);

    await env.admin.mergePatch(resources.department, name, { spec: { suspended: true } });
    const suspended = await waitForDepartment(
      env.admin,
      name,
      (d) => condition(d, "Suspended")?.status === "True",
    );
    expect(Object.values(suspended.status?.quota?.allocated ?? {}).map((h) => h.pods)).toEqual([
      "0",
      "0",
      "0",
    ]);
    const refused = await eventually("pods to be refused while suspended", async () => {
      const error = await rejection(env.admin.create(compliantPod(`${name}-dev`, "blocked")));
      return error.code === 403 ? error : undefined;
    });
    expect(refused.message).toContain("exceeded quota: govhost-tenant-quota");

    await env.admin.mergePatch(resources.department, name, { spec: { suspended: false } });
    await waitForDepartment(env.admin, name, (d) => condition(d, "Suspended")?.status === "False");
    const pod = await eventually("pods to be admitted again", () =>
      env.admin.create(compliantPod(`${name}-dev`, "allowed")).catch(() => undefined),
    );
    expect(pod.metadata?.uid).toBeTruthy();
  });

  it("repairs drift: a deleted NetworkPolicy and a weakened RoleBinding come back", async () => {
    const name = uniqueName("d");
    await env.admin.create(departmentManifest(name, { environments: ["dev"] }));
    await waitForDepartment(env.admin, name, isReady);
    await env.admin.delete(resources.networkPolicy, "govhost-default-deny", `${name}-dev`);
    const restored = await eventually("the default-deny policy to be restored", () =>
      env.admin.find<KubeObject>(resources.networkPolicy, "govhost-default-deny", `${name}-dev`),
    );
    expect(restored.spec).toMatchObject({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });

    await env.admin.mergePatch(
      resources.roleBinding,
      "govhost-viewers",
      { subjects: [] },
      { namespace: `${name}-dev` },
    );
    const binding = await eventually("the viewers binding to be repaired", async () => {
      const rb = await env.admin.get<KubeObject & { subjects?: { name: string }[] }>(
        resources.roleBinding,
        "govhost-viewers",
        `${name}-dev`,
      );
      return rb.subjects?.length ? rb : undefined;
    });
    expect(binding.subjects?.map((s) => s.name)).toEqual([`${name}-viewers`]);
  });

  it("after a restart applies nothing to a department whose children are still as applied", async () => {
    const edited = uniqueName("d");
    const untouched = uniqueName("d");
    for (const name of [edited, untouched]) await env.admin.create(departmentManifest(name));
    for (const name of [edited, untouched])
      await waitForDepartment(env.admin, name, (d) => isReady(d) && Boolean(d.status?.appliedChildren));
    await env.controller.stop();

    // While no controller runs: an operator empties one department's viewers binding (an edit that only
    // removes fields, which leaves no trace in managedFields), and the other department's budget changes (a
    // new generation to reconcile, and none of its children depends on it).
    await env.admin.mergePatch(
      resources.roleBinding,
      "govhost-viewers",
      { subjects: [] },
      { namespace: `${edited}-prod` },
    );
    await env.admin.mergePatch(resources.department, untouched, {
      spec: { monthlyBudget: { amount: 1000, currency: "HKD" } },
    });
    const mark = Date.now();
    env.controller = await startController();

    const binding = await eventually("the emptied binding to be put back", async () => {
      const rb = await env.admin.get<KubeObject & { subjects?: { name: string }[] }>(
        resources.roleBinding,
        "govhost-viewers",
        `${edited}-prod`,
      );
      return rb.subjects?.length ? rb : undefined;
    });
    expect(binding.subjects?.map((s) => s.name)).toEqual([`${edited}-viewers`]);
    // The new generation is observed by a full reconcile of the untouched department.
    await waitForDepartment(
      env.admin,
      untouched,
      (d) => isReady(d) && d.status?.observedGeneration === d.metadata.generation,
    );

    // What tenancy applies (the quota aside: it follows usage, see tenant-quota.test.ts).
    const tenancyKinds = ["namespaces", "limitranges", "networkpolicies", "rolebindings"];
    const childWrites = (name: string) => {
      const namespaces = [`${name}-dev`, `${name}-staging`, `${name}-prod`];
      return auditedWrites(inject("apiAuditLog"), mark)
        .filter(
          (e) =>
            replicaOf(e) !== undefined &&
            tenancyKinds.includes(e.objectRef?.resource ?? "") &&
            (namespaces.includes(e.objectRef?.namespace ?? "") ||
              (e.objectRef?.resource === "namespaces" && namespaces.includes(e.objectRef.name ?? ""))),
        )
        .map((e) => `${e.verb} ${e.objectRef?.resource} ${e.objectRef?.namespace}/${e.objectRef?.name}`);
    };
    expect(childWrites(untouched)).toEqual([]);
    expect(childWrites(edited)).toContain(`patch rolebindings ${edited}-prod/govhost-viewers`);
  });

  it("deletes the department's namespaces before the department itself", async () => {
    const name = uniqueName("d");
    await env.admin.create(departmentManifest(name, { environments: ["dev", "prod"] }));
    await waitForDepartment(env.admin, name, isReady);
    await env.admin.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "data", namespace: `${name}-dev` },
    });
    await env.admin.delete(resources.department, name);
    await eventually(
      "the department and its namespaces to be gone",
      async () => {
        const dept = await env.admin.find(resources.department, name);
        const left = await env.admin.list(resources.namespace, {
          labelSelector: `govhost.io/department=${name}`,
        });
        return !dept && left.items.length === 0 ? true : undefined;
      },
      60_000,
    );
  });
});

describe("bad input", () => {
  it("is refused by the API server with a message naming the field", async () => {
    const badName = await rejection(env.admin.create(departmentManifest("x")));
    expect(badName.code).toBe(422);
    expect(badName.message).toContain(
      "metadata.name is the department code: a DNS label of 2 to 20 characters",
    );

    const systemGroup = await rejection(
      env.admin.create(
        departmentManifest(uniqueName("d"), {
          groups: { admins: ["system:authenticated"], developers: [], viewers: [] },
        }),
      ),
    );
    expect(systemGroup.code).toBe(422);
    expect(systemGroup.message).toContain(
      "Kubernetes system groups (system:*) cannot be granted department roles",
    );

    const weights = await rejection(
      env.admin.create(
        departmentManifest(uniqueName("d"), {
          environments: ["dev"],
          quota: {
            cpu: "1",
            memory: "1Gi",
            storage: "1Gi",
            pods: 1,
            eServices: 1,
            publicEndpoints: 1,
            environmentWeights: { prod: 2 },
          },
        }),
      ),
    );
    expect(weights.message).toContain(
      "quota.environmentWeights may only name environments listed in spec.environments",
    );
  });

  it("never takes over a namespace it does not own: the conflict is reported in status", async () => {
    const name = uniqueName("d");
    await env.admin.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: `${name}-dev` } });
    await env.admin.create(departmentManifest(name, { environments: ["dev", "prod"] }));
    const dept = await waitForDepartment(
      env.admin,
      name,
      (d) => condition(d, "Ready")?.reason === "NamespaceConflict",
    );
    expect(condition(dept, "Ready")?.message).toContain(
      `Namespaces ${name}-dev already exist and are not owned by this department`,
    );
    expect(dept.status?.namespaces).toEqual([`${name}-prod`]);
    const foreign = await env.admin.get<KubeObject>(resources.namespace, `${name}-dev`);
    expect(foreign.metadata?.labels?.["govhost.io/department"]).toBeUndefined();
    expect(env.controller.process.exitCode).toBeNull();
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import {
  client,
  compliantPodSpec,
  departmentManifest,
  isReady,
  rejection,
  useAdminAndController,
  waitForDepartment,
} from "./support/govhost.ts";
import { uniqueName } from "./support/kube.ts";

// Department admins act through RBAC only (the identity is impersonated: user + OIDC group), so this is
// exactly what a department engineer with kubectl can and cannot do.

const env = useAdminAndController();
const deptA = uniqueName("a");
const deptB = uniqueName("b");
let aAdmin: KubeClient;
let aViewer: KubeClient;

function deployment(namespace: string, name: string): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, "govhost.io/data-classification": "UNCLASSIFIED" } },
        spec: compliantPodSpec(),
      },
    },
  };
}

// Role bindings in a department namespace may name only the department's groups (GH-RBAC-001).
const roleBinding = (namespace: string, name: string, clusterRole: string): KubeObject => ({
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "RoleBinding",
  metadata: { name, namespace },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRole },
  subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: `${deptA}-viewers` }],
});

beforeAll(async () => {
  await env.admin.create(departmentManifest(deptA, { environments: ["dev", "prod"] }));
  await env.admin.create(departmentManifest(deptB, { environments: ["dev"] }));
  await waitForDepartment(env.admin, deptA, isReady);
  await waitForDepartment(env.admin, deptB, isReady);
  aAdmin = await client({ user: "alice@a", groups: [`${deptA}-admins`] });
  aViewer = await client({ user: "victor@a", groups: [`${deptA}-viewers`] });
});

afterAll(async () => {
  for (const c of [aAdmin, aViewer]) c?.close();
});

describe("department admin", () => {
  it("deploys workloads, services, config and secrets in its own namespaces", async () => {
    const created = await aAdmin.create(deployment(`${deptA}-dev`, "web"));
    expect(created.metadata?.uid).toBeTruthy();
    await aAdmin.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cfg", namespace: `${deptA}-prod` },
    });
    await aAdmin.create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "db", namespace: `${deptA}-prod` },
    });
    const ns = await aAdmin.get<KubeObject>(resources.namespace, `${deptA}-dev`);
    expect(ns.metadata?.name).toBe(`${deptA}-dev`);
  });

  it("cannot read or write another department's namespaces", async () => {
    expect((await rejection(aAdmin.list(resources.pod, { namespace: `${deptB}-dev` }))).code).toBe(403);
    expect((await rejection(aAdmin.create(deployment(`${deptB}-dev`, "intruder")))).code).toBe(403);
    expect((await rejection(aAdmin.get(resources.namespace, `${deptB}-dev`))).code).toBe(403);
  });

  it("cannot change its quota, limit range or the platform's network policies", async () => {
    const ns = `${deptA}-dev`;
    const quota = await rejection(
      aAdmin.mergePatch(
        resources.resourceQuota,
        "govhost-tenant-quota",
        { spec: { hard: { pods: "1000" } } },
        { namespace: ns },
      ),
    );
    expect(quota.code).toBe(403);
    expect(quota.message).toContain('cannot patch resource "resourcequotas"');
    expect((await rejection(aAdmin.delete(resources.limitRange, "govhost-defaults", ns))).code).toBe(403);
    // Admins may write their own NetworkPolicies (RBAC), but admission keeps the platform's and refuses
    // any that would open the department up (GH-NET-003).
    const denyAll = await rejection(aAdmin.delete(resources.networkPolicy, "govhost-default-deny", ns));
    expect(denyAll.code).toBe(403);
    expect(denyAll.message).toContain(
      "GH-NET-003: NetworkPolicy govhost-default-deny belongs to the platform",
    );
    const open = await rejection(
      aAdmin.create({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "allow-all", namespace: ns },
        spec: { podSelector: {}, ingress: [{}], egress: [{}] },
      }),
    );
    expect(open.code).toBe(403);
    expect(open.message).toContain("GH-NET-003: NetworkPolicy allow-all has 2 rule(s) without peers");
  });

  it("cannot change or delete the platform's role bindings, even under the controller's field manager", async () => {
    const ns = `${deptA}-dev`;
    const removed = await rejection(aAdmin.delete(resources.roleBinding, "govhost-controller", ns));
    expect(removed.code).toBe(403);
    expect(removed.message).toContain("GH-RBAC-002: RoleBinding govhost-controller belongs to the platform");
    // The controller skips applying a child its cache shows as it applied it: a rewrite under its name
    // would otherwise stay until the next full apply. The forgery keeps the binding's own labels and annotations, so
    // only its subjects change and GH-META-001 (platform-owned labels) has nothing to refuse.
    const live = await env.admin.get<KubeObject>(resources.roleBinding, "govhost-admins", ns);
    const template = roleBinding(ns, "govhost-admins", "govhost-tenant-admin");
    const forged = await rejection(
      aAdmin.apply(
        {
          ...template,
          metadata: {
            ...template.metadata,
            labels: live.metadata?.labels,
            annotations: live.metadata?.annotations,
          },
          subjects: [
            { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: `${deptA}-admins` },
            { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: `${deptA}-viewers` },
          ],
        },
        { fieldManager: "govhost-controller" },
      ),
    );
    expect(forged.code).toBe(403);
    expect(forged.message).toContain("GH-RBAC-002: RoleBinding govhost-admins belongs to the platform");
    const kept = await env.admin.get<KubeObject & { subjects: { name: string }[] }>(
      resources.roleBinding,
      "govhost-admins",
      ns,
    );
    expect(kept.subjects.map((s) => s.name)).toEqual([`${deptA}-admins`]);
  });

  it("cannot create namespaces or cluster-scoped objects", async () => {
    expect(
      (
        await rejection(
          aAdmin.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: `${deptA}-x` } }),
        )
      ).code,
    ).toBe(403);
    const crb = await rejection(
      aAdmin.create({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: `${deptA}-grab` },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "alice@a" }],
      }),
    );
    expect(crb.code).toBe(403);
    expect((await rejection(aAdmin.create(departmentManifest(uniqueName("c"))))).code).toBe(403);
    expect(
      (await rejection(aAdmin.mergePatch(resources.department, deptA, { spec: { quota: { pods: 9999 } } })))
        .code,
    ).toBe(403);
  });

  it("delegates inside its namespace but cannot escalate to cluster-admin", async () => {
    const ns = `${deptA}-dev`;
    const delegated = await aAdmin.create(roleBinding(ns, "helper-view", "govhost-tenant-viewer"));
    expect(delegated.metadata?.uid).toBeTruthy();
    const escalation = await rejection(aAdmin.create(roleBinding(ns, "helper-root", "cluster-admin")));
    expect(escalation.code).toBe(403);
    expect(escalation.message).toContain("is attempting to grant RBAC permissions not currently held");
    const ownRole = await rejection(
      aAdmin.create({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "everything", namespace: ns },
        rules: [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }],
      }),
    );
    expect(ownRole.code).toBe(403);
  });

  it("cannot use namespaces/status or namespaces/finalize", async () => {
    const ns = `${deptA}-dev`;
    const status = await rejection(
      aAdmin.call("PATCH", `/api/v1/namespaces/${ns}/status`, {
        body: { status: { phase: "Terminating" } },
        contentType: "application/merge-patch+json",
      }),
    );
    expect(status.code).toBe(403);
    const finalize = await rejection(
      aAdmin.call("PUT", `/api/v1/namespaces/${ns}/finalize`, {
        body: { apiVersion: "v1", kind: "Namespace", metadata: { name: ns }, spec: { finalizers: [] } },
      }),
    );
    expect(finalize.code).toBe(403);
  });
});

describe("department viewer", () => {
  it("reads workloads but not secrets, and changes nothing", async () => {
    const pods = await aViewer.list(resources.pod, { namespace: `${deptA}-dev` });
    expect(Array.isArray(pods.items)).toBe(true);
    expect((await rejection(aViewer.list(resources.secret, { namespace: `${deptA}-prod` }))).code).toBe(403);
    expect((await rejection(aViewer.create(deployment(`${deptA}-dev`, "nope")))).code).toBe(403);
  });
});

import { type V1Pod, VersionApi } from "@kubernetes/client-node";
import { describe, expect, inject, it } from "vitest";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { Informer } from "../../lib/kube/informer.ts";
import { resources } from "../../lib/kube/resources.ts";
import { pinnedVersions } from "../../tools/upstream/versions.ts";
import { client } from "./support/govhost.ts";
import { admin, adminConfig, apiFailure, asUser, eventually, uniqueName } from "./support/kube.ts";

const restrictedLabels = {
  "pod-security.kubernetes.io/enforce": "restricted",
  "pod-security.kubernetes.io/enforce-version": "latest",
};

function privilegedPod(namespace: string): V1Pod {
  return {
    metadata: { name: "privileged", namespace },
    spec: {
      containers: [
        { name: "app", image: "registry.example.gov/app:1.0.0", securityContext: { privileged: true } },
      ],
    },
  };
}

describe("local control plane", () => {
  it("serves the pinned Kubernetes version", async () => {
    const served = await adminConfig().makeApiClient(VersionApi).getCode();
    expect(served.gitVersion).toBe(pinnedVersions().kubernetes);
    expect(inject("kubernetesVersion")).toBe(`Kubernetes ${pinnedVersions().kubernetes}`);
  });

  it("rejects a privileged pod in a restricted namespace with the Pod Security message", async () => {
    const namespace = uniqueName("psa");
    const core = admin.core();
    await core.createNamespace({ body: { metadata: { name: namespace, labels: restrictedLabels } } });
    const failure = await apiFailure(core.createNamespacedPod({ namespace, body: privilegedPod(namespace) }));
    expect(failure.code).toBe(403);
    expect(failure.message).toContain('violates PodSecurity "restricted:latest"');
    expect(failure.message).toContain(
      'privileged (container "app" must not set securityContext.privileged=true)',
    );
  });

  it("accepts a compliant pod in the same kind of namespace", async () => {
    const namespace = uniqueName("psa-ok");
    const core = admin.core();
    await core.createNamespace({ body: { metadata: { name: namespace, labels: restrictedLabels } } });
    const pod = await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: "compliant" },
        spec: {
          securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "app",
              image: "registry.example.gov/app:1.0.0",
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
            },
          ],
        },
      },
    });
    expect(pod.metadata?.uid).toBeTruthy();
  });

  it("keeps ResourceQuota usage up to date (controller manager running)", async () => {
    const namespace = uniqueName("quota");
    const core = admin.core();
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedResourceQuota({
      namespace,
      body: { metadata: { name: "q" }, spec: { hard: { configmaps: "5", "requests.cpu": "2" } } },
    });
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: "one" }, data: { a: "1" } },
    });
    const used = await eventually("quota status to count the new ConfigMap", async () => {
      const quota = await core.readNamespacedResourceQuota({ namespace, name: "q" });
      // kube-root-ca.crt is published into every namespace by the controller manager, so 2 ConfigMaps.
      return quota.status?.used?.configmaps === "2" ? quota.status.used : undefined;
    });
    expect(used["requests.cpu"]).toBe("0");
  });

  it("removes a deleted namespace and its contents completely", async () => {
    const namespace = uniqueName("gone");
    const core = admin.core();
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: "data" } } });
    await core.deleteNamespace({ name: namespace });
    const failure = await eventually("namespace to be finalized and removed", async () => {
      const result = await apiFailure(core.readNamespace({ name: namespace })).catch(() => undefined);
      return result?.code === 404 ? result : undefined;
    });
    expect(failure.code).toBe(404);
  });

  it("lets the admin impersonate a user, whose RBAC then applies", async () => {
    const namespace = uniqueName("imp");
    const core = admin.core();
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    const denied = await apiFailure(core.listNamespacedConfigMap({ namespace }, asUser("alice", "team-a")));
    expect(denied.code).toBe(403);
    expect(denied.message).toContain('User "alice" cannot list resource "configmaps"');

    await admin.rbac().createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: "team-a-view" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "team-a" }],
      },
    });
    // Both the RoleBinding and the controller manager's kube-root-ca.crt in the new namespace arrive
    // asynchronously; wait until the impersonated list is allowed and shows it.
    const list = await eventually("the RoleBinding to take effect", async () => {
      const result = await core
        .listNamespacedConfigMap({ namespace }, asUser("alice", "team-a"))
        .catch(() => undefined);
      return result?.items.some((cm) => cm.metadata?.name === "kube-root-ca.crt") ? result : undefined;
    });
    expect(list.items.map((cm) => cm.metadata?.name)).toContain("kube-root-ca.crt");
  });

  it("sends a metadata-only cache the objects' metadata only, in its list and its watch", async () => {
    const kube = await client();
    const namespace = uniqueName("meta-only");
    await kube.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
    const quota = (name: string, pods: string): KubeObject => ({
      apiVersion: "v1",
      kind: "ResourceQuota",
      metadata: { name, namespace, labels: { "meta-only": namespace } },
      spec: { hard: { pods } },
    });
    const selector = { labelSelector: `meta-only=${namespace}`, metadataOnly: true };
    // None yet: an empty list of metadata comes as `"items": null`, read as no items.
    expect((await kube.list<KubeObject>(resources.resourceQuota, selector)).items).toEqual([]);
    await kube.create(quota("listed", "5"));
    // What the API server sends the list and the watch a metadata-only cache makes.
    const listed = await kube.list<KubeObject>(resources.resourceQuota, selector);
    const watchedObjects: KubeObject[] = [];
    const abort = new AbortController();
    const watching = kube
      .watch<KubeObject>(
        resources.resourceQuota,
        listed.metadata.resourceVersion,
        (event) => {
          watchedObjects.push(event.object);
        },
        { ...selector, signal: abort.signal },
      )
      .catch(() => {});
    const cache = new Informer<KubeObject>(kube, resources.resourceQuota, undefined, selector);
    try {
      void cache.run(abort.signal);
      await cache.synced;
      await kube.create(quota("watched", "7"));
      await eventually("the watched quota in the cache", async () => cache.get(`${namespace}/watched`));
      // The quota controller's status update of "listed" may come first: wait for "watched" itself.
      await eventually("the watch's event for the second quota", async () =>
        watchedObjects.some((o) => o.metadata?.name === "watched") ? true : undefined,
      );
      expect(listed.items.map((o) => o.metadata?.name)).toEqual(["listed"]);
      expect(watchedObjects.map((o) => o.metadata?.name)).toContain("watched");
      for (const object of [...listed.items, ...watchedObjects]) {
        expect(object.kind).toBe("PartialObjectMetadata");
        expect(object).not.toHaveProperty("spec");
        expect(object).not.toHaveProperty("status");
      }
      // Kept under the resource's own kind, with the labels and version a reconciler compares.
      expect(cache.get(`${namespace}/watched`)).toMatchObject({
        apiVersion: "v1",
        kind: "ResourceQuota",
        metadata: { name: "watched", labels: { "meta-only": namespace } },
      });
      expect(cache.get(`${namespace}/listed`)?.metadata?.resourceVersion).toMatch(/^[0-9]+$/);
    } finally {
      abort.abort();
      await watching;
    }
  });

  it("answers a metadata-only create and replace with the written object's metadata, and refuses a stale replace", async () => {
    const kube = await client();
    const namespace = uniqueName("meta-write");
    await kube.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
    const configMap = (
      data: Record<string, string>,
      resourceVersion?: string,
    ): KubeObject & { data: object } => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "ledger-like", namespace, ...(resourceVersion ? { resourceVersion } : {}) },
      data,
    });
    const created = await kube.create(configMap({ rows: "x".repeat(64 * 1024) }), { metadataOnly: true });
    expect(created).toMatchObject({ kind: "PartialObjectMetadata", metadata: { name: "ledger-like" } });
    expect(created).not.toHaveProperty("data");
    const createdVersion = created.metadata?.resourceVersion ?? "";
    const replaced = await kube.replace(configMap({ rows: "y" }, createdVersion), { metadataOnly: true });
    expect(replaced.kind).toBe("PartialObjectMetadata");
    expect(replaced).not.toHaveProperty("data");
    // The version the answer gives is the stored object's: a write that names it is accepted...
    const stored = await kube.find<KubeObject & { data: object }>(
      resources.configMap,
      "ledger-like",
      namespace,
    );
    expect(stored?.metadata?.resourceVersion).toBe(replaced.metadata?.resourceVersion);
    expect(stored?.data).toEqual({ rows: "y" });
    // ...and one that names the version before it is refused as a conflict, as without metadataOnly.
    await expect(
      kube.replace(configMap({ rows: "z" }, createdVersion), { metadataOnly: true }),
    ).rejects.toMatchObject({ code: 409 });
  });

  it("lists a cache in pages, following the API server's continue tokens to the last item", async () => {
    const kube = await client();
    const namespace = uniqueName("paged");
    await kube.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
    const names = ["a", "b", "c", "d", "e"];
    for (const name of names)
      await kube.create({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name, namespace, labels: { paged: namespace } },
        data: { name },
      });
    // (The controller manager adds kube-root-ca.crt to every namespace: the label leaves it out.)
    const selector = `paged=${namespace}`;
    const firstPage = await kube.list<KubeObject>(resources.configMap, {
      namespace,
      labelSelector: selector,
      limit: 2,
    });
    expect(firstPage.items).toHaveLength(2);
    expect(firstPage.metadata.continue).toBeTruthy();
    const abort = new AbortController();
    // The informer's client, with every list it asks for noted.
    const asked: { limit?: number; continue?: string }[] = [];
    const noting = Object.create(kube) as KubeClient;
    noting.list = (type, options = {}) => {
      asked.push({ limit: options.limit, continue: options.continue });
      return kube.list(type, options);
    };
    const cache = new Informer<KubeObject>(noting, resources.configMap, undefined, {
      labelSelector: selector,
      pageSize: 2,
    });
    try {
      void cache.run(abort.signal);
      await cache.synced;
      expect(
        cache
          .list()
          .map((o) => (o.data as Record<string, string> | undefined)?.name)
          .sort(),
      ).toEqual(names);
      expect(asked).toHaveLength(3);
      expect(asked.every((a) => a.limit === 2)).toBe(true);
      expect(asked.map((a) => Boolean(a.continue))).toEqual([false, true, true]);
    } finally {
      abort.abort();
    }
  });

  it("reads a watch in batches without losing or reordering events, and its connection is reused after it ends", async () => {
    const kube = await client();
    const namespace = uniqueName("batched");
    await kube.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
    const start = await kube.list<KubeObject>(resources.configMap, { namespace });
    const watch = (
      into: string[],
      options: { readEveryMs?: number; timeoutSeconds?: number; signal?: AbortSignal },
    ) =>
      kube.watch<KubeObject>(
        resources.configMap,
        start.metadata.resourceVersion,
        (event) => {
          const { namespace: of, name, resourceVersion } = event.object.metadata ?? {};
          // The namespace's kube-root-ca.crt (published by the controller manager) is not one of them.
          if (of === namespace && /^c\d+$/.test(name ?? ""))
            into.push(`${event.type} ${name} ${resourceVersion}`);
        },
        options,
      );
    // While the objects are written: events arrive one by one, across the batched watch's pauses.
    const live = { batched: [] as string[], direct: [] as string[] };
    const abort = new AbortController();
    const watching = [
      watch(live.batched, { readEveryMs: 250, signal: abort.signal }),
      watch(live.direct, { signal: abort.signal }),
    ].map((w) => w.catch(() => {}));
    try {
      for (let i = 0; i < 40; i++)
        await kube.create({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: `c${i}`, namespace },
          data: { filler: "x".repeat(2_000) },
        });
      await kube.delete(resources.configMap, "c0", namespace);
      await eventually("all 41 events in both watches", async () =>
        live.batched.length >= 41 && live.direct.length >= 41 ? true : undefined,
      );
    } finally {
      abort.abort();
      await Promise.all(watching);
    }
    expect(live.direct).toHaveLength(41);
    expect(live.batched).toEqual(live.direct);

    // Afterwards from the same version: the server sends all 41 at once (more than one read of the socket)
    // and ends each watch at its timeout, as it does in production.
    const replayed = { batched: [] as string[], direct: [] as string[] };
    await Promise.all([
      watch(replayed.batched, { readEveryMs: 250, timeoutSeconds: 1 }),
      watch(replayed.direct, { timeoutSeconds: 1 }),
    ]);
    expect(replayed.batched).toEqual(live.direct);
    expect(replayed.direct).toEqual(live.direct);
    // Both kept-alive connections went back to the client's pool (requests at once take every free one):
    // every request is answered.
    const found = await Promise.all(
      Array.from({ length: 39 }, (_, i) => kube.find(resources.configMap, `c${i + 1}`, namespace)),
    );
    expect(found.every((object) => object?.metadata?.namespace === namespace)).toBe(true);
  });

  it("cuts managedFields out of watch events before parsing: the rest of each object is as the API server sent it", async () => {
    const kube = await client();
    const namespace = uniqueName("owned");
    await kube.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } });
    const start = await kube.list<KubeObject>(resources.configMap, { namespace });
    const whole: KubeObject[] = [];
    const cut: KubeObject[] = [];
    const abort = new AbortController();
    const watch = (into: KubeObject[], withoutManagedFields: boolean) =>
      kube
        .watch<KubeObject>(
          resources.configMap,
          start.metadata.resourceVersion,
          (event) => {
            const { namespace: of, name } = event.object.metadata ?? {};
            if (of === namespace && name === "owned") into.push(event.object);
          },
          { signal: abort.signal, withoutManagedFields },
        )
        .catch(() => {});
    const watching = [watch(whole, false), watch(cut, true)];
    try {
      // Owned by two managers (a create, then an apply), with text in it that looks like the key.
      await kube.create({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "owned", namespace, labels: { a: "b" } },
        data: { tricky: '"managedFields":[{"]": "[{"}]' },
      });
      await kube.apply(
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "owned", namespace },
          data: { applied: "yes" },
        },
        { fieldManager: "second-owner" },
      );
      await eventually("both events in both watches", async () =>
        whole.length >= 2 && cut.length >= 2 ? true : undefined,
      );
      expect(whole[1]?.metadata?.managedFields).toHaveLength(2);
      expect(cut.length).toBe(whole.length);
      for (const [i, object] of cut.entries()) {
        const { managedFields: _, ...metadata } = whole[i]?.metadata ?? {};
        expect(object).toEqual({ ...whole[i], metadata });
      }
    } finally {
      abort.abort();
      await Promise.all(watching);
    }
  });
});

import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SharedServiceInstance } from "../../controller/api/shared-service.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { localRegistry } from "../../tools/cluster/node/registry.ts";
import { localStorage } from "../../tools/cluster/node/storage.ts";
import { buildOciLayout } from "../../tools/image/oci-image.ts";
import { pushToLocalRegistry } from "../../tools/image/push.ts";
import { departmentManifest, isReady, waitForDepartment } from "./support/govhost.ts";
import { eventually, uniqueName } from "./support/kube.ts";
import { type NodePlatform, startNodePlatform } from "./support/node-platform.ts";

// A shared-service instance on the real node (issue #14, step 6): the controller renders it, its data claim
// binds to a volume of the node's default StorageClass, its Deployment becomes Available with a real pod
// (which writes its page onto that volume as its non-root user) and its Service answers. Nothing plays the
// kubelet. The catalogue entry is the test's own, with an image built and pushed to the node's registry.

type InstanceObject = SharedServiceInstance & KubeObject;

let platform: NodePlatform;
let admin: KubeClient;
let tenant: KubeClient;
const dept = uniqueName("ssn");
const ns = `${dept}-prod`;
const serviceName = uniqueName("wiki");

const condition = (instance: InstanceObject | undefined, type: string) =>
  instance?.status?.conditions?.find((c) => c.type === type);

beforeAll(async () => {
  platform = await startNodePlatform({ prefix: "shared-services-node", identity: "shared-services-node" });
  admin = platform.admin;
  // A web service that keeps its page on its data volume: it writes it there, then serves it.
  const image = buildOciLayout(
    {
      tag: "wiki",
      files: { "/bin/busybox": "/bin/busybox" },
      busyboxApplets: "/bin/busybox",
      user: 65532,
      entrypoint: [
        "/bin/sh",
        "-c",
        'echo "workspace of $service, plan $plan" > /var/lib/service/index.html && exec httpd -f -p 8080 -h /var/lib/service',
      ],
    },
    mkdtempSync(join(platform.dir, "images-")),
  );
  const pushed = pushToLocalRegistry(image, "govhost/wiki", platform.node.registry.pushAddress);
  await admin.create({
    apiVersion: "govhost.io/v1alpha1",
    kind: "SharedService",
    metadata: { name: serviceName },
    spec: {
      displayName: { en: "Test workspace", zhHant: "測試工作空間" },
      description: "A workspace served from its data volume, for the node test.",
      provisioning: {
        method: "rendered",
        template: "collaboration-workspace",
        image: `${pushed.ref}@${pushed.digest}`,
      },
      plans: [
        {
          name: "small",
          displayName: { en: "Small", zhHant: "小型" },
          priceMinorPerMonth: 10_000,
          limits: { seats: 5, storage: "1Gi", cpu: "100m", memory: "64Mi" },
        },
      ],
    },
  });
  await admin.create(departmentManifest(dept, { environments: ["prod"] }));
  await waitForDepartment(admin, dept, isReady, "ready", 60_000);
  tenant = admin.impersonating({ user: "hana", groups: [`${dept}-admins`] });
}, 600_000);

afterAll(async () => {
  await admin?.delete(resources.sharedService, serviceName).catch(() => undefined);
  expect((await platform?.stop()) ?? []).toEqual([]);
}, 180_000);

describe("a shared-service instance on the real node", () => {
  it("becomes Available: its claim binds to a local volume, its pod runs and its Service answers", {
    timeout: 240_000,
  }, async () => {
    await tenant.create({
      apiVersion: "govhost.io/v1alpha1",
      kind: "SharedServiceInstance",
      metadata: { name: "team", namespace: ns },
      spec: { service: serviceName, plan: "small", parameters: { seats: 3 } },
    });
    const available = await eventually(
      "the instance to be Available",
      async () => {
        const instance = await admin.get<InstanceObject>(resources.sharedServiceInstance, "team", ns);
        return condition(instance, "Available")?.status === "True" ? instance : undefined;
      },
      180_000,
    );
    expect(condition(available, "Ready")).toMatchObject({ status: "True", reason: "Provisioned" });
    expect(condition(available, "Available")).toMatchObject({
      reason: "Available",
      message: "1/1 replicas available",
    });

    const claim = await admin.get<KubeObject & { spec: { storageClassName?: string; volumeName?: string } }>(
      resources.persistentVolumeClaim,
      "team-data",
      ns,
    );
    expect((claim as { status?: { phase?: string } }).status?.phase).toBe("Bound");
    expect(claim.spec.storageClassName).toBe(localStorage.className);
    expect(claim.spec.volumeName).toMatch(/^govhost-local-\d\d$/);

    const service = await admin.get<KubeObject & { spec: { clusterIP: string } }>(
      resources.service,
      "team",
      ns,
    );
    const page = await eventually("the instance's Service to answer", async () => {
      const response = await fetch(`http://${service.spec.clusterIP}/`, {
        signal: AbortSignal.timeout(5_000),
      }).catch(() => undefined);
      return response?.ok ? response.text() : undefined;
    });
    // Written by the pod onto its data volume from the instance's rendered configuration.
    expect(page).toBe(`workspace of ${serviceName}, plan small\n`);
  });

  it("reports an instance whose image cannot be pulled as not Available, with the rollout's reason", {
    timeout: 240_000,
  }, async () => {
    await admin.mergePatch(resources.sharedService, serviceName, {
      spec: {
        provisioning: {
          method: "rendered",
          template: "collaboration-workspace",
          image: `${localRegistry.host}/govhost/not-pushed:1.0.0`,
        },
      },
    });
    await tenant.create({
      apiVersion: "govhost.io/v1alpha1",
      kind: "SharedServiceInstance",
      metadata: { name: "broken", namespace: ns },
      spec: { service: serviceName, plan: "small" },
    });
    const instance = await eventually("the instance to be reported", async () => {
      const found = await admin.find<InstanceObject>(resources.sharedServiceInstance, "broken", ns);
      return condition(found, "Available") ? found : undefined;
    });
    expect(condition(instance, "Ready")).toMatchObject({ status: "True", reason: "Provisioned" });
    expect(condition(instance, "Available")).toMatchObject({
      status: "False",
      reason: "NoAvailableReplicas",
    });
  });
});

import { setTimeout as sleep } from "node:timers/promises";
import { gatewayCheckService } from "../controller/api/api-gateway.ts";
import { platformDefaults } from "../controller/api/defaults.ts";
import { createOnlyAnnotation, platformManifests } from "../controller/api/platform.ts";
import { controllerIdentity, portalApiIdentity } from "../controller/api/rbac.ts";
import { isConflict, KubeClient, type KubeObject } from "../lib/kube/client.ts";
import { resources } from "../lib/kube/resources.ts";
import { type BaselineSettings, defaultBaselineSettings } from "../policies/admission.ts";
import { kubeConfigFrom, writeServiceAccountKubeconfig } from "./cluster/credentials.ts";
import { localRegistryPrefix } from "./cluster/node/registry.ts";

interface Crd extends KubeObject {
  status?: { conditions?: { type: string; status: string }[] };
}

/**
 * Installs the platform objects (CRDs, namespaces, RBAC) with server-side apply and waits until the CRDs
 * are served. The local equivalent of what infra/ does with Pulumi; safe to run again.
 */
export async function installPlatform(
  client: KubeClient,
  options: { ingressControllerNamespace?: string; baseline?: BaselineSettings } = {},
): Promise<void> {
  const manifests = platformManifests({
    ingressControllerNamespace:
      options.ingressControllerNamespace ?? platformDefaults.ingressControllerNamespace,
    baseline: options.baseline ?? defaultBaselineSettings,
  });
  const fieldManager = "govhost-installer";
  const crds = manifests.filter((m) => m.kind === "CustomResourceDefinition");
  for (const crd of crds) await client.apply(crd as KubeObject, { fieldManager });
  await waitEstablished(
    client,
    crds.map((crd) => String(crd.metadata.name)),
  );
  for (const manifest of manifests.filter((m) => m.kind !== "CustomResourceDefinition")) {
    const createOnly = (manifest.metadata as { annotations?: Record<string, string> }).annotations?.[
      createOnlyAnnotation
    ];
    if (!createOnly) {
      await client.apply(manifest as KubeObject, { fieldManager });
      continue;
    }
    try {
      await client.create(manifest as KubeObject);
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
  }
  // Where the ingress controller asks the controller about API gateway calls: the leader (in a pod or on
  // this host) publishes itself as the Service's endpoint.
  await client.apply(gatewayCheckService(controllerIdentity.namespace) as KubeObject, { fieldManager });
  // Bindings of modes no longer configured (e.g. Deny after a switch to Warn) and disabled rules must go.
  for (const type of [resources.validatingAdmissionPolicyBinding, resources.validatingAdmissionPolicy]) {
    const wanted = new Set(manifests.filter((m) => m.kind === type.kind).map((m) => m.metadata.name));
    const installed = await client.list(type, { labelSelector: "app.kubernetes.io/part-of=govhost" });
    for (const object of installed.items) {
      const name = object.metadata?.name as string;
      if (!wanted.has(name)) await client.delete(type, name);
    }
  }
}

async function waitEstablished(client: KubeClient, names: string[]): Promise<void> {
  for (const name of names) {
    for (let attempt = 0; ; attempt++) {
      const current = await client.get<Crd>(resources.crd, name);
      if (current.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) break;
      if (attempt > 100) throw new Error(`CRD ${name} was not established within 20s`);
      await sleep(200);
    }
  }
}

/**
 * The security baseline of the local cloud: the defaults, plus the node's own registry, from which the
 * local stack's images (the demo e-service, the platform's own) are pulled.
 */
export const localStackBaseline: BaselineSettings = {
  ...defaultBaselineSettings,
  allowedRegistries: [...defaultBaselineSettings.allowedRegistries, localRegistryPrefix],
};

/**
 * Installs the platform into the cluster of `adminKubeconfig` and writes a kubeconfig for the controller's
 * own service account (a real token), so the controller runs with exactly its least-privilege role (and
 * likewise for the portal API when asked).
 */
export async function preparePlatform(
  adminKubeconfig: string,
  controllerKubeconfig: string,
  portalApiKubeconfig?: string,
  options: { baseline?: BaselineSettings } = {},
): Promise<void> {
  const admin = await KubeClient.fromKubeConfig(kubeConfigFrom(adminKubeconfig));
  try {
    await installPlatform(admin, options);
    await writeServiceAccountKubeconfig(admin, adminKubeconfig, controllerIdentity, controllerKubeconfig);
    if (portalApiKubeconfig)
      await writeServiceAccountKubeconfig(admin, adminKubeconfig, portalApiIdentity, portalApiKubeconfig);
  } finally {
    admin.close();
  }
}

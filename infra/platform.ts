import * as pulumi from "@pulumi/pulumi";
import type { DepartmentSpec } from "../controller/api/department.ts";
import { platformManifests } from "../controller/api/platform.ts";
import type { BaselineSettings } from "../policies/admission.ts";
import type { Cluster } from "./cluster.ts";
import { type Manifest, resourceFor } from "./resources.ts";
import { TenantDrain } from "./tenant-drain.ts";
import { portalApiUrl, type WorkloadSettings, workloadManifests } from "./workloads.ts";

export interface PlatformArgs extends WorkloadSettings {
  cluster: Cluster;
  baseline: BaselineSettings;
  /** Departments to create (name and spec), e.g. the first ones onboarded. */
  departments: { name: string; spec: DepartmentSpec }[];
}

/** Which child component each kind belongs to (the resource graph a reviewer reads). */
function groupOf(manifest: Manifest): string {
  if (manifest.kind === "CustomResourceDefinition") return "crds";
  if (
    manifest.apiVersion.startsWith("admissionregistration.k8s.io") ||
    manifest.metadata.name === "govhost-baseline"
  )
    return "policies";
  if (manifest.apiVersion.startsWith("rbac.authorization.k8s.io") || manifest.kind === "ServiceAccount")
    return "rbac";
  if (manifest.kind === "Namespace") return "namespaces";
  return "catalogue";
}

class Group extends pulumi.ComponentResource {
  constructor(type: string, name: string, opts: pulumi.ComponentResourceOptions) {
    super(`govhost:platform:${type}`, name, {}, opts);
  }
}

/**
 * The govhost platform as Pulumi components: CRDs, namespaces, RBAC, the security baseline, the default
 * rate card, the controller and portal API, monitoring, and seeded departments, all from the same sources
 * as `npm start` (controller/api, policies/).
 */
export class GovhostPlatform extends pulumi.ComponentResource {
  readonly apiUrl: pulumi.Output<string>;
  readonly kubeconfigPath: pulumi.Output<string>;
  readonly resources: Record<string, pulumi.CustomResource[]> = {};

  constructor(name: string, args: PlatformArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super("govhost:platform:Platform", name, {}, opts);
    const provider = args.cluster.provider;
    const skipAwait = args.cluster.skipAwait;
    const manifests = platformManifests({
      ingressControllerNamespace: args.ingressControllerNamespace,
      baseline: args.baseline,
    }) as Manifest[];

    const groups = new Map<string, Group>();
    const group = (key: string) => {
      let g = groups.get(key);
      if (!g) {
        const type = key[0]?.toUpperCase() + key.slice(1);
        g = new Group(type, `${name}-${key}`, { parent: this });
        groups.set(key, g);
      }
      return g;
    };
    const add = (key: string, manifest: Manifest, dependsOn: pulumi.Resource[]) => {
      const created = resourceFor(manifest, { parent: group(key), provider, dependsOn }, skipAwait);
      this.resources[key] = [...(this.resources[key] ?? []), created];
      return created;
    };

    // CRDs first: everything else may be an instance of one, or refer to one in a policy.
    const crds = manifests.filter((m) => groupOf(m) === "crds").map((m) => add("crds", m, []));
    const namespaces = manifests
      .filter((m) => groupOf(m) === "namespaces")
      .map((m) => add("namespaces", m, crds));
    const base = [...crds, ...namespaces];
    const platform = manifests
      .filter((m) => !["crds", "namespaces"].includes(groupOf(m)))
      .map((m) => add(groupOf(m), m, base));
    // Volume claims before the Deployments that mount them: with a WaitForFirstConsumer class, Pulumi waits
    // for a claim to be Pending, and a pod scheduled at once can bind it first (the wait then times out).
    const workloads = workloadManifests({
      ...args,
      ...(args.cluster.clusterDnsCidrs ? { clusterDnsCidrs: args.cluster.clusterDnsCidrs } : {}),
    });
    // Secrets too, so a pod never starts before the settings it reads from one exist.
    const mountedFirst = (m: { kind: string }) => ["PersistentVolumeClaim", "Secret"].includes(m.kind);
    const prerequisites = workloads
      .filter(mountedFirst)
      .map((m) => add("workloads", m, [...base, ...platform]));
    const running = workloads
      .filter((m) => !mountedFirst(m))
      .map((m) => add("workloads", m, [...base, ...platform, ...prerequisites]));
    for (const dept of args.departments) {
      add(
        "departments",
        {
          apiVersion: "govhost.io/v1alpha1",
          kind: "Department",
          metadata: { name: dept.name },
          spec: dept.spec,
        },
        // After the controller, so a destroy deletes them while it still runs to release their finalizers.
        [...base, ...platform, ...running],
      );
    }

    // Only where the controller runs: elsewhere nobody finalizes a Department, so none waits for it.
    if (!skipAwait)
      this.resources.drain = [
        new TenantDrain(
          `${name}-tenant-drain`,
          {
            kubeconfig: args.cluster.kubeconfig,
            ...(args.cluster.context ? { context: args.cluster.context } : {}),
            timeoutSeconds: 600,
          },
          { parent: this, dependsOn: running },
        ),
      ];

    this.apiUrl = pulumi.output(args.api ? `https://${args.api.host}` : portalApiUrl);
    this.kubeconfigPath = pulumi.output(args.cluster.kubeconfigPath);
    this.registerOutputs({ apiUrl: this.apiUrl, kubeconfigPath: this.kubeconfigPath });
  }
}

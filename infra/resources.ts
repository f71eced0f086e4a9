import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { createOnlyAnnotation } from "../controller/api/platform.ts";

// Turns the platform's plain Kubernetes manifests (the same ones `npm start` applies) into Pulumi
// resources: typed ones for the kinds govhost uses, a generic CustomResource for anything else.

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; annotations?: Record<string, string>; [k: string]: unknown };
  [key: string]: unknown;
}

type Ctor = new (
  name: string,
  args: Record<string, unknown>,
  opts?: pulumi.CustomResourceOptions,
) => pulumi.CustomResource;

const typed: Record<string, Ctor> = {
  "apiextensions.k8s.io/v1/CustomResourceDefinition": k8s.apiextensions.v1
    .CustomResourceDefinition as unknown as Ctor,
  "v1/Namespace": k8s.core.v1.Namespace as unknown as Ctor,
  "v1/ServiceAccount": k8s.core.v1.ServiceAccount as unknown as Ctor,
  "v1/ConfigMap": k8s.core.v1.ConfigMap as unknown as Ctor,
  "v1/Secret": k8s.core.v1.Secret as unknown as Ctor,
  "v1/Service": k8s.core.v1.Service as unknown as Ctor,
  "v1/PersistentVolumeClaim": k8s.core.v1.PersistentVolumeClaim as unknown as Ctor,
  "apps/v1/Deployment": k8s.apps.v1.Deployment as unknown as Ctor,
  "networking.k8s.io/v1/Ingress": k8s.networking.v1.Ingress as unknown as Ctor,
  "rbac.authorization.k8s.io/v1/ClusterRole": k8s.rbac.v1.ClusterRole as unknown as Ctor,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": k8s.rbac.v1.ClusterRoleBinding as unknown as Ctor,
  "rbac.authorization.k8s.io/v1/Role": k8s.rbac.v1.Role as unknown as Ctor,
  "rbac.authorization.k8s.io/v1/RoleBinding": k8s.rbac.v1.RoleBinding as unknown as Ctor,
  "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy": k8s.admissionregistration.v1
    .ValidatingAdmissionPolicy as unknown as Ctor,
  "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding": k8s.admissionregistration.v1
    .ValidatingAdmissionPolicyBinding as unknown as Ctor,
};

export function logicalName(manifest: Manifest): string {
  const { namespace, name } = manifest.metadata;
  return [manifest.kind.toLowerCase(), namespace, name].filter(Boolean).join("-");
}

/** Kinds that never become "ready" without a node running the workloads; Pulumi must not wait for them then. */
const awaited = new Set(["Deployment", "Service", "PersistentVolumeClaim", "Ingress"]);

export function resourceFor(
  manifest: Manifest,
  opts: pulumi.CustomResourceOptions,
  skipAwait: boolean,
): pulumi.CustomResource {
  // Create-only objects are kept by another owner (the controller) after creation: never overwrite them.
  const createOnly = manifest.metadata.annotations?.[createOnlyAnnotation] === "true";
  const annotations: Record<string, string> = {
    ...manifest.metadata.annotations,
    ...(skipAwait && awaited.has(manifest.kind) ? { "pulumi.com/skipAwait": "true" } : {}),
    // One install path: the program owns what it declares, also what `npm start` (or an earlier install)
    // applied with another field manager; without force, server-side apply refuses every field whose value
    // differs ("Server-Side Apply field conflict"). Only the fields declared here are taken over.
    ...(createOnly ? {} : { "pulumi.com/patchForce": "true" }),
  };
  // No empty map: Pulumi would see `annotations: {}` as a change on every up.
  const metadata =
    Object.keys(annotations).length > 0 ? { ...manifest.metadata, annotations } : manifest.metadata;
  const args = { ...manifest, metadata };
  if (createOnly) opts = { ...opts, ignoreChanges: [...(opts.ignoreChanges ?? []), "rules"] };
  const ctor = typed[`${manifest.apiVersion}/${manifest.kind}`];
  if (ctor) return new ctor(logicalName(manifest), args, opts);
  return new k8s.apiextensions.CustomResource(
    logicalName(manifest),
    args as k8s.apiextensions.CustomResourceArgs,
    opts,
  );
}

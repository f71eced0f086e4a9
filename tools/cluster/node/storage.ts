import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { KubeClient, KubeObject } from "../../../lib/kube/client.ts";

/**
 * Storage on the local node: a default StorageClass with a pool of static local PersistentVolumes, one
 * directory each in the node's directory, so claims (a shared-service instance's data, later the platform's
 * audit log) bind and their pods run. Static rather than a dynamic provisioner: nothing more to build or
 * run, and the node's directory goes with `cluster:down`. What that means: the declared capacity is not
 * enforced (a directory on the machine's disk), a released volume is kept (Retain) and not reused until the
 * cloud is recreated, and the pool has a fixed size (`volumes`). Why not Kubernetes' in-tree hostPath
 * provisioner: it creates root-owned 0750 directories, which the baseline's non-root pods cannot write.
 */
export const localStorage = {
  className: "govhost-local",
  volumes: 16,
  /** Declared per volume, so any plan's claim fits; not enforced on a directory. */
  capacity: "1Ti",
  label: "govhost.io/local-volume",
} as const;

export const localVolumeName = (i: number) => `govhost-local-${String(i).padStart(2, "0")}`;

/** Creates the pool's directories (writable by the pods' non-root users) and returns their paths. */
export function prepareLocalVolumes(nodeDir: string): string[] {
  const root = join(nodeDir, "volumes");
  return Array.from({ length: localStorage.volumes }, (_, i) => {
    const dir = join(root, localVolumeName(i));
    mkdirSync(dir, { recursive: true });
    // Pods run as arbitrary non-root users and local volumes get no fsGroup ownership change.
    chmodSync(dir, 0o777);
    return dir;
  });
}

export function localStorageObjects(nodeName: string, dirs: string[]): KubeObject[] {
  const storageClass: KubeObject = {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: {
      name: localStorage.className,
      annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
    },
    provisioner: "kubernetes.io/no-provisioner",
    // Bound when a pod is scheduled, as local volumes must be.
    volumeBindingMode: "WaitForFirstConsumer",
    reclaimPolicy: "Retain",
  };
  const volumes = dirs.map(
    (path, i): KubeObject => ({
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: localVolumeName(i), labels: { [localStorage.label]: "true" } },
      spec: {
        capacity: { storage: localStorage.capacity },
        accessModes: ["ReadWriteOnce"],
        persistentVolumeReclaimPolicy: "Retain",
        storageClassName: localStorage.className,
        volumeMode: "Filesystem",
        local: { path },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: [nodeName] }] },
            ],
          },
        },
      },
    }),
  );
  return [storageClass, ...volumes];
}

/** Applies the StorageClass and the pool's volumes (server-side apply, field manager govhost-node). */
export async function applyLocalStorage(admin: KubeClient, nodeName: string, nodeDir: string): Promise<void> {
  for (const object of localStorageObjects(nodeName, prepareLocalVolumes(nodeDir)))
    await admin.apply(object, { fieldManager: "govhost-node", force: true });
}

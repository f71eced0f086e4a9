import { writeFileSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";
import type { KubeClient } from "../../lib/kube/client.ts";

export function kubeConfigFrom(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/**
 * Writes a kubeconfig that authenticates as a service account with a real token from the TokenRequest API,
 * so a process run with it has exactly that account's RBAC (the controller's least privilege is tested).
 */
export async function writeServiceAccountKubeconfig(
  admin: KubeClient,
  adminKubeconfig: string,
  account: { namespace: string; serviceAccount: string },
  path: string,
): Promise<void> {
  const response = await admin.call<{ status: { token: string } }>(
    "POST",
    `/api/v1/namespaces/${account.namespace}/serviceaccounts/${account.serviceAccount}/token`,
    {
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { expirationSeconds: 7200 },
      },
    },
  );
  const cluster = kubeConfigFrom(adminKubeconfig).getCurrentCluster();
  if (!cluster) throw new Error("admin kubeconfig has no cluster");
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "local", server: cluster.server, caData: cluster.caData }],
    users: [{ name: account.serviceAccount, token: response.status.token }],
    contexts: [{ name: "local", cluster: "local", user: account.serviceAccount }],
    currentContext: "local",
  });
  writeFileSync(path, kc.exportConfig(), { mode: 0o600 });
}

import { readFileSync, writeFileSync } from "node:fs";

export interface KubeconfigIdentity {
  server: string;
  caCert: string;
  clientCert: string;
  clientKey: string;
  user: string;
}

const b64 = (path: string) => readFileSync(path).toString("base64");

/** Writes a self-contained kubeconfig (certificates embedded), readable only by its owner. */
export function writeKubeconfig(path: string, id: KubeconfigIdentity, contextName = "govhost-local"): void {
  const yaml = `apiVersion: v1
kind: Config
clusters:
- name: ${contextName}
  cluster:
    server: ${id.server}
    certificate-authority-data: ${b64(id.caCert)}
users:
- name: ${id.user}
  user:
    client-certificate-data: ${b64(id.clientCert)}
    client-key-data: ${b64(id.clientKey)}
contexts:
- name: ${contextName}
  context:
    cluster: ${contextName}
    user: ${id.user}
current-context: ${contextName}
`;
  writeFileSync(path, yaml, { mode: 0o600 });
}

import { existsSync, readFileSync } from "node:fs";
import type { RequestOptions } from "node:https";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join } from "node:path";
import type { KubeConfig } from "@kubernetes/client-node";
import { parse } from "yaml";

// Where a client finds its API server and credentials. The controller and the portal API (in a pod: the
// service account; on the host: a kubeconfig with a token or a client certificate) read them here.
// @kubernetes/client-node does the same and more, but loading it loads its generated API models too: about
// 85 MiB of memory in every process, which the controller cannot afford (docs/reliability.md). It is still
// used, loaded on demand, for what this file does not read itself: exec and auth-provider plugins,
// several kubeconfig files merged, and basic auth.

export interface ClusterCredentials {
  /** The API server's URL, without a trailing slash. */
  server: string;
  /** Adds TLS material and the Authorization header; called again when credentials may have rotated. */
  apply(options: RequestOptions): Promise<void>;
}

const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The credentials a client of a given KubeConfig object uses (callers that already hold one). */
export function credentialsOf(kc: KubeConfig): ClusterCredentials {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster");
  return { server: cluster.server.replace(/\/$/, ""), apply: (options) => kc.applyToHTTPSOptions(options) };
}

/** $KUBECONFIG, else ~/.kube/config, else the pod's service account (as kubectl and client-go look). */
export async function defaultCredentials(): Promise<ClusterCredentials> {
  const paths = (process.env.KUBECONFIG ?? "").split(delimiter).filter(Boolean);
  if (paths.length > 1) return viaClientNode();
  const path = paths[0] ?? join(homedir(), ".kube", "config");
  if (paths.length === 1 || existsSync(path)) return (await kubeconfigCredentials(path)) ?? viaClientNode();
  const host = process.env.KUBERNETES_SERVICE_HOST;
  if (host && existsSync(join(serviceAccountDir, "token"))) {
    const port = process.env.KUBERNETES_SERVICE_PORT ?? "443";
    return {
      server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
      apply: async (options) => {
        options.ca = readFileSync(join(serviceAccountDir, "ca.crt"));
        // The projected token rotates: read again every time the client reloads its options.
        setBearer(options, readFileSync(join(serviceAccountDir, "token"), "utf8").trim());
      },
    };
  }
  return viaClientNode();
}

async function viaClientNode(): Promise<ClusterCredentials> {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return credentialsOf(kc);
}

type Named<T> = { name: string } & T;
interface KubeconfigFile {
  "current-context"?: string;
  contexts?: Named<{ context?: { cluster?: string; user?: string } }>[];
  clusters?: Named<{
    cluster?: {
      server?: string;
      "certificate-authority"?: string;
      "certificate-authority-data"?: string;
      "insecure-skip-tls-verify"?: boolean;
    };
  }>[];
  users?: Named<{ user?: Record<string, unknown> }>[];
}

/** What this file reads itself from a user entry; anything else goes to @kubernetes/client-node. */
const plainUserFields = new Set([
  "token",
  "tokenFile",
  "client-certificate",
  "client-certificate-data",
  "client-key",
  "client-key-data",
]);

/** A kubeconfig file's current context, or undefined when it needs @kubernetes/client-node's plugins. */
async function kubeconfigCredentials(path: string): Promise<ClusterCredentials | undefined> {
  const file = parse(readFileSync(path, "utf8")) as KubeconfigFile;
  const contextName = file["current-context"];
  const context = file.contexts?.find((c) => c.name === contextName)?.context;
  const cluster = file.clusters?.find((c) => c.name === context?.cluster)?.cluster;
  const user = file.users?.find((u) => u.name === context?.user)?.user ?? {};
  if (!cluster?.server) throw new Error(`${path}: the current context names no cluster with a server`);
  if (Object.keys(user).some((field) => !plainUserFields.has(field))) {
    const { KubeConfig } = await import("@kubernetes/client-node");
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    return credentialsOf(kc);
  }
  const base = dirname(path);
  const material = (data: unknown, file: unknown): Buffer | undefined => {
    if (typeof data === "string") return Buffer.from(data, "base64");
    if (typeof file === "string") return readFileSync(isAbsolute(file) ? file : join(base, file));
    return undefined;
  };
  const server = cluster.server.replace(/\/$/, "");
  return {
    server,
    apply: async (options) => {
      const ca = material(cluster["certificate-authority-data"], cluster["certificate-authority"]);
      if (ca) options.ca = ca;
      if (cluster["insecure-skip-tls-verify"]) options.rejectUnauthorized = false;
      const cert = material(user["client-certificate-data"], user["client-certificate"]);
      const key = material(user["client-key-data"], user["client-key"]);
      if (cert) options.cert = cert;
      if (key) options.key = key;
      const token =
        typeof user.token === "string"
          ? user.token
          : typeof user.tokenFile === "string"
            ? readFileSync(user.tokenFile, "utf8").trim()
            : undefined;
      if (token) setBearer(options, token);
    },
  };
}

function setBearer(options: RequestOptions, token: string): void {
  options.headers = { ...(options.headers as Record<string, string>), authorization: `Bearer ${token}` };
}

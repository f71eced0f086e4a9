import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ManagedProcess, startDaemon } from "../processes.ts";
import { nodeNetwork } from "./network.ts";
import { httpOk } from "./wait.ts";

/**
 * The local cloud's OCI registry: Debian's `docker-registry` (the CNCF Distribution registry, 2.8), two
 * processes over one storage directory:
 * - pulls: HTTPS on the node address, read-only, with a certificate of the cluster CA. containerd reaches it
 *   under the name `registry.govhost.local` (its hosts.toml maps the name to the node address), so image
 *   references never carry an IP, and the security baseline lists that prefix for the local stack. Pods can
 *   reach the node address too, so this endpoint refuses every upload: a tenant cannot replace an image.
 * - pushes: plain HTTP on the host's loopback only, which no pod can reach (pods have their own network
 *   namespace and hostNetwork is refused by the baseline). The image tool (tools/image) pushes there.
 * Both share the storage (in the node's directory), so a pushed tag is pullable at once; `cluster:down`
 * removes it with the rest of the cluster's data.
 */
/** Debian's docker-registry package. */
export const registryBinary = "/usr/bin/docker-registry";

export const localRegistry = {
  /** The registry host in image references, e.g. registry.govhost.local/govhost/demo-site:fixed. */
  host: "registry.govhost.local",
  pullAddress: `${nodeNetwork.nodeIp}:5443`,
} as const;

/** The baseline's allowed-registry prefix for the local stack. */
export const localRegistryPrefix = `${localRegistry.host}/`;

export interface RegistryPaths {
  storage: string;
  dir: string;
}

export function registryPaths(nodeDir: string): RegistryPaths {
  const dir = join(nodeDir, "registry");
  return { dir, storage: join(dir, "storage") };
}

interface RegistryConfigOptions {
  storage: string;
  address: string;
  readOnly: boolean;
  tls?: { certificate: string; key: string };
}

/**
 * The registry's configuration. Distribution reads YAML; JSON is YAML, so the object is written as JSON
 * rather than through a hand-rolled YAML writer.
 */
export function registryConfig(o: RegistryConfigOptions): string {
  return JSON.stringify(
    {
      version: 0.1,
      log: { level: "info", formatter: "text", fields: { service: "registry" } },
      storage: {
        filesystem: { rootdirectory: o.storage },
        delete: { enabled: !o.readOnly },
        maintenance: {
          readonly: { enabled: o.readOnly },
          // Only the writer owns upload state; the reader must not purge what the writer is receiving.
          uploadpurging: o.readOnly
            ? { enabled: false }
            : { enabled: true, age: "24h", interval: "1h", dryrun: false },
        },
      },
      http: {
        addr: o.address,
        // Signs upload state between requests; each start gets a fresh one (uploads do not span restarts).
        secret: randomBytes(32).toString("hex"),
        headers: { "X-Content-Type-Options": ["nosniff"] },
        ...(o.tls ? { tls: { certificate: o.tls.certificate, key: o.tls.key, minimumtls: "tls1.2" } } : {}),
      },
    },
    null,
    2,
  );
}

export interface RegistryEndpoints {
  /** host:port on the loopback that the image tool pushes to (plain HTTP, host only). */
  pushAddress: string;
  /** host:port on the node address that containerd pulls from (HTTPS, read-only). */
  pullAddress: string;
}

/** Starts the read-only pull endpoint and the host-only push endpoint over the node's registry storage. */
export function startRegistry(o: {
  binary: string;
  nodeDir: string;
  logDir: string;
  pushPort: number;
  tls: { certificate: string; key: string };
}): { processes: ManagedProcess[]; endpoints: RegistryEndpoints } {
  const paths = registryPaths(o.nodeDir);
  mkdirSync(paths.storage, { recursive: true });
  const endpoints = { pushAddress: `127.0.0.1:${o.pushPort}`, pullAddress: localRegistry.pullAddress };
  const start = (role: "pull" | "push", options: RegistryConfigOptions) => {
    const config = join(paths.dir, `${role}.json`);
    writeFileSync(config, registryConfig(options), { mode: 0o600 });
    // The process name is matched against /proc/<pid>/cmdline, which holds "docker-registry serve ...".
    return startDaemon("registry", o.binary, ["serve", config], join(o.logDir, `registry-${role}.log`));
  };
  const processes = [
    start("pull", { storage: paths.storage, address: endpoints.pullAddress, readOnly: true, tls: o.tls }),
    start("push", { storage: paths.storage, address: endpoints.pushAddress, readOnly: false }),
  ];
  return { processes, endpoints };
}

/**
 * containerd's registry host configuration (config_path): the local registry's name resolves to the pull
 * endpoint, verified with the cluster CA. Nothing else is configured, so every other registry is reached
 * as containerd would by default (and the baseline refuses images from them anyway).
 */
export function writeContainerdRegistryHosts(certsDir: string, caCert: string): void {
  const dir = join(certsDir, localRegistry.host);
  mkdirSync(dir, { recursive: true });
  const server = `https://${localRegistry.pullAddress}`;
  writeFileSync(
    join(dir, "hosts.toml"),
    `server = "${server}"\n\n[host."${server}"]\n  capabilities = ["pull", "resolve"]\n  ca = "${caCert}"\n`,
  );
}

/** Both endpoints answer the registry API's version check (the pull endpoint verified with the cluster CA). */
export async function registryAnswers(endpoints: RegistryEndpoints, ca: Buffer): Promise<boolean> {
  const [push, pull] = await Promise.all([
    httpOk(`http://${endpoints.pushAddress}/v2/`),
    httpOk(`https://${endpoints.pullAddress}/v2/`, ca),
  ]);
  return push && pull;
}

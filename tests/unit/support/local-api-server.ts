import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeKubeconfig } from "../../../tools/cluster/kubeconfig.ts";
import { createPki } from "../../../tools/cluster/pki.ts";

/** An HTTPS server standing in for the API server (its own CA and client certificate), and a kubeconfig for it. */
export async function startLocalApiServer(
  prefix: string,
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ kubeconfig: string; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), `govhost-${prefix}-`));
  const pki = createPki(dir);
  const server = createServer(
    { cert: readFileSync(pki.servingCert), key: readFileSync(pki.servingKey) },
    handle,
  );
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const kubeconfig = join(dir, "kubeconfig");
  writeKubeconfig(kubeconfig, {
    server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    caCert: pki.caCert,
    clientCert: pki.adminCert,
    clientKey: pki.adminKey,
    user: "admin",
  });
  return {
    kubeconfig,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

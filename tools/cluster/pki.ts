import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { nodeNetwork } from "./node/network.ts";

/** File paths of the local control plane's certificates and keys (PEM). */
export interface Pki {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  controllerManagerCert: string;
  controllerManagerKey: string;
  /** The API server's client certificate for kubelets (logs, exec, port-forward, node proxy). */
  kubeletClientCert: string;
  kubeletClientKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  /** The aggregation layer's own CA and the client certificate it presents to extension API servers. */
  frontProxyCaCert: string;
  frontProxyClientCert: string;
  frontProxyClientKey: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

export const clientExtensions =
  "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n";

const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function createCa(dir: string, name: string, subject: string): void {
  openssl(
    [
      "req",
      "-x509",
      "-new",
      ...ecKey,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.crt`,
      "-days",
      "365",
    ].concat(["-sha256", "-subj", subject]),
    dir,
  );
}

/** Issues a leaf certificate signed by the CA `ca` in `dir`; `extensions` is an openssl extension section. */
export function issue(dir: string, name: string, subject: string, extensions: string, ca = "ca"): void {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(["req", "-new", ...ecKey, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject], dir);
  openssl(
    [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${ca}.crt`,
      "-CAkey",
      `${ca}.key`,
      "-CAcreateserial",
      "-days",
      "365",
      "-sha256",
      "-out",
      `${name}.crt`,
      "-extfile",
      `${name}.ext`,
    ],
    dir,
  );
}

/**
 * Creates a throw-away PKI for one local control plane: a CA, the API server's serving certificate,
 * client certificates for the admin (group system:masters) and the controller manager, and the
 * service-account signing key pair. Requires the openssl CLI.
 */
export function createPki(dir: string): Pki {
  createCa(dir, "ca", "/CN=govhost-local-ca");
  const sans = [
    "IP:127.0.0.1",
    // The `kubernetes` Service's address, through which pods reach the API server.
    `IP:${nodeNetwork.kubernetesServiceIp}`,
    // Where the API server listens when a node runs (pods reach it there through the `kubernetes` Service).
    `IP:${nodeNetwork.nodeIp}`,
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
  ].join(",");
  issue(
    dir,
    "apiserver",
    "/CN=kube-apiserver",
    `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans}\n`,
  );
  const client = clientExtensions;
  issue(dir, "admin", "/O=system:masters/CN=govhost-admin", client);
  issue(dir, "controller-manager", "/CN=system:kube-controller-manager", client);
  issue(dir, "apiserver-kubelet-client", "/CN=kube-apiserver-kubelet-client", client);
  // A separate CA for the aggregation layer, as kubeadm does: extension API servers trust identity headers
  // only from a client certificate of this CA, which nothing but the API server holds.
  createCa(dir, "front-proxy-ca", "/CN=govhost-front-proxy-ca");
  issue(dir, "front-proxy-client", "/CN=front-proxy-client", client, "front-proxy-ca");
  openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", "sa.key"], dir);
  openssl(["pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir);
  const at = (file: string) => join(dir, file);
  return {
    caCert: at("ca.crt"),
    caKey: at("ca.key"),
    servingCert: at("apiserver.crt"),
    servingKey: at("apiserver.key"),
    adminCert: at("admin.crt"),
    adminKey: at("admin.key"),
    controllerManagerCert: at("controller-manager.crt"),
    controllerManagerKey: at("controller-manager.key"),
    kubeletClientCert: at("apiserver-kubelet-client.crt"),
    kubeletClientKey: at("apiserver-kubelet-client.key"),
    serviceAccountKey: at("sa.key"),
    serviceAccountPub: at("sa.pub"),
    frontProxyCaCert: at("front-proxy-ca.crt"),
    frontProxyClientCert: at("front-proxy-client.crt"),
    frontProxyClientKey: at("front-proxy-client.key"),
  };
}

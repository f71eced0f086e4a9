import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { binaryVersion, type ControlPlaneBinaries } from "../upstream/binaries.ts";
import { writeKubeconfig } from "./kubeconfig.ts";
import { nodeNetwork } from "./node/network.ts";
import { createPki, type Pki } from "./pki.ts";
import { freePorts } from "./ports.ts";
import { isAlive, logTail, type ManagedProcess, signalGroup, startDaemon, stopProcess } from "./processes.ts";

/** Everything needed to find, use and stop a running local control plane; persisted as JSON. */
export interface ControlPlaneState {
  version: string;
  server: string;
  kubeconfig: string;
  workDir: string;
  startedAt: string;
  ports: { etcdClient: number; etcdPeer: number; apiserver: number; controllerManager: number };
  processes: ManagedProcess[];
  /** Paths of the cluster's certificates and keys (in workDir). */
  pki: Pki;
}

export interface StartOptions {
  binaries: ControlPlaneBinaries;
  /** Where the admin kubeconfig is written. */
  kubeconfig: string;
  /** Parent of the control plane's temporary work directory (PKI, etcd data, logs). */
  tmpRoot?: string;
  readyTimeoutMs?: number;
  onProgress?: (message: string) => void;
  /**
   * Where the API server listens and what it advertises. Default 127.0.0.1 (no node). With a node, the node
   * address: pods reach the API server there through the `kubernetes` Service, whose endpoints the lease
   * reconciler keeps (loopback may not be published as an endpoint). Clients on this machine use it too.
   */
  address?: string;
  /** Keep reads in the API server's audit log too (benchmarks counting a client's API calls). */
  auditReads?: boolean;
}

const serviceCidr = nodeNetwork.serviceCidr;

function etcdArgs(dataDir: string, client: number, peer: number): string[] {
  const clientUrl = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  return [
    "--name=govhost",
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=govhost=${peerUrl}`,
    "--unsafe-no-fsync",
    "--log-level=warn",
  ];
}

/**
 * The API server's audit log: who changed what, when, at metadata level (no bodies, so no Secret values);
 * reads are logged only with `auditReads`. Fault tests and benchmarks read it (tools/cluster/api-audit.ts)
 * to count requests by controller replica (each names itself in User-Agent).
 */
export const apiAuditLogOf = (state: { workDir: string }) =>
  join(state.workDir, "logs", "kube-apiserver-audit.log");
const auditPolicyFile = (workDir: string) => join(workDir, "audit-policy.yaml");
const auditPolicy = (reads: boolean) =>
  [
    "apiVersion: audit.k8s.io/v1",
    "kind: Policy",
    "omitStages: [RequestReceived]",
    "rules:",
    ...(reads ? [] : ["  - level: None", "    verbs: [get, list, watch]"]),
    "  - level: Metadata",
    "",
  ].join("\n");

function apiserverArgs(
  pki: Pki,
  etcdClient: number,
  port: number,
  address: string,
  workDir: string,
): string[] {
  const loopback = address === "127.0.0.1";
  const policy = auditPolicyFile(workDir);
  if (!existsSync(policy)) writeFileSync(policy, auditPolicy(false));
  return [
    `--etcd-servers=http://127.0.0.1:${etcdClient}`,
    `--bind-address=${address}`,
    `--advertise-address=${address}`,
    // Loopback may not be published as the endpoints of the `kubernetes` Service: without a node nothing
    // in-cluster needs them; with one, the lease reconciler publishes the node address.
    `--endpoint-reconciler-type=${loopback ? "none" : "lease"}`,
    `--secure-port=${port}`,
    `--tls-cert-file=${pki.servingCert}`,
    `--tls-private-key-file=${pki.servingKey}`,
    `--client-ca-file=${pki.caCert}`,
    // The Node authorizer and the NodeRestriction admission plugin confine a kubelet to its own node and
    // the objects of the pods bound to it; everyone else is judged by RBAC.
    "--authorization-mode=Node,RBAC",
    "--enable-admission-plugins=NodeRestriction",
    // Logs, exec, port-forward and the node proxy: the API server calls kubelets with its own client
    // certificate, at their InternalIP, and checks their serving certificates against the cluster CA.
    `--kubelet-client-certificate=${pki.kubeletClientCert}`,
    `--kubelet-client-key=${pki.kubeletClientKey}`,
    `--kubelet-certificate-authority=${pki.caCert}`,
    "--kubelet-preferred-address-types=InternalIP,Hostname",
    // Real clusters allow privileged pods at the API level and leave the decision to Pod Security
    // Admission; with the default (false) validation would reject them before PSA could say why.
    "--allow-privileged=true",
    `--service-cluster-ip-range=${serviceCidr}`,
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    // The aggregation layer (APIService), so extension servers such as metrics-server can be installed.
    `--requestheader-client-ca-file=${pki.frontProxyCaCert}`,
    "--requestheader-allowed-names=front-proxy-client",
    "--requestheader-username-headers=X-Remote-User",
    "--requestheader-group-headers=X-Remote-Group",
    "--requestheader-extra-headers-prefix=X-Remote-Extra-",
    `--proxy-client-cert-file=${pki.frontProxyClientCert}`,
    `--proxy-client-key-file=${pki.frontProxyClientKey}`,
    "--profiling=false",
    `--audit-policy-file=${policy}`,
    `--audit-log-path=${apiAuditLogOf({ workDir })}`,
    "--audit-log-maxsize=100",
    "--audit-log-maxbackup=1",
  ];
}

function controllerManagerArgs(pki: Pki, kubeconfig: string, certDir: string, port: number): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    "--leader-elect=false",
    "--use-service-account-credentials=true",
    `--service-account-private-key-file=${pki.serviceAccountKey}`,
    `--root-ca-file=${pki.caCert}`,
    `--cluster-signing-cert-file=${pki.caCert}`,
    `--cluster-signing-key-file=${pki.caKey}`,
    `--service-cluster-ip-range=${serviceCidr}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${port}`,
    `--cert-dir=${certDir}`,
    "--profiling=false",
    // Quotas created before the controller discovers a new CRD (it looks every 30 s) count its objects only
    // at the next full resync; a short period keeps that wait bounded on a freshly installed cluster.
    "--resource-quota-sync-period=30s",
  ];
}

/** One GET against the API server with the admin client certificate; resolves to the HTTP status. */
function adminGet(server: string, pki: Pki, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      `${server}${path}`,
      {
        ca: readFileSync(pki.caCert),
        cert: readFileSync(pki.adminCert),
        key: readFileSync(pki.adminKey),
        timeout: 5_000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("error", () => resolve(0));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  processes: ManagedProcess[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const dead = processes.find((p) => !isAlive(p.pid));
    if (dead)
      throw new Error(`${dead.name} exited while waiting for ${what}; last log lines:\n${logTail(dead.log)}`);
    if (await check()) return;
    await sleep(250);
  }
  const logs = processes.map((p) => `--- ${p.name} (${p.log})\n${logTail(p.log, 8)}`).join("\n");
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}\n${logs}`);
}

/**
 * Starts etcd, kube-apiserver and kube-controller-manager on free loopback ports with a fresh PKI,
 * waits until the API server is ready and the controller manager has created the default service account,
 * and writes an admin kubeconfig. On failure everything started is stopped again.
 */
export async function startControlPlane(options: StartOptions): Promise<ControlPlaneState> {
  const progress = options.onProgress ?? (() => {});
  const timeout = options.readyTimeoutMs ?? 120_000;
  const root = options.tmpRoot ?? tmpdir();
  mkdirSync(root, { recursive: true });
  const workDir = mkdtempSync(join(root, "govhost-cluster-"));
  const pkiDir = join(workDir, "pki");
  const logDir = join(workDir, "logs");
  mkdirSync(pkiDir, { mode: 0o700 });
  mkdirSync(logDir);
  if (options.auditReads) writeFileSync(auditPolicyFile(workDir), auditPolicy(true));
  progress("generating certificates");
  const pki = createPki(pkiDir);
  const [etcdClient, etcdPeer, apiserver, controllerManager] = (await freePorts(4)) as [
    number,
    number,
    number,
    number,
  ];
  const address = options.address ?? "127.0.0.1";
  const server = `https://${address}:${apiserver}`;
  const processes: ManagedProcess[] = [];
  const state: ControlPlaneState = {
    version: binaryVersion(options.binaries.kubeApiserver),
    server,
    kubeconfig: options.kubeconfig,
    workDir,
    startedAt: new Date().toISOString(),
    ports: { etcdClient, etcdPeer, apiserver, controllerManager },
    processes,
    pki,
  };
  try {
    progress(`starting etcd on 127.0.0.1:${etcdClient}`);
    processes.push(startComponent(state, options.binaries, "etcd", join(logDir, "etcd.log")));
    progress(`starting kube-apiserver (${state.version}) on ${server}`);
    processes.push(
      startComponent(state, options.binaries, "kube-apiserver", join(logDir, "kube-apiserver.log")),
    );
    await apiserverReady(state, timeout);

    const kcmKubeconfig = join(workDir, "controller-manager.kubeconfig");
    writeKubeconfig(kcmKubeconfig, {
      server,
      caCert: pki.caCert,
      clientCert: pki.controllerManagerCert,
      clientKey: pki.controllerManagerKey,
      user: "system:kube-controller-manager",
    });
    progress("starting kube-controller-manager");
    processes.push(
      startDaemon(
        "kube-controller-manager",
        options.binaries.kubeControllerManager,
        controllerManagerArgs(pki, kcmKubeconfig, join(workDir, "kcm-certs"), controllerManager),
        join(logDir, "kube-controller-manager.log"),
      ),
    );
    await waitFor(
      "the controller manager to create service account default/default",
      async () => (await adminGet(server, pki, "/api/v1/namespaces/default/serviceaccounts/default")) === 200,
      processes,
      timeout,
    );

    mkdirSync(dirname(options.kubeconfig), { recursive: true });
    writeKubeconfig(options.kubeconfig, {
      server,
      caCert: pki.caCert,
      clientCert: pki.adminCert,
      clientKey: pki.adminKey,
      user: "govhost-admin",
    });
    return state;
  } catch (error) {
    await stopControlPlane(state);
    throw error;
  }
}

/**
 * Kills one of the control plane's processes (SIGKILL: a crash, not a shutdown) and starts it again with
 * the same arguments, ports, data and certificates, as a supervisor would; resolves once the API server is
 * ready again. For fault tests: clients must recover without being restarted themselves.
 */
export async function crashAndRestart(
  state: ControlPlaneState,
  binaries: ControlPlaneBinaries,
  name: "etcd" | "kube-apiserver",
  options: { downMs?: number; readyTimeoutMs?: number } = {},
): Promise<void> {
  const index = state.processes.findIndex((p) => p.name === name);
  const proc = state.processes[index];
  if (!proc) throw new Error(`the control plane has no ${name} process`);
  signalGroup(proc.pid, "SIGKILL");
  while (isAlive(proc.pid)) await sleep(50);
  await sleep(options.downMs ?? 0);
  state.processes[index] = startComponent(state, binaries, name, proc.log);
  await apiserverReady(state, options.readyTimeoutMs ?? 120_000);
}

/** Starts etcd or the kube-apiserver with the state's ports, data directory and certificates. */
function startComponent(
  state: ControlPlaneState,
  binaries: ControlPlaneBinaries,
  name: "etcd" | "kube-apiserver",
  log: string,
): ManagedProcess {
  const { ports, pki, workDir } = state;
  return name === "etcd"
    ? startDaemon(name, binaries.etcd, etcdArgs(join(workDir, "etcd"), ports.etcdClient, ports.etcdPeer), log)
    : startDaemon(
        name,
        binaries.kubeApiserver,
        apiserverArgs(pki, ports.etcdClient, ports.apiserver, new URL(state.server).hostname, workDir),
        log,
      );
}

function apiserverReady(state: ControlPlaneState, timeoutMs: number): Promise<void> {
  return waitFor(
    "kube-apiserver /readyz",
    async () => (await adminGet(state.server, state.pki, "/readyz")) === 200,
    state.processes,
    timeoutMs,
  );
}

/** Stops every process of the control plane (newest first) and removes its work directory. */
export async function stopControlPlane(state: ControlPlaneState, options: { keepWorkDir?: boolean } = {}) {
  for (const proc of [...state.processes].reverse()) await stopProcess(proc);
  if (!options.keepWorkDir) rmSync(state.workDir, { recursive: true, force: true });
}

export function saveState(path: string, state: ControlPlaneState): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

export function loadState(path: string): ControlPlaneState | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as ControlPlaneState;
  } catch {
    return undefined;
  }
}

import { existsSync } from "node:fs";
import { relative } from "node:path";
import { KubeClient } from "../../lib/kube/client.ts";
import { localClusterState } from "../../lib/local-state.ts";
import { pinnedVersions } from "../upstream/versions.ts";
import type { CloudState } from "./cloud.ts";
import { kubeConfigFrom } from "./credentials.ts";
import { ensureLocalControlPlane, type LocalPaths, loadCloudState, stopLocalControlPlane } from "./local.ts";
import { localIngress, localPublicDomains } from "./node/ingress.ts";
import { metricsApiAvailable } from "./node/metrics-server.ts";
import { networkPolicyEnforced } from "./node/network-policy.ts";
import { localRegistry, type RegistryEndpoints } from "./node/registry.ts";
import { nodeReadiness } from "./node/wait.ts";
import { isRunning, type ManagedProcess } from "./processes.ts";

const say = (message: string) => process.stdout.write(`govhost cluster: ${message}\n`);

/**
 * `--state PATH`: a cluster saved elsewhere than .govhost/ (a test run's, named by the node lock), for down
 * and status.
 */
function pathsFromArgs(): LocalPaths | undefined {
  const at = process.argv.indexOf("--state");
  const state = at > 0 ? process.argv[at + 1] : undefined;
  if (!state) return undefined;
  return {
    state,
    kubeconfig: loadCloudState({ state, kubeconfig: "" })?.kubeconfig ?? `${state}.kubeconfig`,
  };
}

async function up(): Promise<void> {
  const started = Date.now();
  const { state, startedHere } = await ensureLocalControlPlane(say);
  if (startedHere)
    say(`ready in ${((Date.now() - started) / 1000).toFixed(1)}s: ${state.version} at ${state.server}`);
  else say(`already running: ${state.version} at ${state.server}`);
  say(state.node ? `node ${state.node.name}: Ready` : `no node: ${state.nodeAbsent}`);
  if (state.node) say(registryLine(state.node.registry));
  if (state.node) say(ingressLine());
  say(`logs and data: ${state.workDir}`);
  process.stdout.write(`export KUBECONFIG=${state.kubeconfig}\n`);
}

async function down(): Promise<void> {
  const stopped = await stopLocalControlPlane(say, pathsFromArgs());
  if (!stopped) {
    say("nothing to stop");
    return;
  }
  const { state, problems } = stopped;
  const names = [...(state.node?.processes ?? []), ...state.processes].map((p) => p.name);
  say(`stopped ${names.join(", ")} and removed ${state.workDir}`);
  if (state.node) say(problems.length === 0 ? "the node's side effects are undone" : "could not undo:");
  for (const problem of problems) say(`  ${problem}`);
  if (problems.length > 0) process.exitCode = 1;
}

function processLine(p: ManagedProcess): string {
  const health = isRunning(p) ? "running" : "NOT RUNNING";
  return `  ${p.name.padEnd(24)} pid ${String(p.pid).padEnd(8)} ${health.padEnd(12)} log ${p.log}`;
}

/** The node's line: Ready (or the condition's reason) from the API server, or why there is no node. */
async function nodeLine(state: CloudState): Promise<string> {
  if (!state.node) return `no node: ${state.nodeAbsent ?? "started without one"}`;
  try {
    const admin = await KubeClient.fromKubeConfig(kubeConfigFrom(state.kubeconfig));
    try {
      const ready = await nodeReadiness(admin, state.node.name);
      if (!ready) return `node ${state.node.name}: not registered with the API server`;
      if (ready.status === "True") return `node ${state.node.name}: Ready`;
      return `node ${state.node.name}: not Ready (${ready.reason ?? ready.status}${ready.message ? `: ${ready.message}` : ""})`;
    } finally {
      admin.close();
    }
  } catch (error) {
    return `node ${state.node.name}: unknown, the API server did not answer (${String(error)})`;
  }
}

function ingressLine(): string {
  return `ingress: Traefik ${pinnedVersions().traefik} (class ${localIngress.className}) on https://${localIngress.address}, default certificate for ${localPublicDomains.map((d) => `*.${d}`).join(", ")}`;
}

async function metricsLine(state: CloudState): Promise<string> {
  const what = `metrics API (metrics.k8s.io): metrics-server ${pinnedVersions().metricsServer}`;
  try {
    const admin = await KubeClient.fromKubeConfig(kubeConfigFrom(state.kubeconfig));
    try {
      return `${what}, ${(await metricsApiAvailable(admin)) ? "Available" : "not Available yet (about 20 s after start)"}`;
    } finally {
      admin.close();
    }
  } catch (error) {
    return `${what}, unknown (${String(error)})`;
  }
}

function networkPolicyLine(): string {
  const what = `NetworkPolicy: kube-router ${pinnedVersions().kubeRouter} (firewall only)`;
  return `${what}, ${networkPolicyEnforced() ? "enforcing" : "NOT enforcing (no rules in the filter table)"}`;
}

function registryLine(endpoints: RegistryEndpoints): string {
  return `registry ${localRegistry.host} (pulls: https://${endpoints.pullAddress}, read-only; pushes from this host: ${endpoints.pushAddress}, e.g. npm run image)`;
}

async function status(): Promise<number> {
  const paths = pathsFromArgs();
  const state = loadCloudState(paths);
  if (!state) {
    say(`not running (no ${relative(process.cwd(), paths?.state ?? localClusterState)})`);
    return 3;
  }
  const processes = [...state.processes, ...(state.node?.processes ?? [])];
  say(`${state.version} at ${state.server}, started ${state.startedAt}`);
  for (const p of processes) say(processLine(p));
  say(`kubeconfig ${existsSync(state.kubeconfig) ? state.kubeconfig : "(missing)"}`);
  const line = await nodeLine(state);
  say(line);
  if (state.node) say(registryLine(state.node.registry));
  if (state.node) say(ingressLine());
  if (state.node) say(await metricsLine(state));
  if (state.node) say(networkPolicyLine());
  const allUp = processes.every(isRunning);
  return allUp && (!state.node || line.endsWith(": Ready")) ? 0 : 1;
}

const command = process.argv[2];
try {
  if (command === "up") await up();
  else if (command === "down") await down();
  else if (command === "status") process.exitCode = await status();
  else {
    process.stderr.write("usage: node tools/cluster/cli.ts up|down|status\n");
    process.exitCode = 2;
  }
} catch (error) {
  process.stderr.write(`govhost cluster: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}

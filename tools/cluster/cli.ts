import { existsSync } from "node:fs";
import { relative } from "node:path";
import { localClusterState } from "../../lib/local-state.ts";
import { loadState, runningProcesses } from "./controlplane.ts";
import { ensureLocalControlPlane, stopLocalControlPlane } from "./local.ts";

const say = (message: string) => process.stdout.write(`govhost cluster: ${message}\n`);

async function up(): Promise<void> {
  const started = Date.now();
  const { state, startedHere } = await ensureLocalControlPlane(say);
  if (startedHere)
    say(`ready in ${((Date.now() - started) / 1000).toFixed(1)}s: ${state.version} at ${state.server}`);
  else say(`already running: ${state.version} at ${state.server}`);
  say(`logs and data: ${state.workDir}`);
  process.stdout.write(`export KUBECONFIG=${state.kubeconfig}\n`);
}

async function down(): Promise<void> {
  const state = await stopLocalControlPlane();
  if (state) say(`stopped ${state.processes.map((p) => p.name).join(", ")} and removed ${state.workDir}`);
  else say("nothing to stop");
}

function status(): number {
  const state = loadState(localClusterState);
  if (!state) {
    say(`not running (no ${relative(process.cwd(), localClusterState)})`);
    return 3;
  }
  const running = new Set(runningProcesses(state).map((p) => p.pid));
  say(`${state.version} at ${state.server}, started ${state.startedAt}`);
  for (const p of state.processes) {
    const health = running.has(p.pid) ? "running" : "NOT RUNNING";
    say(`  ${p.name.padEnd(24)} pid ${String(p.pid).padEnd(8)} ${health.padEnd(12)} log ${p.log}`);
  }
  say(`kubeconfig ${existsSync(state.kubeconfig) ? state.kubeconfig : "(missing)"}`);
  return running.size === state.processes.length ? 0 : 1;
}

const command = process.argv[2];
try {
  if (command === "up") await up();
  else if (command === "down") await down();
  else if (command === "status") process.exitCode = status();
  else {
    process.stderr.write("usage: node tools/cluster/cli.ts up|down|status\n");
    process.exitCode = 2;
  }
} catch (error) {
  process.stderr.write(`govhost cluster: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}

import { ensureLocalControlPlane, stopLocalControlPlane } from "./cluster/local.ts";
import { localKubeconfig } from "./cluster/paths.ts";

// `npm start`: the main job on the embedded default. With KUBECONFIG set it uses that cluster; otherwise it
// starts (or reuses) the local control plane. Platform components join here as they are built.
const say = (message: string) => process.stdout.write(`govhost: ${message}\n`);

async function main(): Promise<void> {
  const external = process.env.KUBECONFIG;
  let startedLocal = false;
  if (external) {
    say(`using the cluster in KUBECONFIG=${external}`);
  } else {
    say(
      "no KUBECONFIG given: using the local control plane (the first run builds it from source, see README)",
    );
    const { state, startedHere } = await ensureLocalControlPlane((m) => say(`  ${m}`));
    startedLocal = startedHere;
    say(`local control plane ${startedHere ? "started" : "reused"}: ${state.version} at ${state.server}`);
  }
  say(`try it:  export KUBECONFIG=${external ?? localKubeconfig} && kubectl get namespaces`);
  say("running; press Ctrl-C to stop");

  const stop = async () => {
    if (startedLocal) {
      say("stopping the local control plane it started");
      await stopLocalControlPlane();
    }
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  setInterval(() => {}, 1 << 30);
}

main().catch((error: unknown) => {
  process.stderr.write(`govhost: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

import { join } from "node:path";
import { KubeClient } from "../controller/runtime/kube-client.ts";
import { kubeConfigFrom } from "./cluster/credentials.ts";
import { ensureLocalControlPlane, stopLocalControlPlane } from "./cluster/local.ts";
import { localKubeconfig, projectRoot } from "./cluster/paths.ts";
import { spawnController } from "./controller-process.ts";
import { demoDepartments } from "./demo-data.ts";
import { preparePlatform } from "./install-platform.ts";

// `npm start`: the main job on the embedded default. With KUBECONFIG set it uses that cluster; otherwise it
// starts (or reuses) the local control plane. Then it installs the platform, seeds the demo departments
// (local control plane only) and runs the controller until Ctrl-C.
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
  const kubeconfig = external ?? localKubeconfig;

  say("installing the platform (CRDs, namespaces, RBAC)");
  const controllerKubeconfig = join(projectRoot, ".govhost", "controller.kubeconfig");
  await preparePlatform(kubeconfig, controllerKubeconfig);
  if (!external) {
    const admin = await KubeClient.fromKubeConfig(kubeConfigFrom(kubeconfig));
    for (const dept of demoDepartments) await admin.apply(dept, { fieldManager: "govhost-demo" });
    admin.close();
    say(`seeded demo departments: ${demoDepartments.map((d) => d.metadata.name).join(", ")}`);
  }

  const port = process.env.GOVHOST_CONTROLLER_PORT ?? "8081";
  const controller = await spawnController({
    kubeconfig: controllerKubeconfig,
    inheritOutput: true,
    env: { GOVHOST_CONTROLLER_PORT: port },
  });
  say(
    `controller running (service account govhost-system/govhost-controller), metrics http://127.0.0.1:${controller.port}/metrics`,
  );
  say(`try it:  export KUBECONFIG=${kubeconfig}`);
  say("         kubectl get departments");
  say("         kubectl get namespaces -l govhost.io/department=immd");
  say(
    "         kubectl --as alice --as-group immd-developers -n immd-dev get pods      # a department developer",
  );
  say(
    "         kubectl --as alice --as-group immd-developers -n lcsd-dev get pods      # ...is refused elsewhere",
  );
  say("running; press Ctrl-C to stop");

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await controller.stop();
    if (startedLocal) {
      say("stopping the local control plane it started");
      await stopLocalControlPlane();
    }
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  controller.process.once("exit", (code) => {
    if (!stopping) {
      say(`the controller exited (code ${code}); stopping`);
      void stop();
    }
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`govhost: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

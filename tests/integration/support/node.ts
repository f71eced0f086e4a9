import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { KubeClient, type KubeObject } from "../../../lib/kube/client.ts";
import type { CloudState } from "../../../tools/cluster/cloud.ts";
import { kubeConfigFrom } from "../../../tools/cluster/credentials.ts";
import { buildGovhostImage } from "../../../tools/image/govhost-image.ts";
import { type PushedImage, pushToLocalRegistry } from "../../../tools/image/push.ts";
import { eventually } from "./kube.ts";

/**
 * Fails (never skips) a test that needs a real node when the local cloud has none, with the reason: not
 * root, missing cgroups, or another govhost node on this machine (another worktree's run holds the lock).
 */
export function requireNode(state: CloudState): NonNullable<CloudState["node"]> {
  if (!state.node) throw new Error(`this test needs a real node and there is none: ${state.nodeAbsent}`);
  return state.node;
}

export const adminOf = (state: CloudState) => KubeClient.fromKubeConfig(kubeConfigFrom(state.kubeconfig));

interface PodStatus {
  phase?: string;
  conditions?: { type: string; status: string }[];
  containerStatuses?: { state?: Record<string, { reason?: string; message?: string }> }[];
}

/** Waits until the pod reaches one of `phases` (and, for Running, is Ready); fails early on a waiting reason that will not clear. */
export async function waitForPod(
  admin: KubeClient,
  namespace: string,
  name: string,
  phases: string[],
  timeoutMs = 90_000,
): Promise<KubeObject & { status?: PodStatus }> {
  return eventually(
    `pod ${namespace}/${name} ${phases.join(" or ")}`,
    async () => {
      const pod = await admin.call<KubeObject & { status?: PodStatus }>(
        "GET",
        `/api/v1/namespaces/${namespace}/pods/${name}`,
      );
      const status = pod.status ?? {};
      const waiting = status.containerStatuses?.[0]?.state?.waiting;
      if (
        waiting?.reason &&
        /ErrImage|ImagePullBackOff|CreateContainerError|InvalidImageName/.test(waiting.reason)
      )
        throw new Error(`pod ${name} cannot start: ${waiting.reason} ${waiting.message ?? ""}`);
      if (!status.phase || !phases.includes(status.phase)) return undefined;
      if (
        status.phase === "Running" &&
        !status.conditions?.some((c) => c.type === "Ready" && c.status === "True")
      )
        return undefined;
      return pod;
    },
    timeoutMs,
  );
}

/**
 * The host pid of the govhost controller process in `pod`: the node runs on this machine, and the controller's
 * environment names its pod (GOVHOST_CONTROLLER_ID). For a crash from outside: SIGKILL, no goodbye.
 */
export function hostPidOfController(pod: string): number {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      if (env.includes(`GOVHOST_CONTROLLER_ID=${pod}`)) return Number(entry);
    } catch {
      // A process that ended meanwhile, or a kernel thread.
    }
  }
  throw new Error(`no process of pod ${pod} on this machine`);
}

/** The pod's log, read through the API server (which asks the kubelet with its client certificate). */
export function podLog(admin: KubeClient, namespace: string, name: string): Promise<string> {
  return admin.call<string>("GET", `/api/v1/namespaces/${namespace}/pods/${name}/log`);
}

/** The govhost image (`npm run image:govhost`, cached) pushed to the node's registry; progress on stderr. */
export function pushGovhostImage(node: NonNullable<CloudState["node"]>, label: string): PushedImage {
  const built = buildGovhostImage({
    projectRoot: resolve(import.meta.dirname, "../../.."),
    progress: (line) => process.stderr.write(`${label}: ${line}\n`),
  });
  return pushToLocalRegistry(built, "govhost/govhost", node.registry.pushAddress);
}

/**
 * What the node's packet filters held at this moment, for a connection that should have worked and did not:
 * the tails of kube-router's and kube-proxy's logs, kube-router's pod firewall rules and ipsets, and
 * kube-proxy's nftables rules that mention `mentioning` (e.g. a namespace: its Services' chains and map entries). Read as root on the host, as the node runs; each part says
 * so when it cannot be read.
 */
export function packetFilterDiagnostics(state: CloudState, mentioning?: string): string {
  const run = (file: string, args: string[]) => {
    try {
      return execFileSync(file, args, {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        maxBuffer: 64 << 20,
      });
    } catch (error) {
      return `(${file} ${args.join(" ")} failed: ${error instanceof Error ? error.message : String(error)})`;
    }
  };
  const tail = (text: string, lines: number) => text.split("\n").slice(-lines).join("\n");
  const logs = join(state.workDir, "logs");
  const logTail = (name: string) => tail(run("cat", [join(logs, name)]), 60);
  const podFirewall = run("iptables", ["-w", "5", "-S"])
    .split("\n")
    .filter((rule) => /KUBE-POD-FW|KUBE-NWPLCY|KUBE-ROUTER/.test(rule))
    .slice(0, 400);
  const proxyRules = run("nft", ["list", "table", "ip", "kube-proxy"])
    .split("\n")
    .filter((rule) => mentioning === undefined || rule.includes(mentioning));
  return [
    `--- packet filters at ${new Date().toISOString()}`,
    "--- kube-router.log (tail)",
    logTail("kube-router.log"),
    "--- kube-proxy.log (tail)",
    logTail("kube-proxy.log"),
    "--- iptables: kube-router's chains",
    ...podFirewall,
    "--- ipset list",
    tail(run("ipset", ["list"]), 200),
    `--- nft table ip kube-proxy${mentioning ? ` (lines naming ${mentioning})` : ""}`,
    ...proxyRules.slice(0, 200),
  ].join("\n");
}

/** The host's network links with govhost in their name (the node's veth pair and bridge while it runs). */
export function govhostLinks(): string[] {
  return execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.includes("govhost"));
}

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { KubeClient, type KubeObject } from "../../lib/kube/client.ts";
import { Informer, type InformerHandler } from "../../lib/kube/informer.ts";
import { resources } from "../../lib/kube/resources.ts";
import { apiAuditLogOf, startControlPlane, stopControlPlane } from "../../tools/cluster/controlplane.ts";
import { kubeConfigFrom } from "../../tools/cluster/credentials.ts";
import { type LocalPaths, stopLocalControlPlane } from "../../tools/cluster/local.ts";
import { preparePlatform } from "../../tools/install-platform.ts";
import { startLocalProvider } from "../../tools/oidc/provider.ts";
import { type PortalApiProcess, spawnPortalApi } from "../../tools/portal-api-process.ts";
import { resolveControlPlaneBinaries } from "../../tools/upstream/binaries.ts";
import { compliantPodSpec } from "../policy-corpus/corpus.ts";
import { report } from "./_stats.ts";

export interface BenchCluster {
  /** Admin (system:masters) client. */
  admin: KubeClient;
  /** Kubeconfig of the controller's service account, for spawning the controller. */
  controllerKubeconfig: string;
  /** Kubeconfig of the portal API's service account. */
  portalApiKubeconfig: string;
  /** A scratch directory removed afterwards. */
  root: string;
  /** The API server's audit log, reads included (tools/cluster/api-audit.ts counts a client's calls). */
  auditLog: string;
}

/** Runs `bench` against a fresh local control plane with the platform installed, then tears it all down. */
export async function withBenchCluster<T>(
  name: string,
  bench: (cluster: BenchCluster) => Promise<T>,
): Promise<T> {
  const root = mkdtempSync(join(tmpdir(), `govhost-bench-${name}-`));
  const state = await startControlPlane({
    binaries: resolveControlPlaneBinaries({ build: true }),
    kubeconfig: join(root, "admin.kubeconfig"),
    tmpRoot: root,
    auditReads: true,
  });
  const controllerKubeconfig = join(root, "controller.kubeconfig");
  const portalApiKubeconfig = join(root, "portal-api.kubeconfig");
  let admin: KubeClient | undefined;
  // Interrupted (Ctrl-C, a timeout's SIGTERM), the bench still stops what it started: its controller or API
  // processes (children of this one) and the control plane, which would otherwise run on, unowned.
  const interrupted = (signal: NodeJS.Signals) => {
    spawnSync("pkill", ["-TERM", "-P", String(process.pid)]);
    void stopControlPlane(state).finally(() => {
      rmSync(root, { recursive: true, force: true });
      process.exit(signal === "SIGINT" ? 130 : 143);
    });
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);
  try {
    await preparePlatform(state.kubeconfig, controllerKubeconfig, portalApiKubeconfig);
    admin = await KubeClient.fromKubeConfig(kubeConfigFrom(state.kubeconfig));
    return await bench({
      admin,
      controllerKubeconfig,
      portalApiKubeconfig,
      root,
      auditLog: apiAuditLogOf(state),
    });
  } finally {
    process.off("SIGINT", interrupted);
    process.off("SIGTERM", interrupted);
    admin?.close();
    await stopControlPlane(state);
    rmSync(root, { recursive: true, force: true });
  }
}

/** Polls `probe` every 500 ms until it gives a value (errors count as not yet). */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

/** Waits until a fresh namespace's tenant quota counts EServices (creates are refused until then). */
export function waitForEServiceQuota(admin: KubeClient, namespace: string): Promise<string> {
  return waitFor(`${namespace}: the quota to count EServices`, async () => {
    const quota = await admin.get<KubeObject & { status?: { used?: Record<string, string> } }>(
      resources.resourceQuota,
      "govhost-tenant-quota",
      namespace,
    );
    return quota.status?.used?.["count/eservices.govhost.io"];
  });
}

/** A department quota no benchmark load reaches. */
export const roomyQuota = {
  cpu: "1000",
  memory: "4000Gi",
  storage: "1Ti",
  pods: 100000,
  eServices: 10000,
  publicEndpoints: 10,
};

/** Creates a compliant pod and marks it Running with a start time, as a kubelet would (no node here). */
export async function startPodAsKubelet(
  admin: KubeClient,
  namespace: string,
  name: string,
  app: string,
): Promise<string | undefined> {
  const pod = await admin.create<KubeObject>({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: { app, "govhost.io/data-classification": "UNCLASSIFIED" } },
    spec: compliantPodSpec(),
  });
  await admin.mergePatch(
    resources.pod,
    name,
    { status: { phase: "Running", startTime: new Date().toISOString() } },
    { namespace, subresource: "status" },
  );
  return pod.metadata?.uid;
}

/**
 * The portal API as its own process (its service account, an audit log in `root`, no rate limit to speak
 * of), trusting a local OpenID provider that knows `users`.
 */
export async function startPortalApiWithProvider(options: {
  portalApiKubeconfig: string;
  root: string;
  audience: string;
  users: Parameters<typeof startLocalProvider>[0]["users"];
  inheritStderr?: boolean;
}): Promise<{ identity: Awaited<ReturnType<typeof startLocalProvider>>; api: PortalApiProcess }> {
  const identity = await startLocalProvider({ audience: options.audience, users: options.users });
  const api = await spawnPortalApi({
    kubeconfig: options.portalApiKubeconfig,
    issuer: identity.issuer,
    audience: options.audience,
    auditLog: join(options.root, "audit.log"),
    rateLimitPerMinute: 10_000_000,
    ...(options.inheritStderr ? { inheritStderr: true } : {}),
  });
  return { identity, api };
}

/** Stops a bench's local cloud with its node, removes its folder, and prints what could not be undone. */
export async function stopBenchNodeCloud(paths: LocalPaths, dir: string): Promise<void> {
  const stopped = await stopLocalControlPlane(() => {}, paths);
  rmSync(dir, { recursive: true, force: true });
  report("teardown", {
    "could not undo": stopped?.problems.length ? stopped.problems.join("; ") : "nothing",
  });
}

/**
 * Counts the pod events the controller's pod cache receives, with an Informer of its own (which resumes an
 * ended watch from the last version seen and lists again on 410, and counts both for the bench to say).
 * A relist hands every cached pod to the handler again: a pod it shows unchanged is not counted. What the
 * cache keeps of each pod is `transform`'s (little: 20,000 pods are watched in the estate bench).
 */
export async function podEventCounter<T extends KubeObject>(
  admin: KubeClient,
  signal: AbortSignal,
  options: { transform?: (pod: KubeObject) => KubeObject; onEvent?: InformerHandler<T> } = {},
): Promise<{ events: () => number; informer: Informer<T> }> {
  let events = 0;
  const informer = new Informer<T>(
    admin,
    resources.pod,
    (event, pod, previous) => {
      if (event !== "update" || previous?.metadata?.resourceVersion !== pod.metadata?.resourceVersion)
        events++;
      options.onEvent?.(event, pod, previous);
    },
    options.transform ? { transform: options.transform } : { metadataOnly: true },
  );
  void informer.run(signal);
  await informer.synced;
  return { events: () => events, informer };
}

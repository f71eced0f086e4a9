import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeClient } from "../../../lib/kube/client.ts";
import type { CloudState } from "../../../tools/cluster/cloud.ts";
import { kubeConfigFrom } from "../../../tools/cluster/credentials.ts";
import {
  ensureLocalControlPlane,
  type LocalPaths,
  stopLocalControlPlane,
} from "../../../tools/cluster/local.ts";
import { nodeDnsControllerEnv } from "../../../tools/cluster/node/dns.ts";
import { nodeApiGatewayControllerEnv } from "../../../tools/cluster/node/ingress.ts";
import { type ControllerProcess, spawnController } from "../../../tools/controller-process.ts";
import { localStackBaseline, preparePlatform } from "../../../tools/install-platform.ts";
import { requireNode } from "./node.ts";

/** A local cloud with the real node, the platform installed as `npm start` installs it, and its controller. */
export interface NodePlatform {
  dir: string;
  cloud: CloudState;
  node: NonNullable<CloudState["node"]>;
  admin: KubeClient;
  controller: ControllerProcess;
  controllerKubeconfig: string;
  portalApiKubeconfig: string;
  /**
   * SIGKILLs the controller (a crash), runs `whileDown`, and starts it again with the same identity (and
   * `env` over its settings from then on, when given).
   */
  crashController(whileDown?: () => Promise<void>, env?: Record<string, string>): Promise<void>;
  /** Stops the controller and the cloud; resolves to what the node's stop could not undo. */
  stop(): Promise<string[]>;
}

/**
 * Brings up a test file's own local cloud with the node (the run's shared control plane has none), installs
 * the platform with the local stack's baseline and starts the controller as its service account. Fails, with
 * the reason, when no node can run here.
 */
export async function startNodePlatform(options: {
  prefix: string;
  identity: string;
  env?: Record<string, string>;
}): Promise<NodePlatform> {
  const dir = mkdtempSync(join(tmpdir(), `govhost-${options.prefix}-`));
  const paths: LocalPaths = { state: join(dir, "cluster.json"), kubeconfig: join(dir, "kubeconfig") };
  const { state: cloud } = await ensureLocalControlPlane(() => {}, paths);
  const stopCloud = async () => {
    const stopped = await stopLocalControlPlane(() => {}, paths);
    rmSync(dir, { recursive: true, force: true });
    return stopped?.problems ?? [];
  };
  try {
    const node = requireNode(cloud);
    const controllerKubeconfig = join(dir, "controller.kubeconfig");
    const portalApiKubeconfig = join(dir, "portal-api.kubeconfig");
    await preparePlatform(cloud.kubeconfig, controllerKubeconfig, portalApiKubeconfig, {
      baseline: localStackBaseline,
    });
    const admin = await KubeClient.fromKubeConfig(kubeConfigFrom(cloud.kubeconfig));
    let env = { ...nodeDnsControllerEnv, ...nodeApiGatewayControllerEnv, ...options.env };
    const spawn = () =>
      spawnController({ kubeconfig: controllerKubeconfig, identity: options.identity, env });
    const platform: NodePlatform = {
      dir,
      cloud,
      node,
      admin,
      controller: await spawn(),
      controllerKubeconfig,
      portalApiKubeconfig,
      crashController: async (whileDown, changed) => {
        await platform.controller.kill();
        await whileDown?.();
        env = { ...env, ...changed };
        platform.controller = await spawn();
      },
      stop: async () => {
        await platform.controller.stop();
        admin.close();
        return stopCloud();
      },
    };
    return platform;
  } catch (error) {
    await stopCloud();
    throw error;
  }
}

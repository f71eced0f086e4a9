import { inject } from "vitest";
import { type ControllerProcess, spawnController } from "../../../tools/controller-process.ts";

export type { ControllerProcess };

/** The controller as its own process, authenticated as the controller service account of this run. */
export function startController(
  options: { identity?: string; waitReady?: boolean; env?: Record<string, string> } = {},
): Promise<ControllerProcess> {
  return spawnController({ kubeconfig: inject("controllerKubeconfig"), ...options });
}

import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  RbacAuthorizationV1Api,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { inject } from "vitest";

/** The admin kubeconfig of the run's control plane (client certificate in group system:masters). */
export function adminConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(inject("kubeconfig"));
  return kc;
}

export const admin = {
  core: () => adminConfig().makeApiClient(CoreV1Api),
  rbac: () => adminConfig().makeApiClient(RbacAuthorizationV1Api),
  objects: () => KubernetesObjectApi.makeApiClient(adminConfig()),
};

/**
 * Request options that make the admin act as another user (Kubernetes impersonation), optionally in
 * one group, so RBAC is evaluated for that identity.
 */
export function asUser(user: string, group?: string) {
  const withUser = setHeaderOptions("Impersonate-User", user);
  return group ? setHeaderOptions("Impersonate-Group", group, withUser) : withUser;
}

/** A DNS-label-safe unique name, so tests can share one cluster. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString("hex")}`;
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`);
}

/** The HTTP status and body of a failed API call, for asserting on admission and RBAC denials. */
export async function apiFailure(call: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ApiException) {
      const body = typeof error.body === "string" ? error.body : JSON.stringify(error.body);
      let message = body;
      try {
        message = (JSON.parse(body) as { message?: string }).message ?? body;
      } catch {
        // body was not JSON
      }
      return { code: error.code, message };
    }
    throw error;
  }
  throw new Error("expected the API call to fail, but it succeeded");
}

import type { KubeConfig } from "@kubernetes/client-node";
import type { FastifyInstance } from "fastify";
import { collectDefaultMetrics, Registry } from "prom-client";
import { platformDefaults } from "../controller/api/defaults.ts";
import type { Department } from "../controller/api/department.ts";
import { portalApiImpersonationRoleName } from "../controller/api/rbac.ts";
import { KubeClient, type KubeObject } from "../lib/kube/client.ts";
import { Informer } from "../lib/kube/informer.ts";
import { resources } from "../lib/kube/resources.ts";
import { resolvePendingWrites } from "./audit/pending.ts";
import { AuditLog } from "./audit/store.ts";
import {
  type DepartmentGroups,
  defaultRoleSettings,
  grantedDepartmentGroups,
  type RoleSettings,
} from "./auth/principal.ts";
import { type TokenSettings, TokenVerifier } from "./auth/tokens.ts";
import type { ApiOptions } from "./dependencies.ts";
import { WebSignIn } from "./pages/sign-in.ts";
import { cachedReads } from "./reads.ts";
import { buildServer } from "./server.ts";

export interface PortalApiSettings extends ApiOptions {
  kubeconfig?: KubeConfig;
  tokens: TokenSettings;
  roles?: RoleSettings;
  /** The append-only audit log file (a persistent volume in a cluster). */
  auditPath: string;
  host: string;
  port: number;
  timeZone?: string;
  rateCard?: string;
  /** Sign-in to the web pages with the portal's own OAuth client (unset: the public pages only). */
  web?: { clientId: string; clientSecret: string; baseUrl: string; sessionKey: Uint8Array };
}

export interface RunningPortalApi {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

/** Wires the portal API: Kubernetes client, Department cache for role mapping, token verifier, audit log. */
export async function startPortalApi(settings: PortalApiSettings): Promise<RunningPortalApi> {
  const kube = await KubeClient.fromKubeConfig(settings.kubeconfig);
  const abort = new AbortController();
  let app: FastifyInstance | undefined;
  const stop = async (server: FastifyInstance | undefined) => {
    abort.abort();
    try {
      await server?.close();
    } finally {
      kube.close();
    }
  };
  try {
    // Every signed-in request maps its groups to roles: the mapped list is kept until a Department changes.
    let roleView: DepartmentGroups[] | undefined;
    const departments = new Informer<Department & KubeObject>(kube, resources.department, () => {
      roleView = undefined;
    });
    // The groups the API may act as (kept by the controller): a department's groups count once granted.
    const impersonation = new Informer<KubeObject & { rules?: { resourceNames?: string[] }[] }>(
      kube,
      resources.clusterRole,
      () => {
        roleView = undefined;
      },
      { fieldSelector: `metadata.name=${portalApiImpersonationRoleName}` },
    );
    void departments.run(abort.signal);
    void impersonation.run(abort.signal);
    // A watch that keeps failing is said once per distinct error (it retries every second).
    let lastWatchError = "";
    const reads = cachedReads(kube, departments, abort.signal, (error) => {
      const message = String(error);
      if (message !== lastWatchError) process.emitWarning(`portal API watch cache: ${message}; retrying`);
      lastWatchError = message;
    });
    await Promise.all([reads.synced, impersonation.synced]);
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: "govhost_api_" });
    const verifier = await TokenVerifier.discover(settings.tokens);
    const audit = await AuditLog.open(settings.auditPath);
    // Writes a crash left between their request and response records: said made or not before serving.
    const pending = await resolvePendingWrites(kube, audit);
    if (pending.failed > 0)
      process.emitWarning(
        `audit: ${pending.failed} unanswered write(s) could not be looked up; they stay pending until the next start`,
      );
    const web = settings.web
      ? {
          sessionKey: settings.web.sessionKey,
          signIn: await WebSignIn.discover({
            issuer: settings.tokens.issuer,
            audience: settings.tokens.audience,
            allowHttpIssuer: settings.tokens.allowHttpIssuer,
            clientId: settings.web.clientId,
            clientSecret: settings.web.clientSecret,
            baseUrl: settings.web.baseUrl,
          }),
        }
      : undefined;
    app = await buildServer(
      {
        kube,
        verifier,
        roles: settings.roles ?? defaultRoleSettings,
        audit,
        reads,
        departments: () => {
          roleView ??= grantedDepartmentGroups(
            departments.list().map((d) => ({ name: d.metadata.name as string, groups: d.spec.groups ?? {} })),
            new Set(
              impersonation.list().flatMap((role) => role.rules?.flatMap((r) => r.resourceNames ?? []) ?? []),
            ),
          );
          return roleView;
        },
        registry,
        ready: () => true,
        timeZone: settings.timeZone ?? platformDefaults.timeZone,
        rateCard: settings.rateCard ?? platformDefaults.rateCard,
        ...(web ? { web } : {}),
      },
      settings,
    );
    const address = await app.listen({ host: settings.host, port: settings.port });
    const running = app;
    return { app: running, url: address.replace("[::1]", "127.0.0.1"), close: () => stop(running) };
  } catch (error) {
    // Whatever started stops again: a failed start leaves no watch, timer or open port behind.
    await stop(app).catch(() => {});
    throw error;
  }
}

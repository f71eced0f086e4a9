import type { Registry } from "prom-client";
import type { KubeClient } from "../lib/kube/client.ts";
import type { AuditRecordInput } from "./audit/chain.ts";
import type { AuditLog } from "./audit/store.ts";
import type { DepartmentGroups, Principal, RoleSettings } from "./auth/principal.ts";
import type { TokenVerifier } from "./auth/tokens.ts";
import type { WebSettings } from "./pages/signed-in.ts";
import type { ProblemError } from "./problem.ts";
import type { Reads } from "./reads.ts";

// What the server and every route plugin are given (`app.ts` builds it for a real cluster, the unit tests
// with stand-ins) and what the server's hooks add to each request. Its own module, so routes and server
// import it without importing each other.

/** What a handler says its request was about, for the audit record of the answer. */
export type RequestAudit = Omit<AuditRecordInput, "time" | "requestId" | "actor" | "result">;

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
    /** Why the token that was sent did not verify (answered on routes that need a caller). */
    authFailure?: ProblemError;
    /** The client's own x-request-id, when well-formed (untrusted: for correlation only). */
    clientRequestId?: string;
    audit?: RequestAudit;
  }
  interface FastifyContextConfig {
    /** Reachable without a token (health, metrics, OpenAPI, docs, the public service catalogue). */
    public?: boolean;
  }
}

export interface ApiDependencies {
  /** The API's own identity; writes go through `kube.impersonating(caller)`. */
  kube: KubeClient;
  verifier: TokenVerifier;
  roles: RoleSettings;
  audit: AuditLog;
  departments: () => DepartmentGroups[];
  /** Departments, their namespaces and e-services: from watch caches in a running API (reads.ts). */
  reads: Reads;
  registry: Registry;
  ready: () => boolean;
  /** Calendar of statements and usage windows. */
  timeZone: string;
  /** The RateCard that prices usage. */
  rateCard: string;
  /** Sign-in to the web pages (unset: the public pages only). */
  web?: WebSettings;
}

export interface ApiOptions {
  logger?: boolean | Record<string, unknown>;
  /** Requests per minute per client: its verified identity, else its address. */
  rateLimitPerMinute?: number;
  /**
   * Addresses or CIDRs of the proxies in front of the API (the ingress controller's pods): from them the
   * client's address is read from X-Forwarded-For, so per-address limits are per citizen, not per proxy.
   */
  trustedProxies?: string[];
  bodyLimitBytes?: number;
  /** How often anonymous traffic is summarised into the audit log (default one minute). */
  anonymousSummaryIntervalMs?: number;
  /** How long the public service catalogue is served from cache (default 5 s). */
  catalogueCacheMs?: number;
}

import { readFileSync } from "node:fs";

// The API server's audit log (controlplane.ts: writes, and reads when asked for, metadata only), read back by tests
// and benchmarks that count what a client did: each controller replica names itself in User-Agent.

export interface AuditEvent {
  verb: string;
  userAgent?: string;
  objectRef?: { resource?: string; subresource?: string; namespace?: string; name?: string };
  requestURI?: string;
  responseStatus?: { code?: number };
  requestReceivedTimestamp: string;
  stageTimestamp: string;
}

/** The controller replica that made a request, from its User-Agent (`govhost-controller/<identity>`). */
export const replicaOf = (event: AuditEvent): string | undefined =>
  /^govhost-controller\/(.+)$/.exec(event.userAgent ?? "")?.[1];

/** The field manager a write named (server-side apply and patches take it as a query parameter). */
export const fieldManagerOf = (event: AuditEvent): string | undefined =>
  new URL(event.requestURI ?? "/", "https://api").searchParams.get("fieldManager") ?? undefined;

/** Every request in the log received at or after `since` (reads only where the log keeps them). */
export function auditedRequests(path: string, since = 0): AuditEvent[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as AuditEvent)
    .filter((e) => Date.parse(e.requestReceivedTimestamp) >= since);
}

/** The writes in the log, optionally only those received at or after `since`. */
export function auditedWrites(path: string, since = 0): AuditEvent[] {
  return auditedRequests(path, since).filter((e) => !["get", "list", "watch"].includes(e.verb));
}

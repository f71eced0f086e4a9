import { readFileSync } from "node:fs";

// The API server's audit log (tools/cluster/controlplane.ts: every write, metadata only), read back by tests
// that count what a client wrote: each controller replica names itself in User-Agent.

export interface AuditEvent {
  verb: string;
  userAgent?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp: string;
  stageTimestamp: string;
}

/** The controller replica that made a request, from its User-Agent (`govhost-controller/<identity>`). */
export const replicaOf = (event: AuditEvent): string | undefined =>
  /^govhost-controller\/(.+)$/.exec(event.userAgent ?? "")?.[1];

/** The writes in the log (reads are not logged), optionally only those received at or after `since`. */
export function auditedWrites(path: string, since = 0): AuditEvent[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as AuditEvent)
    .filter((e) => !["get", "list", "watch"].includes(e.verb))
    .filter((e) => Date.parse(e.requestReceivedTimestamp) >= since);
}

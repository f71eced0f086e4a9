import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import type { ResourceType } from "../../lib/kube/resources.ts";
import type { AuditRecord, AuditRecordInput } from "../../portal-api/audit/chain.ts";
import { resolvePendingWrites } from "../../portal-api/audit/pending.ts";
import { AuditLog } from "../../portal-api/audit/store.ts";

// Writes a crash left between their request and response records are looked up at the next start and
// given a verdict; here the cluster is a table of objects by kind/namespace/name.

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "govhost-audit-pending-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const recorded = "2026-12-04T05:00:00.400Z";
const actor = { username: "dev@immd", subject: "dev", roles: ["immd:developer"] };
const base = "/api/v1/departments/immd/environments/prod";
const eservices = "/api/v1/departments/:dept/environments/:env/eservices";

function request(requestId: string, action: string, path: string, object?: string): AuditRecordInput {
  return {
    time: recorded,
    requestId,
    stage: "request",
    actor,
    action,
    target: {
      kind: "route",
      name: path,
      department: "immd",
      namespace: "immd-prod",
      ...(object ? { object } : {}),
    },
    result: { outcome: "pending" },
  };
}

function cluster(objects: Record<string, KubeObject>, failing = false): KubeClient {
  return {
    find: async (type: ResourceType, name: string, namespace?: string) => {
      if (failing) throw new Error("connect ECONNREFUSED");
      return objects[`${type.kind}/${namespace ?? ""}/${name}`];
    },
  } as unknown as KubeClient;
}

const eservice = (
  name: string,
  creationTimestamp: string,
  extra: Record<string, unknown> = {},
): KubeObject => ({
  apiVersion: "govhost.io/v1alpha1",
  kind: "EService",
  metadata: { name, namespace: "immd-prod", creationTimestamp, ...extra },
  spec: { image: "registry.gov.example/immd/a:1", replicas: 2 },
});

const resolutions = (log: AuditLog) => log.query({ action: "audit.pending-resolved", limit: 100 });
const verdicts = async (log: AuditLog) =>
  Object.fromEntries(
    (await resolutions(log)).map((r) => [r.requestId, (r.after as { verdict: string }).verdict]),
  );

describe("unanswered writes", () => {
  it("are resolved by looking their objects up: made, not made, done, not done, unknown", async () => {
    const log = await AuditLog.open(join(dir, "audit.log"));
    await log.append(request("c-made", `POST ${eservices}`, `${base}/eservices`, "made"));
    await log.append(request("c-missing", `POST ${eservices}`, `${base}/eservices`, "missing"));
    await log.append(request("c-older", `POST ${eservices}`, `${base}/eservices`, "older"));
    await log.append(request("d-gone", `DELETE ${eservices}/:name`, `${base}/eservices/gone`));
    await log.append(request("d-kept", `DELETE ${eservices}/:name`, `${base}/eservices/made`));
    await log.append(request("u", `POST ${eservices}/:action`, `${base}/eservices/made:expose`));
    await log.append(request("page", "POST /departments/:dept/environments/:env/new-eservice", "/x"));
    const answered = request("answered", `POST ${eservices}`, `${base}/eservices`, "made");
    await log.append(answered);
    await log.append({ ...answered, stage: "response", result: { status: 201, outcome: "success" } });
    const kube = cluster({
      // created in the same second as the request was recorded: the API server counts whole seconds
      "EService/immd-prod/made": eservice("made", "2026-12-04T05:00:00Z"),
      "EService/immd-prod/older": eservice("older", "2026-12-01T09:00:00Z"),
    });

    expect(await resolvePendingWrites(kube, log)).toEqual({ resolved: 7, failed: 0 });
    expect(await verdicts(log)).toEqual({
      "c-made": "made",
      "c-missing": "not-made",
      "c-older": "not-made",
      "d-gone": "done",
      "d-kept": "not-done",
      u: "unknown",
      page: "unknown",
    });
    const update = (await resolutions(log)).find((r) => r.requestId === "u");
    expect(update?.after).toMatchObject({ spec: { replicas: 2 }, request: { actor: "dev@immd" } });
    expect(log.unanswered()).toEqual([]);
    expect(await resolvePendingWrites(kube, log)).toEqual({ resolved: 0, failed: 0 });
    expect((await log.verify()).valid).toBe(true);
  });

  it("stay pending, also after a restart, while their lookup fails", async () => {
    const path = join(dir, "audit.log");
    const first = await AuditLog.open(path);
    await first.append(request("c", `POST ${eservices}`, `${base}/eservices`, "made"));
    expect(await resolvePendingWrites(cluster({}, true), first)).toEqual({ resolved: 0, failed: 1 });
    const reopened = await AuditLog.open(path);
    expect(reopened.unanswered().map((r: AuditRecord) => r.requestId)).toEqual(["c"]);
    const kube = cluster({ "EService/immd-prod/made": eservice("made", "2026-12-04T05:00:01Z") });
    expect(await resolvePendingWrites(kube, reopened)).toEqual({ resolved: 1, failed: 0 });
    expect(await verdicts(reopened)).toEqual({ c: "made" });
  });
});

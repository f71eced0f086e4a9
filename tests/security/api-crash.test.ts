import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { loginAs } from "../../tools/oidc/login.ts";
import { type LocalProvider, startLocalProvider } from "../../tools/oidc/provider.ts";
import { type PortalApiProcess, spawnPortalApi } from "../../tools/portal-api-process.ts";
import { departmentManifest } from "../fixtures/departments.ts";
import {
  isReady,
  useAdminAndController,
  waitForDepartment,
  waitForQuotaToCount,
} from "../integration/support/govhost.ts";
import { uniqueName } from "../integration/support/kube.ts";
import { testAudience } from "../integration/support/portal-api.ts";

// #18's fault "the portal API killed mid-write": the API process gets SIGKILL while 30 creates are in
// flight. Afterwards, on the same audit log, the chain must verify, and every write must be either done and
// audited or not done: each e-service that exists has its "request" record (written before the write is
// made), and each write whose 201 reached the client has its response record too. The client's
// x-request-id (the e-service's name) ties records to writes. A write the kill left unanswered is looked up
// by the restarted API and given a verdict (made or not-made) that must match what exists.

const env = useAdminAndController();
const dept = uniqueName("crash");
const namespace = `${dept}-prod`;
let dir: string;
let provider: LocalProvider;
let api: PortalApiProcess | undefined;
const tokens: Record<string, string> = {};

const startApi = () =>
  spawnPortalApi({
    kubeconfig: inject("portalApiKubeconfig"),
    issuer: provider.issuer,
    audience: testAudience,
    auditLog: join(dir, "audit.log"),
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "govhost-sec-crash-"));
  provider = await startLocalProvider({
    audience: testAudience,
    users: {
      developer: { name: "Dev", groups: [`${dept}-developers`] },
      auditor: { name: "Aud", groups: ["govhost:auditors"] },
    },
  });
  await env.admin.create(departmentManifest(dept, { environments: ["prod"] }));
  await waitForDepartment(env.admin, dept, isReady, "ready");
  await waitForQuotaToCount(env.admin, namespace, "count/eservices.govhost.io");
  for (const role of ["developer", "auditor"])
    tokens[role] = await loginAs(provider.issuer, role, testAudience);
  api = await startApi();
}, 240_000);

afterAll(async () => {
  await api?.kill();
  await provider?.close();
  await env.admin?.delete(resources.department, dept);
  rmSync(dir, { recursive: true, force: true });
});

type AuditLine = {
  stage: string;
  action: string;
  clientRequestId?: string;
  after?: { verdict?: string };
  result: { outcome: string; status?: number };
};

describe("the portal API is killed in the middle of writes", () => {
  it("leaves every write either done and audited or not done, and the chain verifies", async () => {
    const running = api;
    if (!running) throw new Error("no API");
    const names = Array.from({ length: 30 }, (_, i) => `w${i}`);
    const answered: string[] = [];
    let killed = false;
    const writes = names.map(async (name) => {
      try {
        const response = await fetch(
          `${running.url}/api/v1/departments/${dept}/environments/prod/eservices`,
          {
            method: "POST",
            headers: {
              authorization: `Bearer ${tokens.developer}`,
              "content-type": "application/json",
              "x-request-id": name,
            },
            body: JSON.stringify({
              name,
              spec: { image: `registry.gov.example/${dept}/${name}:1.0.0`, replicas: 1 },
            }),
          },
        );
        if (response.status === 201) answered.push(name);
        // Kill once a few writes are through: the rest are somewhere between record, dry run and create.
        if (answered.length >= 5 && !killed) {
          killed = true;
          void running.kill();
        }
      } catch {
        // the connection died with the process
      }
    });
    await Promise.all(writes);
    expect(killed).toBe(true);

    api = await startApi();
    const verdict = await fetch(`${api.url}/api/v1/audit/verify`, {
      headers: { authorization: `Bearer ${tokens.auditor}` },
    }).then((r) => r.json() as Promise<Record<string, unknown>>);
    expect(verdict).toMatchObject({ valid: true });

    const lines = readFileSync(join(dir, "audit.log"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as AuditLine);
    const requested = new Set(lines.filter((l) => l.stage === "request").map((l) => l.clientRequestId));
    const succeeded = new Set(
      lines
        .filter((l) => l.stage === "response" && l.result.outcome === "success")
        .map((l) => l.clientRequestId),
    );
    const existing = (await env.admin.list<KubeObject>(resources.eservice, { namespace })).items.map(
      (es) => es.metadata?.name as string,
    );
    for (const name of existing)
      expect(requested.has(name), `${name} exists, so its request is recorded`).toBe(true);
    for (const name of answered) {
      expect(existing, `${name} was answered 201`).toContain(name);
      expect(succeeded.has(name), `${name} was answered 201, so its success is recorded`).toBe(true);
    }
    // The restarted API looked up every write the kill left unanswered before it took requests.
    const responded = new Set(lines.filter((l) => l.stage === "response").map((l) => l.clientRequestId));
    const verdicts = new Map(
      lines
        .filter((l) => l.action === "audit.pending-resolved")
        .map((l) => [l.clientRequestId, l.after?.verdict]),
    );
    const unanswered = [...requested].filter((name) => !responded.has(name));
    for (const name of unanswered)
      expect(verdicts.get(name), `${name} was left unanswered: its verdict says whether it exists`).toBe(
        existing.includes(name ?? "") ? "made" : "not-made",
      );
    expect([...verdicts.keys()].sort()).toEqual(unanswered.sort());
    process.stderr.write(
      `api-crash: killed after ${answered.length} answered writes; ${existing.length} of ${names.length} e-services exist, ${requested.size} writes were recorded as requested, ${unanswered.length} unanswered and resolved (${[...verdicts.values()].filter((v) => v === "made").length} made); the chain verifies\n`,
    );
  });
});

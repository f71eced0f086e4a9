import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Department } from "../../controller/api/department.ts";
import { KubeClient, type KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import type { RunningPortalApi } from "../../portal-api/app.ts";
import { kubeConfigFrom } from "../../tools/cluster/credentials.ts";
import { loginAs } from "../../tools/oidc/login.ts";
import { type LocalProvider, startLocalProvider } from "../../tools/oidc/provider.ts";
import { govhostCacheDir } from "../../tools/upstream/versions.ts";
import { departmentManifest } from "../fixtures/departments.ts";
import { eventually, uniqueName } from "../integration/support/kube.ts";
import { startTestPortalApi, testAudience } from "../integration/support/portal-api.ts";

// Issue #17, finding 17: an OpenAPI-driven fuzzer (schemathesis, from PyPI; installed into
// ~/.cache/govhost/schemathesis by tools/ensure-schemathesis.sh) against the live portal API's
// /openapi.json, as each demo user and anonymously. Issue #16: with every check schemathesis has (no server
// error, authentication enforced wherever the document says, every status, content type, header and body
// as documented, schema-valid input accepted and invalid input refused, 405 with Allow for undeclared
// methods, ...); its configuration is ./schemathesis.toml. Bounded: few examples per operation and a time
// budget per identity.

const schemathesis =
  process.env.GOVHOST_SCHEMATHESIS ?? join(govhostCacheDir(), "schemathesis", "bin", "schemathesis");
const audience = testAudience;
/** The demo users of the local default (tools/oidc/users.ts), and no one. */
const identities = [
  "operator",
  "finance",
  "auditor",
  "immd-admin",
  "immd-dev",
  "lcsd-admin",
  undefined,
] as const;
const secondsPerIdentity = Number(process.env.GOVHOST_SCHEMATHESIS_SECONDS ?? 15);

let provider: LocalProvider;
let api: RunningPortalApi;
let admin: KubeClient;
let dir: string;
let before: Set<string>;
// The demo groups (immd-admins, immd-developers, lcsd-admins) mapped by departments of this run.
const immd = uniqueName("immd");
const lcsd = uniqueName("lcsd");

async function departmentNames(): Promise<Set<string>> {
  const list = await admin.list<Department & KubeObject>(resources.department);
  return new Set(list.items.map((d) => d.metadata.name as string));
}

function run(
  identity: string | undefined,
  token: string | undefined,
): Promise<{ code: number | null; output: string }> {
  const args = [
    "--config-file",
    join(import.meta.dirname, "schemathesis.toml"),
    "run",
    `${api.url}/openapi.json`,
    "--url",
    api.url,
    "--checks",
    "all",
    "--max-examples",
    "5",
    "--max-time",
    String(secondsPerIdentity),
    "--workers",
    "1",
    "--seed",
    "17",
    "--request-timeout",
    "15",
    "--suppress-health-check",
    "all",
    "--no-color",
    ...(token ? ["--header", `Authorization: Bearer ${token}`] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(schemathesis, args, {
      cwd: dir,
      env: { ...process.env, SCHEMATHESIS_HOOKS: "", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = `schemathesis as ${identity ?? "anonymous"}\n`;
    child.stdout.on("data", (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      output += c.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), (secondsPerIdentity + 60) * 1000);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

beforeAll(async () => {
  if (!existsSync(schemathesis))
    throw new Error(`schemathesis is not installed at ${schemathesis}: run tools/ensure-schemathesis.sh`);
  admin = await KubeClient.fromKubeConfig(kubeConfigFrom(inject("kubeconfig")));
  await admin.create(
    departmentManifest(immd, {
      environments: ["dev"],
      groups: { admins: ["immd-admins"], developers: ["immd-developers"], viewers: [] },
    }),
  );
  await admin.create(
    departmentManifest(lcsd, {
      environments: ["dev"],
      groups: { admins: ["lcsd-admins"], developers: [], viewers: [] },
    }),
  );
  // The fuzzer is to judge the API, not a cluster still warming up: wait until the API server serves every
  // kind the API lists (a freshly installed CRD answers "storage is (re)initializing" for a moment).
  for (const type of [
    resources.department,
    resources.eservice,
    resources.sharedService,
    resources.sharedServiceInstance,
    resources.chargebackStatement,
    resources.policyReport,
  ])
    await eventually(`${type.plural} to be served`, () => admin.list(type).then(() => true), 60_000);
  before = await departmentNames();
  provider = await startLocalProvider({ audience });
  dir = mkdtempSync(join(tmpdir(), "govhost-sec-st-"));
  api = await startTestPortalApi(provider.issuer, join(dir, "audit.log"), 1_000_000);
}, 120_000);

afterAll(async () => {
  await api?.close();
  await provider?.close();
  if (admin) {
    // Departments the fuzzer created as the operator, and this file's own.
    for (const name of await departmentNames())
      if (!before?.has(name) || name === immd || name === lcsd)
        await admin.delete(resources.department, name);
    admin.close();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("schemathesis against /openapi.json", () => {
  for (const identity of identities) {
    it(
      `passes every check (no server error, no ignored authentication, answers as documented) as ${identity ?? "an anonymous caller"}`,
      async () => {
        const token = identity ? await loginAs(provider.issuer, identity, audience) : undefined;
        const { code, output } = await run(identity, token);
        expect(code, output.slice(-6_000)).toBe(0);
        // Exit 0 also when nothing was tested: every operation of the document was, within the budget.
        const selected = /Selected: (\d+)\/(\d+)/.exec(output);
        const tested = /Tested: (\d+)/.exec(output);
        const document = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
          paths: Record<string, Record<string, unknown>>;
        };
        const methods = new Set(["get", "put", "post", "delete", "patch", "head", "options"]);
        const operations = Object.values(document.paths).flatMap((item) =>
          Object.keys(item).filter((key) => methods.has(key)),
        ).length;
        expect(Number(selected?.[2]), output.slice(-3_000)).toBe(operations);
        expect(Number(tested?.[1]), output.slice(-3_000)).toBe(operations);
      },
      (secondsPerIdentity + 90) * 1000,
    );
  }
});

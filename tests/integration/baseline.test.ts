import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeApiError, type KubeClient, type KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { defaultBaselineSettings } from "../../policies/admission.ts";
import type { BaselineModes } from "../../policies/modes.ts";
import { installPlatform, localStackBaseline } from "../../tools/install-platform.ts";
import { type CorpusCase, corpusDepartment, corpusIn, corpusRegistries } from "../policy-corpus/corpus.ts";
import { type ControllerProcess, startController } from "./support/controller-process.ts";
import { client, departmentManifest, isReady, rejection, waitForDepartment } from "./support/govhost.ts";
import { uniqueName } from "./support/kube.ts";

let admin: KubeClient;
let controller: ControllerProcess;
const dept = uniqueName("pol");

async function setModes(modes: BaselineModes): Promise<void> {
  await installPlatform(admin, {
    baseline: { ...defaultBaselineSettings, allowedRegistries: corpusRegistries, modes },
  });
  // Admission policy bindings are picked up by the API server asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
}

beforeAll(async () => {
  admin = await client();
  expect(defaultBaselineSettings.allowedRegistries).toEqual(corpusRegistries);
  controller = await startController();
  await admin.create(
    departmentManifest(dept, {
      environments: ["dev", "test"],
      domains: [...corpusDepartment.domains],
      maxDataClassification: corpusDepartment.maxDataClassification,
      // Warn mode admits every Ingress of the corpus into one environment, after Deny mode's good ones.
      quota: { cpu: "16", memory: "64Gi", storage: "500Gi", pods: 100, eServices: 20, publicEndpoints: 30 },
    }),
  );
  await waitForDepartment(admin, dept, isReady);
});

afterAll(async () => {
  // Back to the shared control plane's baseline (global-setup.ts).
  await installPlatform(admin, { baseline: localStackBaseline });
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  await controller?.stop();
  admin?.close();
});

function expectRejectedBy(error: KubeApiError, c: CorpusCase): void {
  expect(error.code, `${c.name}: ${error.message}`).toBe(403);
  if (c.rule?.startsWith("psa:")) {
    expect(error.message).toContain('violates PodSecurity "restricted:v1.37"');
    expect(error.message).toContain(c.rule.slice(4));
  } else {
    expect(error.message).toContain(`denied request: ${c.rule}:`);
  }
}

/** Creates a corpus manifest; resolves to the API error, if any. A 409 (quota object busy) is retried. */
async function applyCase(c: CorpusCase, warnings?: string[]): Promise<KubeApiError | undefined> {
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.create(c.manifest as KubeObject, { warnings });
      return undefined;
    } catch (error) {
      if (!(error instanceof KubeApiError)) throw error;
      if (error.code !== 409 || attempt >= 4) return error;
    }
  }
}

describe("security baseline corpus", () => {
  it("has at least 40 manifests covering every rule and Pod Security control", () => {
    const cases = corpusIn("x");
    expect(cases.length).toBeGreaterThanOrEqual(40);
    const rules = new Set(cases.map((c) => c.rule).filter(Boolean));
    for (const id of [
      "GH-IMG-001",
      "GH-IMG-002",
      "GH-IMG-003",
      "GH-RES-001",
      "GH-RUN-001",
      "GH-NET-001",
      "GH-NET-002",
      "GH-NET-003",
      "GH-DATA-001",
      "GH-META-001",
    ]) {
      expect(rules).toContain(id);
    }
    expect([...rules].filter((r) => r?.startsWith("psa:")).length).toBeGreaterThanOrEqual(15);
  });

  it("Deny mode: every bad manifest is rejected by its intended rule, every good one accepted", async () => {
    await setModes({ default: "Deny" });
    for (const c of corpusIn(`${dept}-dev`, "d-")) {
      const error = await applyCase(c);
      if (c.expect === "allow") expect(error?.message, c.name).toBeUndefined();
      else {
        expect(error, `${c.name} was accepted`).toBeDefined();
        expectRejectedBy(error as KubeApiError, c);
      }
    }
  });

  it("Warn mode: baseline violations are admitted with the rule's warning; Pod Security still enforces", async () => {
    await setModes({ default: "Warn" });
    for (const c of corpusIn(`${dept}-dev`, "w-")) {
      const warnings: string[] = [];
      const error = await applyCase(c, warnings);
      if (c.expect === "allow") {
        expect(error?.message, c.name).toBeUndefined();
        expect(
          warnings.filter((w) => w.includes("GH-")),
          c.name,
        ).toEqual([]);
      } else if (c.rule?.startsWith("psa:")) {
        expectRejectedBy(error as KubeApiError, c);
      } else if (c.alsoRefusedBy === "tenant-quota") {
        expect(error?.message, c.name).toContain("exceeded quota: govhost-tenant-quota");
      } else {
        expect(error?.message, c.name).toBeUndefined();
        expect(
          warnings.some((w) => w.includes(`${c.rule}:`)),
          `${c.name}: ${warnings.join(" | ")}`,
        ).toBe(true);
      }
    }
  });

  it("modes are configurable per environment (roll out in one environment first)", async () => {
    await setModes({ default: "Deny", environments: { test: { rules: { "GH-IMG-002": "Warn" } } } });
    const latest = (ns: string) => corpusIn(ns, "env-").find((c) => c.name === "img-latest") as CorpusCase;
    const warnings: string[] = [];
    expect(await applyCase(latest(`${dept}-test`), warnings)).toBeUndefined();
    expect(warnings.join(" ")).toContain("GH-IMG-002:");
    expectRejectedBy((await applyCase(latest(`${dept}-dev`))) as KubeApiError, latest(`${dept}-dev`));
    const foreign = corpusIn(`${dept}-test`, "env-").find(
      (c) => c.name === "img-foreign-registry",
    ) as CorpusCase;
    expectRejectedBy((await applyCase(foreign)) as KubeApiError, foreign);
  });
});

describe("exemptions", () => {
  it("cannot be obtained with labels or annotations a tenant can set", async () => {
    await setModes({ default: "Deny" });
    const tenant = await client({ user: "mallory", groups: [`${dept}-admins`] });
    const base = corpusIn(`${dept}-dev`, "ex-").find((c) => c.name === "img-latest") as CorpusCase;
    const attempts: Record<string, string>[] = [
      { exempt: "true" },
      { "policies.kyverno.io/exclude": "true" },
      { "pod-security.kubernetes.io/exempt": "true" },
      { "govhost.io/exempt": "true" },
      { "govhost.io/department": "govhost-system" },
    ];
    for (const [i, labels] of attempts.entries()) {
      const manifest = structuredClone(base.manifest) as KubeObject;
      manifest.metadata = { ...manifest.metadata, name: `ex-${i}` };
      manifest.metadata.labels = { ...manifest.metadata.labels, ...labels };
      manifest.metadata.annotations = { ...labels };
      const error = await rejection(tenant.create(manifest));
      expect(error.code).toBe(403);
      expect(error.message).toMatch(/denied request: GH-(IMG-002|META-001):/);
    }
    // Nor by relabelling the namespace or binding policies away: tenants have no such rights.
    const relabel = await rejection(
      tenant.mergePatch(resources.namespace, `${dept}-dev`, {
        metadata: { labels: { "govhost.io/department": null } },
      }),
    );
    expect(relabel.code).toBe(403);
    const unbind = await rejection(
      tenant.delete(resources.validatingAdmissionPolicyBinding, "govhost-pinned-image-tags-deny"),
    );
    expect(unbind.code).toBe(403);
    tenant.close();
  });

  it("stops a tenant changing or removing platform-owned keys on update", async () => {
    const tenant = await client({ user: "mallory", groups: [`${dept}-admins`] });
    const ns = `${dept}-dev`;
    await tenant.create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "settings", namespace: ns },
    });
    const forged = await rejection(
      tenant.mergePatch(
        resources.configMap,
        "settings",
        { metadata: { labels: { "govhost.io/environment": "prod" } } },
        { namespace: ns },
      ),
    );
    expect(forged.message).toContain(
      "GH-META-001: platform-owned keys cannot be set, changed or removed by tenants: govhost.io/environment",
    );
    const relabelled = await tenant.mergePatch<KubeObject>(
      resources.configMap,
      "settings",
      { metadata: { labels: { "govhost.io/data-classification": "RESTRICTED", team: "web" } } },
      { namespace: ns },
    );
    expect(relabelled.metadata?.labels?.team).toBe("web");
    tenant.close();
  });
});

describe("chargeback statements", () => {
  it("are immutable once finalized", async () => {
    const name = uniqueName("stmt");
    const statement = {
      apiVersion: "govhost.io/v1alpha1",
      kind: "ChargebackStatement",
      metadata: { name },
      spec: {
        department: dept,
        period: "2026-10",
        currency: "HKD",
        lines: [],
        totalMinor: 1000,
        finalized: false,
      },
    };
    await admin.create(statement);
    await admin.mergePatch(resources.chargebackStatement, name, { spec: { totalMinor: 1200 } });
    await admin.mergePatch(resources.chargebackStatement, name, { spec: { finalized: true } });
    const change = await rejection(
      admin.mergePatch(resources.chargebackStatement, name, { spec: { totalMinor: 1 } }),
    );
    expect(change.message).toContain("GH-FIN-001: this chargeback statement is finalized");
    const reopen = await rejection(
      admin.mergePatch(resources.chargebackStatement, name, { spec: { finalized: false } }),
    );
    expect(reopen.code).toBe(403);
    const remove = await rejection(admin.delete(resources.chargebackStatement, name));
    expect(remove.message).toContain("GH-FIN-001");
    const labelled = await admin.mergePatch<KubeObject>(resources.chargebackStatement, name, {
      metadata: { labels: { exported: "2026-11-05" } },
    });
    expect(labelled.metadata?.labels?.exported).toBe("2026-11-05");
  });
});

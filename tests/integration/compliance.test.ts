import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { defaultBaselineSettings } from "../../policies/admission.ts";
import { auditedWrites, replicaOf } from "../../tools/cluster/api-audit.ts";
import { installPlatform, localStackBaseline } from "../../tools/install-platform.ts";
import { corpusDepartment, corpusIn, corpusRegistries } from "../policy-corpus/corpus.ts";
import { type ControllerProcess, startController } from "./support/controller-process.ts";
import {
  client,
  condition,
  type DepartmentObject,
  departmentManifest,
  isReady,
  waitForDepartment,
} from "./support/govhost.ts";
import { eventually, uniqueName } from "./support/kube.ts";

interface Report extends KubeObject {
  summary?: Record<string, number>;
  results?: {
    rule: string;
    result: string;
    resources: { name: string }[];
    properties?: Record<string, string>;
  }[];
}

let admin: KubeClient;
let controller: ControllerProcess;
const dept = uniqueName("cmp");

beforeAll(async () => {
  admin = await client();
  await installPlatform(admin, {
    baseline: {
      ...defaultBaselineSettings,
      allowedRegistries: corpusRegistries,
      modes: { default: "Deny" },
      disabled: ["GH-RUN-001"],
    },
  });
  controller = await startController({ env: { GOVHOST_COMPLIANCE_INTERVAL_MS: "1000" } });
  await admin.create(
    departmentManifest(dept, {
      environments: ["dev"],
      domains: [...corpusDepartment.domains],
      maxDataClassification: corpusDepartment.maxDataClassification,
    }),
  );
  await waitForDepartment(admin, dept, isReady);
});

// A failure here is the controller's story: print what it logged.
beforeEach((context) => {
  context.onTestFailed(() => console.error(`controller output:\n${controller?.output().slice(-6000)}`));
});

afterAll(async () => {
  // Back to the shared control plane's baseline (global-setup.ts).
  await installPlatform(admin, { baseline: localStackBaseline });
  await controller?.stop();
  admin?.close();
});

describe("background compliance", () => {
  it("reports violations that existed before a rule was added in Audit mode", async () => {
    const ns = `${dept}-dev`;
    const cases = corpusIn(ns, "pre-");
    const writable = cases.find((c) => c.name === "run-writable-rootfs");
    const good = cases.find((c) => c.name === "good-deployment");
    if (!writable || !good) throw new Error("corpus cases missing");
    // Accepted: the rule is not installed yet.
    await admin.create(writable.manifest as KubeObject);
    await admin.create(good.manifest as KubeObject);

    await installPlatform(admin, {
      baseline: {
        ...defaultBaselineSettings,
        allowedRegistries: corpusRegistries,
        modes: { default: "Deny", rules: { "GH-RUN-001": "Audit" } },
      },
    });
    const report = await eventually(
      "the PolicyReport to list the pre-existing violation",
      async () => {
        const r = await admin.find<Report>(resources.policyReport, "govhost-baseline", ns);
        return r?.results?.some((x) => x.rule === "GH-RUN-001" && x.result === "fail") ? r : undefined;
      },
      30_000,
    );
    const failing = report.results?.filter((r) => r.result === "fail") ?? [];
    expect(failing.map((r) => [r.rule, r.resources[0]?.name, r.properties?.mode])).toEqual([
      ["GH-RUN-001", "pre-run-writable-rootfs", "Audit"],
    ]);
    expect(
      report.results?.some((r) => r.resources[0]?.name === "pre-good-deployment" && r.result === "pass"),
    ).toBe(true);
    expect(report.summary?.fail).toBe(1);

    const status = await eventually("the department to summarise compliance", async () => {
      const d = await admin.get<DepartmentObject>(resources.department, dept);
      return condition(d, "PolicyCompliant")?.status === "False" ? d : undefined;
    });
    expect(status.status?.compliance?.failingRules).toEqual(["GH-RUN-001"]);
    expect(condition(status, "Ready")?.status).toBe("True");
    const metrics = await fetch(`http://127.0.0.1:${controller.port}/metrics`).then((r) => r.text());
    expect(metrics).toContain(`govhost_policy_violations{department="${dept}",rule="GH-RUN-001"} 1`);
  });

  it("clears the violation once the workload is fixed", async () => {
    const ns = `${dept}-dev`;
    expect(await admin.delete(resources.pod, "pre-run-writable-rootfs", ns)).toBe(true);
    const d = await eventually("the department to be compliant again", async () => {
      const current = await admin.get<DepartmentObject>(resources.department, dept);
      return condition(current, "PolicyCompliant")?.status === "True" ? current : undefined;
    });
    expect(d.status?.compliance?.fail).toBe(0);
  });

  it("is not rewritten by a restarted controller while its findings stay the same", async () => {
    const ns = `${dept}-dev`;
    const before = await admin.get<Report>(resources.policyReport, "govhost-baseline", ns);
    expect(before.metadata?.annotations?.["govhost.io/findings-digest"]).toMatch(/^sha256:/);
    await controller.stop();
    const mark = Date.now();
    controller = await startController({ env: { GOVHOST_COMPLIANCE_INTERVAL_MS: "1000" } });
    // A department made after the restart gets its first report from a scan of the new controller, which
    // went through every namespace (scans run one after another, the first one right at the start).
    const later = uniqueName("cmp");
    await admin.create(departmentManifest(later, { environments: ["dev"] }));
    await eventually("the new department's report", () =>
      admin.find<Report>(resources.policyReport, "govhost-baseline", `${later}-dev`),
    );
    const rewrites = auditedWrites(inject("apiAuditLog"), mark).filter(
      (e) =>
        replicaOf(e) !== undefined &&
        e.objectRef?.resource === "policyreports" &&
        e.objectRef.namespace === ns,
    );
    expect(rewrites.map((e) => `${e.verb} ${e.requestReceivedTimestamp}`)).toEqual([]);
    await admin.delete(resources.department, later);
  });
});

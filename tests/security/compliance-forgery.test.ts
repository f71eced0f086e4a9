import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { defaultBaselineSettings } from "../../policies/admission.ts";
import { installPlatform, localStackBaseline } from "../../tools/install-platform.ts";
import { type ControllerProcess, startController } from "../integration/support/controller-process.ts";
import {
  client,
  condition,
  type DepartmentObject,
  departmentManifest,
  isReady,
  waitForDepartment,
} from "../integration/support/govhost.ts";
import { eventually, uniqueName } from "../integration/support/kube.ts";
import { corpusDepartment, corpusIn, corpusRegistries } from "../policy-corpus/corpus.ts";

// Issue #17, finding 16: a forged controller owner reference hid an object from compliance reports (owned
// objects were skipped, to be judged through their owner). Performed for real: a tenant's pod that fails a
// rule in Audit mode claims to be made by a compliant Deployment of the same namespace.

interface Report extends KubeObject {
  results?: { rule: string; result: string; resources: { name: string }[] }[];
}

let admin: KubeClient;
let tenant: KubeClient;
let controller: ControllerProcess;
const dept = uniqueName("frg");
const ns = `${dept}-dev`;

beforeAll(async () => {
  admin = await client();
  await installPlatform(admin, {
    baseline: {
      ...defaultBaselineSettings,
      allowedRegistries: corpusRegistries,
      modes: { default: "Deny", rules: { "GH-RUN-001": "Audit" } },
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
  tenant = await client({ user: "mallory", groups: [`${dept}-developers`] });
});

afterAll(async () => {
  // Back to the shared control plane's baseline (global-setup.ts).
  await installPlatform(admin, { baseline: localStackBaseline });
  await controller?.stop();
  await admin?.delete(resources.department, dept);
  tenant?.close();
  admin?.close();
});

describe("compliance reports", () => {
  it("still report a failing pod that claims a compliant controller as its owner", async () => {
    const cases = corpusIn(ns, "frg-");
    const good = cases.find((c) => c.name === "good-deployment");
    const writable = cases.find((c) => c.name === "run-writable-rootfs");
    if (!good || !writable) throw new Error("corpus cases missing");
    const owner = await tenant.create<KubeObject>(good.manifest as KubeObject);
    // Admitted: GH-RUN-001 only audits here. The owner reference is a lie the API server cannot check.
    await tenant.create({
      ...(writable.manifest as KubeObject),
      metadata: {
        ...(writable.manifest.metadata as KubeObject["metadata"]),
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: "Deployment",
            name: owner.metadata?.name as string,
            uid: owner.metadata?.uid as string,
            controller: true,
          },
        ],
      },
    });

    const report = await eventually(
      "the forged pod's violation in the PolicyReport",
      async () => {
        const r = await admin.find<Report>(resources.policyReport, "govhost-baseline", ns);
        return r?.results?.some((x) => x.rule === "GH-RUN-001" && x.result === "fail") ? r : undefined;
      },
      30_000,
    );
    const failing = report.results?.filter((r) => r.result === "fail") ?? [];
    expect(failing.map((r) => [r.rule, r.resources[0]?.name])).toEqual([
      ["GH-RUN-001", "frg-run-writable-rootfs"],
    ]);
    const department = await eventually("the department to be non-compliant", async () => {
      const d = await admin.get<DepartmentObject>(resources.department, dept);
      return condition(d, "PolicyCompliant")?.status === "False" ? d : undefined;
    });
    expect(department.status?.compliance?.failingRules).toEqual(["GH-RUN-001"]);
  });
});

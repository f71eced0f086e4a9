import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { fieldManagers, statusOwners } from "../../controller/api/conditions.ts";
import { specOrMetadataChanged } from "../../controller/runtime/manager.ts";
import { StatusWriter } from "../../controller/runtime/status-writer.ts";
import type { KubeObject } from "../../lib/kube/client.ts";
import { FakeKube } from "./support/fake-kube.ts";

const t0 = "2026-11-30T10:00:00Z";
const department = (): KubeObject => ({
  apiVersion: "govhost.io/v1alpha1",
  kind: "Department",
  metadata: { name: "immd", generation: 3 },
  status: {
    namespaces: ["immd-dev"],
    observedGeneration: 2,
    // Another writer's part: never touched, never sent.
    budget: { spentMinor: 100 },
    conditions: [
      {
        type: "Ready",
        status: "True",
        reason: "Provisioned",
        message: "ok",
        lastTransitionTime: t0,
        observedGeneration: 2,
      },
      {
        type: "BudgetHealthy",
        status: "True",
        reason: "WithinBudget",
        message: "fine",
        lastTransitionTime: t0,
      },
    ],
  },
});

describe("StatusWriter", () => {
  it("applies only the owner's fields and conditions, with its field manager, on the status subresource", async () => {
    const kube = new FakeKube();
    const writer = new StatusWriter(kube.asClient(), pino({ level: "silent" }));
    const wrote = await writer.write(statusOwners.tenancy, department(), {
      fields: { namespaces: ["immd-dev", "immd-prod"] },
      conditions: [{ type: "Ready", status: "True", reason: "Provisioned", message: "2 namespaces" }],
      now: new Date("2026-11-30T11:00:00Z"),
    });
    expect(wrote).toBe(true);
    expect(kube.applied).toHaveLength(1);
    const [{ object, options }] = kube.applied as [{ object: KubeObject; options: unknown }];
    expect(options).toEqual({ fieldManager: fieldManagers.controller, subresource: "status" });
    expect(object.metadata).toEqual({ name: "immd" });
    expect(object.status).toEqual({
      namespaces: ["immd-dev", "immd-prod"],
      observedGeneration: 3,
      conditions: [
        // Same status: the transition time stays; the generation it describes moves on.
        {
          type: "Ready",
          status: "True",
          reason: "Provisioned",
          message: "2 namespaces",
          lastTransitionTime: t0,
          observedGeneration: 3,
        },
      ],
    });
  });

  it("writes nothing when the owned part would not change", async () => {
    const kube = new FakeKube();
    const writer = new StatusWriter(kube.asClient(), pino({ level: "silent" }));
    const dept = department();
    (dept.metadata as { generation: number }).generation = 2;
    const wrote = await writer.write(statusOwners.tenancy, dept, {
      conditions: [{ type: "Ready", status: "True", reason: "Provisioned", message: "ok" }],
    });
    expect(wrote).toBe(false);
    expect(kube.applied).toHaveLength(0);
  });

  it("removes a field named with undefined, keeps one not named, and lets a writer say what counts as a change", () => {
    const es: KubeObject = {
      kind: "EService",
      metadata: { name: "visa", namespace: "immd-prod", generation: 1 },
      status: {
        url: "https://visa.gov.example",
        internalUrl: "http://visa.immd-prod",
        observedGeneration: 1,
      },
    };
    const next = StatusWriter.next(statusOwners.eservice, es, {
      fields: { url: undefined },
      conditions: [{ type: "Exposed", status: "False", reason: "Withdrawn", message: "withdrawn" }],
      now: new Date(t0),
    });
    expect(next?.url).toBeUndefined();
    expect(next?.internalUrl).toBe("http://visa.immd-prod");
    const ignored = StatusWriter.next(statusOwners.eservice, es, {
      fields: { url: undefined },
      conditions: [],
      changed: () => false,
    });
    expect(ignored).toBeUndefined();
  });

  it("refuses a field the writer does not own", () => {
    expect(() =>
      StatusWriter.next(statusOwners.compliance, department(), { fields: { budget: {} }, conditions: [] }),
    ).toThrow(/govhost-compliance does not own status field\(s\) budget of Department/);
  });

  it("logs a failed write instead of throwing from writeOrLog", async () => {
    const kube = new FakeKube();
    const lines: string[] = [];
    const log = pino({ level: "warn" }, { write: (line: string) => lines.push(line) });
    const writer = new StatusWriter(kube.asClient(), log);
    kube.failNext.set("apply", new Error("etcd timeout"));
    await writer.writeOrLog(statusOwners.metering, department(), {
      conditions: [{ type: "BudgetHealthy", status: "False", reason: "OverBudget", message: "over" }],
    });
    expect(lines.join("")).toContain("status write failed");
    expect(lines.join("")).toContain("etcd timeout");
  });
});

describe("specOrMetadataChanged (event filter)", () => {
  const base: KubeObject = {
    metadata: { name: "immd", generation: 1, labels: { a: "1" } },
    status: { x: 1 },
  };
  it("drops status-only updates and passes everything a reconciler reads", () => {
    expect(specOrMetadataChanged("update", { ...base, status: { x: 2 } }, base)).toBe(false);
    expect(
      specOrMetadataChanged("update", { ...base, metadata: { ...base.metadata, generation: 2 } }, base),
    ).toBe(true);
    expect(
      specOrMetadataChanged("update", { ...base, metadata: { ...base.metadata, labels: { a: "2" } } }, base),
    ).toBe(true);
    expect(
      specOrMetadataChanged(
        "update",
        { ...base, metadata: { ...base.metadata, deletionTimestamp: t0 } },
        base,
      ),
    ).toBe(true);
    // The controller's own finalizer: the same pass provisions, and resync visits every object anyway.
    expect(
      specOrMetadataChanged("update", { ...base, metadata: { ...base.metadata, finalizers: ["f"] } }, base),
    ).toBe(false);
    expect(specOrMetadataChanged("add", base)).toBe(true);
    expect(specOrMetadataChanged("delete", base)).toBe(true);
  });
});

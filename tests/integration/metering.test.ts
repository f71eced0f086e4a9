import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChargebackStatement } from "../../controller/api/chargeback.ts";
import { periodBounds, periodOf } from "../../lib/chargeback/calendar.ts";
import { ledgerKeys, parse } from "../../lib/chargeback/ledger.ts";
import { rational, toDecimalString } from "../../lib/chargeback/rational.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { type ControllerProcess, startController } from "./support/controller-process.ts";
import {
  client,
  condition,
  type DepartmentObject,
  departmentManifest,
  isReady,
  waitForDepartment,
  waitForQuotaToCount,
} from "./support/govhost.ts";
import { eventually, uniqueName } from "./support/kube.ts";
import { playPod } from "./support/kubelet.ts";
import { deleteHeld, ledgerData, monthlyProRata, waitForStatementLine } from "./support/pro-rata.ts";
import { startPrometheus } from "./support/prometheus.ts";
import { calendarZoneAwayFromMonthEdges } from "./support/test-time-zone.ts";

// Pods run for a known time (the test plays the kubelet: it patches status.startTime and the containers'
// finish time), and the month's draft statement must show exactly what they cost at the default rate card
// (35 cents per core-hour, 4.5 cents per GiB-hour), also after the controller is killed and restarted.
// Pods are backdated up to 50 minutes, so the controller counts months in a zone where no month edge is
// near (Hong Kong, or UTC in the hours around a Hong Kong month edge): no pod splits across two statements.

let admin: KubeClient;
let controller: ControllerProcess;
const dept = uniqueName("m");
const hour = 3_600_000;
const timeZone = calendarZoneAwayFromMonthEdges();
const calendar = { GOVHOST_TIMEZONE: timeZone };

beforeAll(async () => {
  admin = await client();
  controller = await startController({ identity: "metering-1", env: calendar });
  await admin.create(
    departmentManifest(dept, {
      environments: ["dev", "prod"],
      monthlyBudget: { amount: 2, currency: "HKD" },
    }),
  );
  await waitForDepartment(admin, dept, isReady);
});

afterAll(async () => {
  await controller?.stop();
  admin?.close();
});

/** The department's metering ledger as the controller stored it. */
async function ledgerChanges(department: string) {
  return parse(department, (await ledgerData(admin, department))[ledgerKeys.changes]).changes;
}

let period = periodOf(Date.now(), timeZone);
function statementName(): string {
  return `${dept}-${period}`;
}

async function statementWithTotal(total: number) {
  return eventually(
    `statement ${statementName()} to total ${total}`,
    async () => {
      const s = await admin.find<ChargebackStatement & KubeObject>(
        resources.chargebackStatement,
        statementName(),
      );
      return s?.spec.totalMinor === total ? s : undefined;
    },
    30_000,
  );
}

describe("metering", () => {
  it("charges finished pods exactly, per environment and resource", async () => {
    // The pods ran within the last 50 minutes; the statement is the one of the month they ran in.
    const base = Date.now() - 50 * 60_000;
    period = periodOf(base, timeZone);
    await playPod(admin, {
      namespace: `${dept}-prod`,
      name: "batch",
      cpu: "4",
      memory: "8Gi",
      start: base,
      end: base + 0.75 * hour,
    }); // 3 core-h, 6 GiB-h
    await playPod(admin, {
      namespace: `${dept}-dev`,
      name: "short",
      cpu: "500m",
      memory: "1Gi",
      start: base + 10 * 60_000,
      end: base + 10 * 60_000 + 30_000,
    }); // 30 s
    // prod: cpu 3 x 35 = 105; memory 6 x 4.5 = 27. dev: cpu 0.5 x 30/3600 x 35 = 0.1458 -> 0; memory
    // 1 x 30/3600 x 4.5 = 0.0375 -> 0. Total 132.
    const statement = await statementWithTotal(132);
    const line = (environment: string, resource: string) =>
      statement.spec.lines.find((l) => l.environment === environment && l.resource === resource);
    expect(line("prod", "cpu")).toMatchObject({
      quantity: "3",
      unit: "core-hour",
      unitPriceMinor: "35",
      amountMinor: 105,
    });
    expect(line("prod", "memory")).toMatchObject({
      quantity: "6",
      unit: "GiB-hour",
      unitPriceMinor: "4.5",
      amountMinor: 27,
    });
    expect(line("dev", "cpu")).toMatchObject({ quantity: "0.004167", amountMinor: 0 });
    expect(statement.spec.finalized).toBe(false);
    // The label readers select statements that still change by (the portal API's cache).
    expect(statement.metadata?.labels?.["govhost.io/finalized"]).toBe("false");
    expect(statement.spec.currency).toBe("HKD");
  });

  it("gives the same figures after a SIGKILL and restart, and with a second replica", async () => {
    await controller.kill();
    controller = await startController({ identity: "metering-2", env: calendar });
    const standby = await startController({ identity: "metering-3", waitReady: false, env: calendar });
    const base = Date.now() - 40 * 60_000;
    await playPod(admin, {
      namespace: `${dept}-prod`,
      name: "after-restart",
      cpu: "2",
      memory: "4Gi",
      start: base,
      end: base + 0.5 * hour,
    }); // 35 + 9 = 44
    const statement = await statementWithTotal(176);
    expect(statement.spec.lines.filter((l) => l.environment === "prod").map((l) => l.amountMinor)).toEqual([
      140, 36,
    ]);
    await standby.stop();
  });

  it("shows the budget and the finance metrics, and Prometheus reads the statement's figure", async () => {
    // 176 cents of a HKD 2.00 budget: 88%, past the 80% warning line.
    const dept176 = await eventually("the budget condition", async () => {
      const d = await admin.get<DepartmentObject>(resources.department, dept);
      return d.status?.budget?.spentMinor === 176 ? d : undefined;
    });
    expect(dept176.status?.budget).toMatchObject({ currency: "HKD", limitMinor: 200, usedRatio: 0.88 });
    expect(condition(dept176, "BudgetHealthy")).toMatchObject({ status: "False", reason: "NearBudget" });

    const prometheus = await startPrometheus([`127.0.0.1:${controller.port}`]);
    try {
      const cost = await eventually("Prometheus to scrape the cost counter", async () => {
        const [sample] = await prometheus.query(
          `sum by (department) (govhost_chargeback_cost_total{department="${dept}"})`,
        );
        return sample && Number(sample.value[1]) > 0 ? Number(sample.value[1]) : undefined;
      });
      const statement = await admin.get<ChargebackStatement & KubeObject>(
        resources.chargebackStatement,
        statementName(),
      );
      expect(cost).toBeCloseTo(statement.spec.totalMinor / 100, 9);
      const [ratio] = await prometheus.query(`govhost_budget_used_ratio{department="${dept}"}`);
      expect(Number(ratio?.value[1])).toBeCloseTo(0.88, 9);
      const [cpuSeconds] = await prometheus.query(
        `sum(govhost_usage_cpu_core_seconds_total{department="${dept}"})`,
      );
      // 4 cores x 45 min + 0.5 core x 30 s + 2 cores x 30 min = 14415 core-seconds.
      expect(Number(cpuSeconds?.value[1])).toBeCloseTo(14_415, 6);
    } finally {
      await prometheus.stop();
    }
  });

  it("bills the quota instead of pods for a department in reserved mode, following quota changes", async () => {
    const reserved = uniqueName("r");
    await admin.mergePatch(resources.rateCard, "govhost-default", {
      spec: { departmentAllocationModes: { [reserved]: "reserved" } },
    });
    const quota = { cpu: "2", memory: "4Gi", storage: "10Gi", pods: 10, eServices: 1, publicEndpoints: 1 };
    await admin.create(departmentManifest(reserved, { environments: ["dev"], quota }));
    const created = await waitForDepartment(admin, reserved, isReady);
    const base = Date.now() - 20 * 60_000;
    await playPod(admin, {
      namespace: `${reserved}-dev`,
      name: "not-billed",
      cpu: "1",
      memory: "1Gi",
      start: base,
      end: base + 10 * 60_000,
    });
    // A quota change mid-life counts from when the controller observes it (the ledger shows the instant).
    const raised = Date.now();
    await admin.mergePatch(resources.department, reserved, { spec: { quota: { cpu: "6" } } });
    const raisedAt = await eventually(
      "the raised quota to be in the ledger",
      async () =>
        (await ledgerChanges(reserved)).find(
          (c) => c.subject.startsWith("department/") && c.resource === "cpu" && c.amount === 6000n,
        )?.at,
    );
    expect(raisedAt).toBeGreaterThanOrEqual(raised);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await admin.delete(resources.department, reserved);
    const deleting = await eventually("the department to be terminating", async () => {
      const d = await admin.find<DepartmentObject>(resources.department, reserved);
      return d?.metadata.deletionTimestamp ? d : undefined;
    });
    const seconds = BigInt(
      (Date.parse(deleting.metadata.deletionTimestamp ?? "") -
        Date.parse(created.metadata.creationTimestamp ?? "")) /
        1000,
    );
    const statementPeriod = periodOf(Date.parse(created.metadata.creationTimestamp ?? ""), timeZone);
    const bounds = periodBounds(statementPeriod, timeZone);
    const monthSeconds = BigInt((bounds.end - bounds.start) / 1000);
    const round = (n: bigint, d: bigint) => Number((2n * n + d) / (2n * d));
    const expected = {
      // 2 cores until the raise, 6 after it, at 35 cents per core-hour (times in milliseconds).
      cpu: round(
        (2n * BigInt(raisedAt - Date.parse(created.metadata.creationTimestamp ?? "")) +
          6n * BigInt(Date.parse(deleting.metadata.deletionTimestamp ?? "") - raisedAt)) *
          35n,
        3_600_000n,
      ),
      memory: round(4n * seconds * 45n, 3600n * 10n),
      storage: round(10n * seconds * 80n, monthSeconds),
    };
    const statement = await eventually(
      "the reserved department's statement",
      async () => {
        const st = await admin.find<ChargebackStatement & KubeObject>(
          resources.chargebackStatement,
          `${reserved}-${statementPeriod}`,
        );
        const cpu = st?.spec.lines.find((l) => l.resource === "cpu");
        return cpu?.amountMinor === expected.cpu ? st : undefined;
      },
      30_000,
    );
    const amounts = Object.fromEntries(
      statement.spec.lines.map((l) => [l.resource, [l.environment, l.amountMinor]]),
    );
    expect(amounts).toEqual({
      cpu: ["all", expected.cpu],
      memory: ["all", expected.memory],
      storage: ["all", expected.storage],
    });
    await admin.mergePatch(resources.rateCard, "govhost-default", {
      spec: { departmentAllocationModes: null },
    });
  });

  it("bills a bound volume claim by capacity from creation to deletion, pro-rated over the month", async () => {
    const owner = uniqueName("v");
    await admin.create(departmentManifest(owner, { environments: ["dev"] }));
    await waitForDepartment(admin, owner, isReady);
    const ns = `${owner}-dev`;
    // A pre-provisioned volume, bound to the claim by the controller manager's volume binder.
    const volume = `${owner}-records`;
    await admin.call("POST", "/api/v1/persistentvolumes", {
      body: {
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name: volume },
        spec: {
          capacity: { storage: "200Gi" },
          accessModes: ["ReadWriteOnce"],
          storageClassName: "manual",
          persistentVolumeReclaimPolicy: "Retain",
          hostPath: { path: `/tmp/${volume}` },
        },
      },
    });
    const pvc = await admin.create<KubeObject>({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "records", namespace: ns },
      spec: {
        accessModes: ["ReadWriteOnce"],
        storageClassName: "manual",
        volumeName: volume,
        resources: { requests: { storage: "200Gi" } },
      },
    });
    await eventually("the claim to be bound", async () => {
      const current = await admin.get<KubeObject & { status?: { phase?: string } }>(
        resources.persistentVolumeClaim,
        "records",
        ns,
      );
      return current.status?.phase === "Bound" ? current : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    // The volume is expanded (as the resize controller would report it): counted from when it is observed.
    const resizeRequested = Date.now();
    await admin.mergePatch(
      resources.persistentVolumeClaim,
      "records",
      { status: { capacity: { storage: "300Gi" } } },
      { namespace: ns, subresource: "status" },
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    // The deletion answer carries deletionTimestamp (the pvc-protection finalizer holds the object briefly).
    const deleting = await admin.call<KubeObject>(
      "DELETE",
      `/api/v1/namespaces/${ns}/persistentvolumeclaims/records`,
    );
    const createdAt = Date.parse(pvc.metadata?.creationTimestamp ?? "");
    const deletedAt = Date.parse(deleting.metadata?.deletionTimestamp ?? "");
    const uid = pvc.metadata?.uid;
    const resizedAt = await eventually(
      "the expansion to be in the ledger",
      async () =>
        (await ledgerChanges(owner)).find((c) => c.subject === `pvc/${uid}` && c.amount === 300n * 2n ** 30n)
          ?.at,
    );
    expect(resizedAt).toBeGreaterThanOrEqual(resizeRequested);
    expect(resizedAt).toBeLessThan(deletedAt + 1000);
    const statementPeriod = periodOf(createdAt, timeZone);
    const bounds = periodBounds(statementPeriod, timeZone);
    const monthMs = BigInt(bounds.end - bounds.start);
    // 200 GiB until the expansion, 300 GiB after it until deletion, over the month; 6 decimals, half up.
    // (Deletion timestamps have whole seconds: an end that sorts before the resize ends right after it.)
    const gibMs =
      200n * BigInt(resizedAt - createdAt) + 300n * BigInt(Math.max(deletedAt, resizedAt + 1) - resizedAt);
    const micro = (2n * gibMs * 1_000_000n + monthMs) / (2n * monthMs);
    const expectedQuantity = `0.${micro.toString().padStart(6, "0")}`.replace(/0+$/, "");
    const line = await waitForStatementLine(
      admin,
      `${owner}-${statementPeriod}`,
      "storage",
      expectedQuantity,
      0,
    );
    expect(line).toMatchObject({
      environment: "dev",
      unit: "GiB-month",
      unitPriceMinor: "80",
      amountMinor: 0,
    });
  });

  it("bills a public endpoint (Ingress) per endpoint-month from creation to deletion", async () => {
    const owner = uniqueName("e");
    await admin.create(
      departmentManifest(owner, { environments: ["prod"], domains: [`${owner}.gov.example`] }),
    );
    await waitForDepartment(admin, owner, isReady);
    const ns = `${owner}-prod`;
    const host = `www.${owner}.gov.example`;
    const ingress = await admin.create<KubeObject>({
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      // A finalizer of the test's own keeps the object until the test has read its deletionTimestamp.
      metadata: { name: "portal", namespace: ns, finalizers: ["test.gov.example/hold"] },
      spec: {
        tls: [{ hosts: [host], secretName: "portal-tls" }],
        rules: [
          {
            host,
            http: {
              paths: [
                {
                  path: "/",
                  pathType: "Prefix",
                  backend: { service: { name: "web", port: { number: 80 } } },
                },
              ],
            },
          },
        ],
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const deleted = await deleteHeld(admin, resources.ingress, "portal", ns);
    const created = Date.parse(ingress.metadata?.creationTimestamp ?? "");
    expect(deleted - created).toBeGreaterThanOrEqual(3_000);
    const statementPeriod = periodOf(created, timeZone);
    // The price is 20000 cents an endpoint-month.
    const { quantity: expectedQuantity, amountMinor: expectedAmount } = monthlyProRata(
      created,
      deleted,
      statementPeriod,
      20_000,
      timeZone,
    );
    const line = await waitForStatementLine(
      admin,
      `${owner}-${statementPeriod}`,
      "public-endpoint",
      expectedQuantity,
      expectedAmount,
    );
    expect(line).toMatchObject({
      environment: "prod",
      unit: "endpoint-month",
      unitPriceMinor: "20000",
      amountMinor: expectedAmount,
    });
  });

  it("bills an e-service per e-service-month from creation to deletion", async () => {
    const owner = uniqueName("s");
    await admin.create(departmentManifest(owner, { environments: ["prod"] }));
    await waitForDepartment(admin, owner, isReady);
    const ns = `${owner}-prod`;
    await waitForQuotaToCount(admin, ns, "count/eservices.govhost.io");
    const eservice = await admin.create<KubeObject>({
      apiVersion: "govhost.io/v1alpha1",
      kind: "EService",
      metadata: { name: "forms", namespace: ns, finalizers: ["test.gov.example/hold"] },
      spec: { image: "registry.gov.example/forms/web:1.0.0", replicas: 0 },
    });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const deleted = await deleteHeld(admin, resources.eservice, "forms", ns);
    const created = Date.parse(eservice.metadata?.creationTimestamp ?? "");
    expect(deleted - created).toBeGreaterThanOrEqual(3_000);
    const statementPeriod = periodOf(created, timeZone);
    // The price is 5000 cents an e-service-month.
    const { quantity: expectedQuantity, amountMinor: expectedAmount } = monthlyProRata(
      created,
      deleted,
      statementPeriod,
      5_000,
      timeZone,
    );
    const line = await waitForStatementLine(
      admin,
      `${owner}-${statementPeriod}`,
      "eservice",
      expectedQuantity,
      expectedAmount,
    );
    expect(line).toMatchObject({
      environment: "prod",
      eservice: "forms",
      unitPriceMinor: "5000",
      amountMinor: expectedAmount,
    });
  });
  it("folds the allocations of deleted pods into integrals once the ledger grows, without changing a figure", async () => {
    await controller.stop();
    const env = { ...calendar, GOVHOST_LEDGER_COMPACT_BYTES: "2048", GOVHOST_METERING_REFRESH_MS: "2000" };
    controller = await startController({ identity: "metering-fold-1", env });
    const busy = uniqueName("f");
    await admin.create(departmentManifest(busy, { environments: ["prod"] }));
    await waitForDepartment(admin, busy, isReady);
    const ns = `${busy}-prod`;
    // Twelve pods of 250m and 256Mi ran 1 to 12 minutes each and ended long before the fold's 2-minute
    // grace. Eleven are deleted; one is kept, as a Job keeps its finished pod.
    const base = Date.now() - 45 * 60_000;
    let milliMs = 0n;
    for (let i = 0; i < 12; i++) {
      const start = base + i * 60_000;
      const end = start + (i + 1) * 60_000;
      await playPod(admin, { namespace: ns, name: `job-${i}`, cpu: "250m", memory: "256Mi", start, end });
      milliMs += 250n * BigInt(end - start);
    }
    for (let i = 0; i < 11; i++) await admin.delete(resources.pod, `job-${i}`, ns);
    const statementPeriod = periodOf(base, timeZone);
    // cpu: millicore-ms over 1000 x 3.6e6 per core-hour; memory: 256Mi is 1/4 GiB, per GiB-hour.
    const cpuQuantity = toDecimalString(rational(milliMs, 3_600_000_000n));
    const memoryQuantity = toDecimalString(rational(milliMs, 1000n * 3_600_000n));
    const kept = await admin.get<KubeObject>(resources.pod, "job-11", ns);
    // Every pod's allocation is recorded once the statement shows all of them.
    const cpu = await waitForStatementLine(admin, `${busy}-${statementPeriod}`, "cpu", cpuQuantity);
    expect(cpu.amountMinor).toBe(Number((2n * milliMs * 35n + 3_600_000_000n) / 7_200_000_000n));
    await waitForStatementLine(admin, `${busy}-${statementPeriod}`, "memory", memoryQuantity);
    const subjects = await eventually("the ledger to fold deleted pods", async () => {
      const data = await ledgerData(admin, busy);
      const left = new Set(parse(busy, data[ledgerKeys.changes]).changes.map((c) => c.subject));
      return data[ledgerKeys.folded] && left.size < 12 ? left : undefined;
    });
    // Deleted pods were folded away (until the ledger was back under the limit); the kept pod never is.
    expect(subjects).toContain(`pod/${kept.metadata?.uid}`);

    // A restart derives the kept pod's changes again; the ledger dedupes them and nothing is folded twice.
    await controller.kill();
    controller = await startController({ identity: "metering-fold-2", env });
    // It leads once started; three refreshes later its statement stands.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const statement = await admin.get<ChargebackStatement & KubeObject>(
      resources.chargebackStatement,
      `${busy}-${statementPeriod}`,
    );
    expect(statement.spec.lines.map((l) => [l.resource, l.quantity])).toEqual([
      ["cpu", cpuQuantity],
      ["memory", memoryQuantity],
    ]);
  });
});

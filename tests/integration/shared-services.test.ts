import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChargebackStatement } from "../../controller/api/chargeback.ts";
import type { SharedServiceInstance } from "../../controller/api/shared-service.ts";
import { periodOf } from "../../lib/chargeback/calendar.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { startTestBroker, type TestBroker } from "../fixtures/osb-broker.ts";
import {
  client,
  departmentManifest,
  isReady,
  rejection,
  useAdminAndController,
  waitForDepartment,
} from "./support/govhost.ts";
import { eventually, uniqueName } from "./support/kube.ts";
import { deleteHeld, monthlyProRata } from "./support/pro-rata.ts";
import { calendarZoneAwayFromMonthEdges } from "./support/test-time-zone.ts";

// Shared services against the real API server: a department subscribes to the default catalogue, the
// controller renders the instance into its namespace, and records are protected by admission.

type InstanceObject = SharedServiceInstance & KubeObject;
type Workload = KubeObject & {
  spec: { template: { spec: { containers: { resources: { limits: Record<string, string> } }[] } } };
};
type Claim = KubeObject & { spec: { resources: { requests: { storage: string } } } };
const limitsOf = (deployment: Workload) => deployment.spec.template.spec.containers[0]?.resources.limits;

const timeZone = calendarZoneAwayFromMonthEdges();
// A broker gets 5 s to answer (30 s by default), so a hanging one is seen quickly; it is then left alone
// for 10 s.
const brokerTimeoutMs = 5_000;
const env = useAdminAndController({
  env: { GOVHOST_TIMEZONE: timeZone, GOVHOST_BROKER_TIMEOUT_MS: String(brokerTimeoutMs) },
});
const dept = uniqueName("ss");
const ns = `${dept}-prod`;
let tenant: KubeClient;
let recordsManager: KubeClient;

const ready = (instance: InstanceObject | undefined) =>
  instance?.status?.conditions?.find((c) => c.type === "Ready");

function instance(
  name: string,
  service: string,
  plan: string,
  parameters: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: "govhost.io/v1alpha1",
    kind: "SharedServiceInstance",
    metadata: { name, namespace: ns },
    spec: { service, plan, parameters },
  };
}

function waitForInstance(
  name: string,
  accept: (i: InstanceObject) => boolean,
  what: string,
  timeoutMs?: number,
) {
  return eventually(
    `${name}: ${what}`,
    async () => {
      const found = await env.admin.find<InstanceObject>(resources.sharedServiceInstance, name, ns);
      return found && found.status?.observedGeneration === found.metadata.generation && accept(found)
        ? found
        : undefined;
    },
    timeoutMs,
  );
}

beforeAll(async () => {
  await env.admin.create(departmentManifest(dept, { environments: ["prod"] }));
  await waitForDepartment(env.admin, dept, isReady, "ready");
  tenant = await client({ user: "hana", groups: [`${dept}-admins`] });
  recordsManager = await client({ user: "rita", groups: ["govhost:records-managers"] });
});

afterAll(async () => {
  tenant?.close();
  recordsManager?.close();
  await env.admin?.delete(resources.department, dept);
});

describe("shared services catalogue", () => {
  it("ships the default catalogue", async () => {
    const catalogue = await tenant.list<KubeObject & { spec: { plans: { name: string }[] } }>(
      resources.sharedService,
    );
    const names = catalogue.items.map((s) => s.metadata?.name);
    expect(names).toEqual(expect.arrayContaining(["collaboration-workspace", "records-management"]));
  });

  it("subscribes: the instance becomes Ready with its workload and a binding Secret in the namespace", async () => {
    await tenant.create(instance("wiki", "collaboration-workspace", "team", { seats: 30 }));
    const ready_ = await waitForInstance("wiki", (i) => ready(i)?.status === "True", "ready");
    expect(ready_.status).toMatchObject({
      phase: "Ready",
      plan: "team",
      bindingSecret: "wiki-binding",
      url: `http://wiki.${ns}.svc`,
    });
    const deployment = await env.admin.get<Workload>(resources.deployment, "wiki", ns);
    expect(limitsOf(deployment)).toEqual({
      cpu: "500m",
      memory: "1Gi",
    });
    const config = await env.admin.get<KubeObject & { data: Record<string, string> }>(
      resources.configMap,
      "wiki-config",
      ns,
    );
    expect(config.data).toMatchObject({ service: "collaboration-workspace", plan: "team", seats: "30" });
    const pvc = await env.admin.get<Claim>(resources.persistentVolumeClaim, "wiki-data", ns);
    expect(pvc.spec.resources.requests.storage).toBe("50Gi");
    const secret = await env.admin.get<KubeObject & { data: Record<string, string> }>(
      resources.secret,
      "wiki-binding",
      ns,
    );
    expect(Object.keys(secret.data).sort()).toEqual(["password", "url", "username"]);
    expect(Buffer.from(secret.data.url as string, "base64").toString()).toBe(`http://wiki.${ns}.svc`);
  });

  it("changes plan: the workload is re-rendered with the new plan's limits", async () => {
    const before = await env.admin.get<KubeObject & { data: Record<string, string> }>(
      resources.secret,
      "wiki-binding",
      ns,
    );
    await tenant.mergePatch(
      resources.sharedServiceInstance,
      "wiki",
      { spec: { plan: "division" } },
      { namespace: ns },
    );
    const changed = await waitForInstance(
      "wiki",
      (i) => i.status?.plan === "division",
      "on the division plan",
    );
    expect(ready(changed)?.status).toBe("True");
    const deployment = await env.admin.get<Workload>(resources.deployment, "wiki", ns);
    expect(limitsOf(deployment)).toEqual({ cpu: "2", memory: "4Gi" });
    // The local cluster's claims have no expandable storage class: the refusal is reported, not hidden.
    expect(changed.status?.conditions?.find((c) => c.type === "StorageSized")).toMatchObject({
      status: "False",
      reason: "ResizeRefused",
    });
    const after = await env.admin.get<KubeObject & { data: Record<string, string> }>(
      resources.secret,
      "wiki-binding",
      ns,
    );
    expect(after.data.password).toBe(before.data.password);
  });

  it("cancels: deleting the instance removes everything it owns", async () => {
    await tenant.delete(resources.sharedServiceInstance, "wiki", ns);
    await eventually(
      "the instance's objects to be garbage-collected",
      async () => {
        const left = await Promise.all([
          env.admin.find(resources.deployment, "wiki", ns),
          env.admin.find(resources.service, "wiki", ns),
          env.admin.find(resources.configMap, "wiki-config", ns),
          env.admin.find(resources.secret, "wiki-binding", ns),
        ]);
        return left.every((o) => o === undefined) ? true : undefined;
      },
      60_000,
    );
  });

  it("tells a child made invalid by a hand edit from a policy's refusal, and recovers once it is deleted", async () => {
    await tenant.create(instance("notes", "collaboration-workspace", "team", { seats: 10 }));
    await waitForInstance("notes", (i) => ready(i)?.status === "True", "ready");
    // Valid alone, but merged with the platform's port 80 (also named http) the Service the platform applies
    // repeats a port name, which the API server's validation refuses.
    await tenant.mergePatch(
      resources.service,
      "notes",
      { spec: { ports: [{ name: "http", port: 8080, targetPort: 8080, protocol: "TCP" }] } },
      { namespace: ns },
    );
    await tenant.mergePatch(
      resources.sharedServiceInstance,
      "notes",
      { spec: { parameters: { seats: 11 } } },
      {
        namespace: ns,
      },
    );
    const invalid = await waitForInstance("notes", (i) => ready(i)?.status === "False", "refused");
    expect(invalid.status?.phase).toBe("Failed");
    expect(ready(invalid)?.reason).toBe("ChildInvalid");
    expect(ready(invalid)?.message).toContain('Service "notes"');
    expect(ready(invalid)?.message).toMatch(/Duplicate value/);
    expect(ready(invalid)?.message).toContain("delete it so the platform creates it again");

    // The fix the message gives; nothing else is touched: the instance is looked at again and recovers.
    await tenant.delete(resources.service, "notes", ns);
    await waitForInstance("notes", (i) => ready(i)?.status === "True", "ready again", 60_000);
    const service = await env.admin.get<KubeObject & { spec: { ports: { name: string; port: number }[] } }>(
      resources.service,
      "notes",
      ns,
    );
    expect(service.spec.ports.map((p) => `${p.name}:${p.port}`)).toEqual(["http:80"]);
    await tenant.delete(resources.sharedServiceInstance, "notes", ns);
  });

  it("reports an unknown plan in status instead of failing", async () => {
    await tenant.create(instance("typo", "collaboration-workspace", "enterprise"));
    const failed = await waitForInstance("typo", (i) => ready(i)?.status === "False", "refused");
    expect(ready(failed)).toMatchObject({
      reason: "UnknownPlan",
      message: expect.stringContaining("plans: team, division"),
    });
  });
});

/** A catalogue entry provisioned by `broker` (its credentials in a Secret of the platform namespace). */
async function registerBrokerService(name: string, broker: TestBroker): Promise<void> {
  await env.admin.apply(
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: `${name}-broker`, namespace: "govhost-system" },
      stringData: { username: broker.username, password: broker.password },
    },
    { fieldManager: "test" },
  );
  await env.admin.apply(
    {
      apiVersion: "govhost.io/v1alpha1",
      kind: "SharedService",
      metadata: { name },
      spec: {
        displayName: { en: "E-forms", zhHant: "電子表格" },
        provisioning: {
          method: "broker",
          broker: { url: broker.url, serviceId: "forms-svc", credentialsSecret: `${name}-broker` },
        },
        plans: [
          {
            name: "small",
            brokerPlanId: "forms-small",
            displayName: { en: "Small", zhHant: "小型" },
            priceMinorPerMonth: 50_000,
            limits: { storage: "1Gi", cpu: "100m", memory: "128Mi" },
          },
          {
            name: "large",
            brokerPlanId: "forms-large",
            displayName: { en: "Large", zhHant: "大型" },
            priceMinorPerMonth: 200_000,
            limits: { storage: "10Gi", cpu: "500m", memory: "512Mi" },
          },
        ],
      },
    },
    { fieldManager: "test" },
  );
}

async function removeBrokerService(name: string): Promise<void> {
  await env.admin.delete(resources.sharedService, name);
  await env.admin.delete(resources.secret, `${name}-broker`, "govhost-system");
}

describe("a broker-backed catalogue entry (Open Service Broker v2.16)", () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker();
    await registerBrokerService("e-forms", broker);
  });
  afterAll(async () => {
    await removeBrokerService("e-forms");
    await broker?.close();
  });

  it("provisions asynchronously, binds, changes plan and deprovisions at the broker", async () => {
    await tenant.create(instance("forms", "e-forms", "small"));
    const ready_ = await waitForInstance(
      "forms",
      (i) => ready(i)?.status === "True",
      "provisioned by the broker",
    );
    const id = ready_.metadata.uid as string;
    expect(ready_.status).toMatchObject({
      phase: "Ready",
      plan: "small",
      bindingSecret: "forms-binding",
      broker: { plan: "small", bound: true },
    });
    expect(broker.instances.get(id)).toMatchObject({
      planId: "forms-small",
      context: { platform: "govhost", department: dept, namespace: ns },
    });
    // The broker answered "in progress" once: the controller polled last_operation until it succeeded.
    expect(
      broker.calls.filter((c) => c === `GET /v2/service_instances/${id}/last_operation`).length,
    ).toBeGreaterThanOrEqual(2);
    const secret = await env.admin.get<KubeObject & { data: Record<string, string> }>(
      resources.secret,
      "forms-binding",
      ns,
    );
    expect(Buffer.from(secret.data.password as string, "base64").toString()).toBe("from-the-broker");

    await tenant.mergePatch(
      resources.sharedServiceInstance,
      "forms",
      { spec: { plan: "large" } },
      { namespace: ns },
    );
    await waitForInstance(
      "forms",
      (i) => i.status?.broker?.plan === "large" && ready(i)?.status === "True",
      "on the large plan",
    );
    expect(broker.instances.get(id)?.planId).toBe("forms-large");

    await tenant.delete(resources.sharedServiceInstance, "forms", ns);
    await eventually("the instance to be released by the broker and removed", async () =>
      (await env.admin.find(resources.sharedServiceInstance, "forms", ns)) ? undefined : true,
    );
    expect(broker.calls).toEqual(
      expect.arrayContaining([
        `PUT /v2/service_instances/${id}`,
        `PATCH /v2/service_instances/${id}`,
        `PUT /v2/service_instances/${id}/service_bindings/${id}`,
        `DELETE /v2/service_instances/${id}/service_bindings/${id}`,
        `DELETE /v2/service_instances/${id}`,
      ]),
    );
    expect(broker.instances.has(id)).toBe(false);
  });
});

describe("a broker in trouble (issue #18: hangs, answers garbage)", () => {
  const brokers: Record<"hung" | "garbage" | "healthy", TestBroker | undefined> = {
    hung: undefined,
    garbage: undefined,
    healthy: undefined,
  };
  beforeAll(async () => {
    for (const kind of ["hung", "garbage", "healthy"] as const) {
      const broker = await startTestBroker();
      if (kind === "hung") broker.trouble = "hang";
      if (kind === "garbage") broker.trouble = "garbage";
      brokers[kind] = broker;
      await registerBrokerService(`forms-${kind}`, broker);
    }
  });
  afterAll(async () => {
    for (const kind of ["hung", "garbage", "healthy"] as const) {
      // Instances left at a broker keep its finalizer until released: heal the broker, then delete them.
      const broker = brokers[kind];
      if (broker) broker.trouble = undefined;
    }
    for (const name of ["hung-1", "hung-2", "hung-3", "garbled", "fine"])
      await env.admin.delete(resources.sharedServiceInstance, name, ns);
    await eventually("the test's instances released and removed", async () =>
      (await env.admin.list(resources.sharedServiceInstance, { namespace: ns })).items.some((i) =>
        ["hung-1", "hung-2", "hung-3", "garbled", "fine"].includes(i.metadata?.name ?? ""),
      )
        ? undefined
        : true,
    );
    for (const kind of ["hung", "garbage", "healthy"] as const) {
      await removeBrokerService(`forms-${kind}`);
      await brokers[kind]?.close();
    }
  });

  it("reports each instance's trouble in its status, leaves a hung broker alone, and provisions once it is back", async () => {
    const unreachable = (name: string) =>
      waitForInstance(name, (i) => ready(i)?.reason === "BrokerUnreachable", "reported unreachable");
    await tenant.create(instance("hung-1", "forms-hung", "small"));
    const first = await unreachable("hung-1");
    // Its own status write brings it back at once, and then it is already being left alone.
    expect(ready(first)?.message).toMatch(
      new RegExp(
        `^the broker at ${brokers.hung?.url} did not answer PUT /v2/service_instances/\\S+ within 5 s(; it is asked again after \\S+)?$`,
      ),
    );
    expect(first.status?.phase).toBe("Provisioning");

    // While the hung broker is left alone, its other instances are told at once (no call, no worker held
    // for the time limit), a broker answering garbage is reported as such, and a healthy one provisions.
    for (const name of ["hung-2", "hung-3"]) await tenant.create(instance(name, "forms-hung", "small"));
    await tenant.create(instance("garbled", "forms-garbage", "small"));
    await tenant.create(instance("fine", "forms-healthy", "small"));
    for (const name of ["hung-2", "hung-3"])
      expect(ready(await unreachable(name))?.message).toMatch(
        /did not answer PUT \/v2\/service_instances\/\S+ within 5 s; it is asked again after \d{4}-/,
      );
    const garbled = await waitForInstance(
      "garbled",
      (i) => ready(i)?.reason === "BrokerFault",
      "reported as answering garbage",
    );
    expect(ready(garbled)?.message).toMatch(
      /^broker answer to PUT \/v2\/service_instances\/\S+ is not JSON$/,
    );
    await waitForInstance("fine", (i) => ready(i)?.status === "True", "provisioned by the healthy broker");

    // Healed, both brokers' instances are provisioned on their next try, with nothing done by hand.
    if (brokers.hung) brokers.hung.trouble = undefined;
    if (brokers.garbage) brokers.garbage.trouble = undefined;
    for (const name of ["hung-1", "hung-2", "hung-3", "garbled"])
      await waitForInstance(
        name,
        (i) => ready(i)?.status === "True",
        "provisioned once the broker is back",
        90_000,
      );
    expect(brokers.hung?.instances.size).toBe(3);
  });
});

describe("plan fees", () => {
  it("puts the pro-rated fee of each plan on the department's statement", async () => {
    await tenant.create({
      ...instance("minutes", "collaboration-workspace", "team"),
      // A finalizer of the test's own keeps the object until its deletion time has been read.
      metadata: { name: "minutes", namespace: ns, finalizers: ["test.gov.example/hold"] },
    });
    await waitForInstance("minutes", (i) => ready(i)?.status === "True", "ready");
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await tenant.mergePatch(
      resources.sharedServiceInstance,
      "minutes",
      { spec: { plan: "division" } },
      { namespace: ns },
    );
    const changed = await waitForInstance(
      "minutes",
      (i) => i.status?.planHistory?.length === 2,
      "plan change recorded",
    );
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const deleted = await deleteHeld(env.admin, resources.sharedServiceInstance, "minutes", ns);

    const [team, division] = changed.status?.planHistory ?? [];
    const teamFrom = Date.parse(team?.since ?? "");
    const divisionFrom = Date.parse(division?.since ?? "");
    const period = periodOf(teamFrom, timeZone);
    const want = [
      {
        item: "collaboration-workspace/team/minutes",
        ...monthlyProRata(teamFrom, divisionFrom, period, 150_000, timeZone),
      },
      {
        item: "collaboration-workspace/division/minutes",
        ...monthlyProRata(divisionFrom, deleted, period, 900_000, timeZone),
      },
    ];
    const lines = await eventually(
      "the plan fees on the draft statement",
      async () => {
        const statement = await env.admin.find<ChargebackStatement & KubeObject>(
          resources.chargebackStatement,
          `${dept}-${period}`,
        );
        const fees = statement?.spec.lines.filter((l) => l.resource === "shared-service");
        // A draft computed while the instance still ran can share the quantity but not the amount: wait for
        // the one with its deletion.
        const minutes = want.map((w) =>
          fees?.find(
            (l) => l.item === w.item && l.quantity === w.quantity && l.amountMinor === w.amountMinor,
          ),
        );
        if (!minutes.every(Boolean)) throw new Error(`plan fee lines so far: ${JSON.stringify(fees)}`);
        return minutes;
      },
      30_000,
    );
    expect(lines.map((l) => ({ item: l?.item, quantity: l?.quantity, amountMinor: l?.amountMinor }))).toEqual(
      want,
    );
    expect(lines.map((l) => [l?.unit, l?.unitPriceMinor])).toEqual([
      ["plan-month", "150000"],
      ["plan-month", "900000"],
    ]);
  });
});

describe("records protections (admission, whoever asks)", () => {
  const schedules = [
    { recordClass: "licensing/applications", retainYears: 7, disposal: "destroy" },
    { recordClass: "licensing/appeals", retainYears: 15, disposal: "transfer-to-archives" },
  ];

  it("lets only records managers place holds, in their own name", async () => {
    await tenant.create(
      instance("records", "records-management", "standard", { retentionSchedules: schedules }),
    );
    await waitForInstance("records", (i) => ready(i)?.status === "True", "ready");
    const hold = { id: "LH-2026-017", reason: "Judicial review of licensing decisions", placedBy: "hana" };
    const byTenant = await rejection(
      tenant.mergePatch(
        resources.sharedServiceInstance,
        "records",
        { spec: { parameters: { retentionSchedules: schedules, legalHolds: [hold] } } },
        { namespace: ns },
      ),
    );
    expect(byTenant.message).toContain("GH-REC-002");
    const inAnotherName = await rejection(
      recordsManager.mergePatch(
        resources.sharedServiceInstance,
        "records",
        { spec: { parameters: { retentionSchedules: schedules, legalHolds: [hold] } } },
        { namespace: ns },
      ),
    );
    expect(inAnotherName.message).toContain("must be your own user name");
    await recordsManager.mergePatch(
      resources.sharedServiceInstance,
      "records",
      {
        spec: { parameters: { retentionSchedules: schedules, legalHolds: [{ ...hold, placedBy: "rita" }] } },
      },
      { namespace: ns },
    );
  });

  it("refuses moving records under a hold to a smaller plan, and allows a larger one", async () => {
    await tenant.mergePatch(
      resources.sharedServiceInstance,
      "records",
      { spec: { plan: "large" } },
      { namespace: ns },
    );
    const smaller = await rejection(
      tenant.mergePatch(
        resources.sharedServiceInstance,
        "records",
        { spec: { plan: "standard" } },
        { namespace: ns },
      ),
    );
    expect(smaller.message).toContain("GH-REC-003: plan standard (100Gi) is smaller than large (1Ti)");
  });

  it("refuses deleting a records instance under a legal hold or retention, even for the department admin with kubectl", async () => {
    const held = await rejection(tenant.delete(resources.sharedServiceInstance, "records", ns));
    expect(held.code).toBe(403);
    expect(held.message).toContain("GH-REC-001");
    expect(held.message).toContain("legal holds LH-2026-017 are active");

    await recordsManager.mergePatch(
      resources.sharedServiceInstance,
      "records",
      { spec: { parameters: { retentionSchedules: schedules, legalHolds: [] } } },
      { namespace: ns },
    );
    const retained = await rejection(tenant.delete(resources.sharedServiceInstance, "records", ns));
    expect(retained.message).toContain("licensing/applications, licensing/appeals are under retention");

    const approvals = schedules.map((s) => ({
      recordClass: s.recordClass,
      approvedBy: "rita",
      approvedAt: "2026-11-23T00:00:00Z",
    }));
    await recordsManager.mergePatch(
      resources.sharedServiceInstance,
      "records",
      { spec: { disposalApprovals: approvals } },
      { namespace: ns },
    );
    expect(await tenant.delete(resources.sharedServiceInstance, "records", ns)).toBe(true);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChargebackStatement } from "../../controller/api/chargeback.ts";
import { aboveRequestItem, parseUsage } from "../../lib/chargeback/above-request.ts";
import { periodOf } from "../../lib/chargeback/calendar.ts";
import { ledgerKeys } from "../../lib/chargeback/ledger.ts";
import { rational, toDecimalString } from "../../lib/chargeback/rational.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { startTestMetricsApi, type TestMetricsApi } from "../fixtures/metrics-api.ts";
import { type ControllerProcess, startController } from "./support/controller-process.ts";
import { client, compliantPod, departmentManifest, isReady, waitForDepartment } from "./support/govhost.ts";
import { eventually, uniqueName } from "./support/kube.ts";
import { ledgerData } from "./support/pro-rata.ts";
import { calendarZoneAwayFromMonthEdges } from "./support/test-time-zone.ts";

// `consumed` mode bills max(request, usage) when a metrics API is installed. The test installs one the way
// metrics-server is installed (an APIService behind the API server's aggregation layer) and sets what it
// reads: a pod requesting 100m that uses 350m is billed its request exactly plus 250m for the time it was
// observed above it, on its own statement line, without counting any interval twice across a SIGKILL.

const pollMs = 1000;
const timeZone = calendarZoneAwayFromMonthEdges();
const env = {
  GOVHOST_TIMEZONE: timeZone,
  GOVHOST_USAGE_POLL_MS: String(pollMs),
  GOVHOST_METERING_REFRESH_MS: "2000",
};
const dept = uniqueName("u");
const namespace = `${dept}-prod`;
let admin: KubeClient;
let metricsApi: TestMetricsApi;
let controller: ControllerProcess;
let podStart = 0;

beforeAll(async () => {
  admin = await client();
  metricsApi = await startTestMetricsApi();
  await metricsApi.register(admin);
  controller = await startController({ identity: "usage-1", env });
  await admin.create(departmentManifest(dept, { environments: ["prod"] }));
  await waitForDepartment(admin, dept, isReady);
});

afterAll(async () => {
  await controller?.stop();
  if (admin && metricsApi) await metricsApi.unregister(admin);
  await metricsApi?.close();
  admin?.close();
});

/** The usage above requests the controller recorded in the department's ledger. */
async function recordedUsage() {
  return parseUsage((await ledgerData(admin, dept))[ledgerKeys.aboveRequest]);
}

function cpuAboveRequest(usage: Awaited<ReturnType<typeof recordedUsage>>) {
  return usage.buckets
    .filter((b) => b.environment === "prod" && b.resource === "cpu")
    .reduce((sum, b) => sum + b.amountMs, 0n);
}

describe("usage above requests (consumed mode with a metrics API)", () => {
  it("counts the time a pod uses more than it requested, through the API server's aggregation layer", async () => {
    const pod = compliantPod(namespace, "busy") as KubeObject & {
      spec: { containers: { resources: Record<string, Record<string, string>> }[] };
    };
    const container = pod.spec.containers[0];
    if (!container) throw new Error("no container");
    container.resources = {
      requests: { cpu: "100m", memory: "64Mi" },
      limits: { cpu: "1", memory: "64Mi" },
    };
    metricsApi.setUsage(namespace, "busy", { cpu: "350000000n", memory: "32Mi" });
    await admin.create(pod);
    // Kubernetes keeps status.startTime to the second.
    podStart = Math.floor(Date.now() / 1000) * 1000;
    await admin.mergePatch(
      resources.pod,
      "busy",
      { status: { phase: "Running", startTime: new Date(podStart).toISOString() } },
      { namespace, subresource: "status" },
    );

    const usage = await eventually("usage above requests to be counted for 5 s", async () => {
      const u = await recordedUsage();
      return cpuAboveRequest(u) >= 250n * 5_000n ? u : undefined;
    });
    // Every counted millisecond is 250 millicores above the request, and never before the pod started.
    const amountMs = cpuAboveRequest(usage);
    expect(amountMs % 250n).toBe(0n);
    expect(Number(amountMs / 250n)).toBeLessThanOrEqual((usage.through ?? 0) - podStart);
    // Memory stayed under its request: nothing above it.
    expect(usage.buckets.filter((b) => b.resource === "memory")).toEqual([]);
    // The controller read it as itself, through the API server's front proxy.
    expect(metricsApi.proxiedFor).toContain("system:serviceaccount:govhost-system:govhost-controller");
  });

  it("counts no interval twice across a SIGKILL and a restart", async () => {
    const before = await recordedUsage();
    await controller.kill();
    controller = await startController({ identity: "usage-2", env });
    const after = await eventually("the new controller to count again", async () => {
      const u = await recordedUsage();
      return (u.through ?? 0) > (before.through ?? 0) + 3 * pollMs ? u : undefined;
    });
    const counted = Number(cpuAboveRequest(after) / 250n);
    const wall = (after.through ?? 0) - podStart;
    // Double counting would push the counted time past the pod's lifetime; only the outage (until the new
    // controller took the lease) and the first poll's delay may go uncounted.
    expect(counted).toBeLessThanOrEqual(wall);
    const outage = (after.through ?? 0) - (before.through ?? 0);
    expect(counted).toBeGreaterThanOrEqual(wall - outage - 5_000);
  });

  it("puts it on the draft statement as its own line, exactly the recorded amount", async () => {
    metricsApi.setUsage(namespace, "busy", { cpu: "90m", memory: "32Mi" }); // back under the request
    const period = periodOf(Date.now(), timeZone);
    const line = await eventually("the statement to show the settled usage above requests", async () => {
      const recorded = cpuAboveRequest(await recordedUsage());
      const statement = await admin.find<ChargebackStatement & KubeObject>(
        resources.chargebackStatement,
        `${dept}-${period}`,
      );
      const above = statement?.spec.lines.find((l) => l.item === aboveRequestItem);
      const expected = toDecimalString(rational(recorded, 3_600_000_000n));
      // The counted amount stops growing once usage is under the request, and the statement catches up.
      const settled = cpuAboveRequest(await recordedUsage()) === recorded;
      return settled && above?.quantity === expected ? above : undefined;
    });
    expect(line).toMatchObject({
      environment: "prod",
      resource: "cpu",
      unit: "core-hour",
      unitPriceMinor: "35",
    });
    const stable = cpuAboveRequest(await recordedUsage());
    await new Promise((resolve) => setTimeout(resolve, 3 * pollMs));
    expect(cpuAboveRequest(await recordedUsage())).toBe(stable);
  });
  it("bills requests only, and keeps running, once the metrics API is gone", async () => {
    metricsApi.setUsage(namespace, "busy", { cpu: "2", memory: "32Mi" });
    await metricsApi.unregister(admin);
    const before = await recordedUsage();
    await new Promise((resolve) => setTimeout(resolve, 4 * pollMs));
    const after = await recordedUsage();
    // No readings: nothing more is counted above requests, and the controller says why, once.
    expect(after).toEqual(before);
    expect(controller.output()).toContain("no metrics.k8s.io API: consumed mode bills requests");
    const ready = await fetch(`http://127.0.0.1:${controller.port}/readyz`);
    expect(ready.status).toBe(200);
  });
});

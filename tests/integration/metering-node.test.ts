import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChargebackStatement } from "../../controller/api/chargeback.ts";
import { aboveRequestItem, parseUsage } from "../../lib/chargeback/above-request.ts";
import { periodOf } from "../../lib/chargeback/calendar.ts";
import { ledgerKeys } from "../../lib/chargeback/ledger.ts";
import { rational, toDecimalString } from "../../lib/chargeback/rational.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { parseMilli } from "../../lib/kube/quantity.ts";
import { resources } from "../../lib/kube/resources.ts";
import { metricsApiAvailable } from "../../tools/cluster/node/metrics-server.ts";
import { buildOciLayout } from "../../tools/image/oci-image.ts";
import { pushToLocalRegistry } from "../../tools/image/push.ts";
import { compliantPodSpec, departmentManifest, isReady, waitForDepartment } from "./support/govhost.ts";
import { eventually, uniqueName } from "./support/kube.ts";
import { type NodePlatform, startNodePlatform } from "./support/node-platform.ts";
import { ledgerData, waitForStatementLine } from "./support/pro-rata.ts";
import { calendarZoneAwayFromMonthEdges } from "./support/test-time-zone.ts";

// Metering against real pods on the real node (issue #14): nothing plays the kubelet here. A Job that runs a
// known command is billed exactly for the time Kubernetes recorded (the pod's start to its container's
// finish, to the second), and a pod that burns CPU above its request is billed max(request, usage) from
// what metrics-server measured, read through the API server's aggregation layer.

const timeZone = calendarZoneAwayFromMonthEdges();
const dept = uniqueName("m");
let platform: NodePlatform;
let admin: KubeClient;
let busybox = "";

type PodObject = KubeObject & {
  status?: {
    phase?: string;
    startTime?: string;
    containerStatuses?: {
      state?: { running?: object; terminated?: { startedAt: string; finishedAt: string } };
    }[];
  };
};

/** A pod spec from the compliance corpus, running `command` in the pushed busybox image. */
function podSpec(command: string[], requests: Record<string, string>, limits: Record<string, string>) {
  const spec = compliantPodSpec() as { containers: Record<string, unknown>[] } & Record<string, unknown>;
  const [container] = spec.containers;
  return {
    ...spec,
    restartPolicy: "Never",
    containers: [
      {
        ...container,
        name: "main",
        image: busybox,
        imagePullPolicy: "Always",
        command,
        resources: { requests, limits },
      },
    ],
  };
}

const labels = { app: "metering", "govhost.io/data-classification": "UNCLASSIFIED" };
/** Milliseconds each finished prod pod held its requests (250m, 256Mi each), as the ledger's rules say. */
const prodHeldMs: bigint[] = [];

/** The prod environment's exact cpu and memory quantities for the pods held so far. */
function prodQuantities() {
  const total = prodHeldMs.reduce((sum, ms) => sum + ms, 0n);
  return {
    coreHours: toDecimalString(rational(250n * total, 3_600_000_000n)),
    gibHours: toDecimalString(rational(256n * total, 1024n * 3_600_000n)),
  };
}

/** Waits for the statement's prod cpu and memory lines to equal what the held pods must cost. */
async function expectProdLines(statement: string) {
  const { coreHours, gibHours } = prodQuantities();
  // By environment too: another environment's line can show the same quantity at the moment it is read.
  const cpu = await waitForStatementLine(admin, statement, "cpu", coreHours, undefined, "prod");
  expect(cpu).toMatchObject({ environment: "prod", unit: "core-hour" });
  const memory = await waitForStatementLine(admin, statement, "memory", gibHours, undefined, "prod");
  expect(memory).toMatchObject({ environment: "prod", unit: "GiB-hour" });
}

const prodResources = { cpu: "250m", memory: "256Mi" };

beforeAll(async () => {
  platform = await startNodePlatform({
    prefix: "metering-node",
    identity: "metering-node",
    env: { GOVHOST_TIMEZONE: timeZone, GOVHOST_USAGE_POLL_MS: "2000", GOVHOST_METERING_REFRESH_MS: "2000" },
  });
  admin = platform.admin;
  const image = buildOciLayout(
    {
      tag: "metering",
      files: { "/bin/busybox": "/bin/busybox" },
      busyboxApplets: "/bin/busybox",
      user: 65532,
    },
    join(platform.dir, "images"),
  );
  const pushed = pushToLocalRegistry(image, "govhost/busybox", platform.node.registry.pushAddress);
  busybox = `${pushed.ref}@${pushed.digest}`;
  await admin.create(departmentManifest(dept, { environments: ["dev", "prod"] }));
  await waitForDepartment(admin, dept, isReady, "ready", 60_000);
}, 600_000);

afterAll(async () => {
  expect((await platform?.stop()) ?? []).toEqual([]);
}, 180_000);

describe("metering real pods on the node", () => {
  it("bills a Job for the time its pod ran, from the pod's start to its container's finish, to the second", {
    timeout: 180_000,
  }, async () => {
    const namespace = `${dept}-prod`;
    await admin.create({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "report", namespace, labels },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { labels },
          spec: podSpec(["sleep", "5"], prodResources, prodResources),
        },
      },
    });
    const pod = await eventually(
      "the Job's pod to finish",
      async () => {
        const pods = await admin.list<PodObject>(resources.pod, {
          namespace,
          labelSelector: "batch.kubernetes.io/job-name=report",
        });
        return pods.items.find(
          (p) => p.status?.phase === "Succeeded" && p.status.containerStatuses?.[0]?.state?.terminated,
        );
      },
      120_000,
    );
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    const from = Date.parse(pod.status?.startTime ?? "");
    const to = Date.parse(terminated?.finishedAt ?? "");
    // The container really ran its 5 s (Kubernetes records the instants to the second).
    expect(to - Date.parse(terminated?.startedAt ?? "")).toBeGreaterThanOrEqual(4_000);
    prodHeldMs.push(BigInt(to - from));
    const statement = `${dept}-${periodOf(from, timeZone)}`;
    await expectProdLines(statement);
    // Nothing above the requests: `sleep` uses next to nothing.
    const found = await admin.get<ChargebackStatement & KubeObject>(resources.chargebackStatement, statement);
    expect(found.spec.lines.filter((l) => l.environment === "prod" && l.item === aboveRequestItem)).toEqual(
      [],
    );
  });

  it("bills usage above the request that metrics-server measured for a pod burning CPU", {
    timeout: 180_000,
  }, async () => {
    const namespace = `${dept}-dev`;
    await eventually(
      "the metrics API to be Available",
      async () => (await metricsApiAvailable(admin)) || undefined,
      90_000,
    );
    await admin.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "burner", namespace, labels },
      spec: podSpec(
        ["sh", "-c", "while :; do :; done"],
        { cpu: "10m", memory: "32Mi" },
        { cpu: "300m", memory: "32Mi" },
      ),
    });
    // metrics-server's reading, through the aggregation layer, is above the 10m request.
    const metrics = await eventually(
      "metrics-server to measure the pod",
      async () =>
        (await admin.find<KubeObject & { containers: { usage: { cpu: string } }[] }>(
          resources.podMetrics,
          "burner",
          namespace,
        )) ?? undefined,
      90_000,
    );
    expect(parseMilli(metrics.containers[0]?.usage.cpu ?? "0")).toBeGreaterThan(10n);
    // The controller recorded time above the request, and the draft statement bills it on its own line.
    const aboveMs = await eventually(
      "usage above requests to be recorded",
      async () => {
        const usage = parseUsage((await ledgerData(admin, dept))[ledgerKeys.aboveRequest]);
        const total = usage.buckets
          .filter((b) => b.environment === "dev" && b.resource === "cpu")
          .reduce((sum, b) => sum + b.amountMs, 0n);
        return total > 0n ? total : undefined;
      },
      90_000,
    );
    expect(aboveMs).toBeGreaterThan(0n);
    const line = await eventually("the above-request line on the draft statement", async () => {
      const statement = await admin.find<ChargebackStatement & KubeObject>(
        resources.chargebackStatement,
        `${dept}-${periodOf(Date.now(), timeZone)}`,
      );
      return statement?.spec.lines.find(
        (l) => l.environment === "dev" && l.item === aboveRequestItem && l.resource === "cpu",
      );
    });
    expect(line).toMatchObject({ unit: "core-hour", unitPriceMinor: "35" });
    expect(Number(line.quantity)).toBeGreaterThan(0);
    await admin.delete(resources.pod, "burner", namespace);
  });

  it("reports a pod killed for exceeding its memory limit as OOMKilled, and bills it until it was killed", {
    timeout: 180_000,
  }, async () => {
    const namespace = `${dept}-prod`;
    // busybox `tail` keeps the current line in memory, and /dev/zero never ends one.
    await admin.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "greedy", namespace, labels },
      spec: podSpec(["tail", "/dev/zero"], prodResources, prodResources),
    });
    const pod = await eventually(
      "the pod to be killed",
      async () => {
        const found = await admin.get<PodObject>(resources.pod, "greedy", namespace);
        return found.status?.phase === "Failed" ? found : undefined;
      },
      120_000,
    );
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated as
      | { reason?: string; finishedAt: string }
      | undefined;
    expect(terminated?.reason).toBe("OOMKilled");
    prodHeldMs.push(
      BigInt(Date.parse(terminated?.finishedAt ?? "") - Date.parse(pod.status?.startTime ?? "")),
    );
    await expectProdLines(`${dept}-${periodOf(Date.now(), timeZone)}`);
  });

  it("bills a pod whose image cannot be pulled from the kubelet's start until its deletion", {
    timeout: 180_000,
  }, async () => {
    const namespace = `${dept}-prod`;
    const spec = podSpec(["true"], prodResources, prodResources);
    spec.containers = spec.containers.map((c) => ({
      ...c,
      image: "registry.govhost.local/govhost/not-pushed:1",
    }));
    await admin.create({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "unpulled", namespace, labels },
      spec: { ...spec, terminationGracePeriodSeconds: 1 },
    });
    const pending = await eventually("the pull error", async () => {
      const found = await admin.get<PodObject>(resources.pod, "unpulled", namespace);
      const waiting = (
        found.status?.containerStatuses?.[0]?.state as { waiting?: { reason?: string } } | undefined
      )?.waiting?.reason;
      return waiting && /ErrImagePull|ImagePullBackOff/.test(waiting) ? found : undefined;
    });
    expect(pending.status?.phase).toBe("Pending");
    // The kubelet accepted it (status.startTime): its requests are held on the node from then on.
    const started = Date.parse(pending.status?.startTime ?? "");
    expect(Number.isNaN(started)).toBe(false);
    const deleting = await admin.call<KubeObject>("DELETE", `/api/v1/namespaces/${namespace}/pods/unpulled`);
    const deletedAt = Date.parse(deleting.metadata?.deletionTimestamp ?? "");
    expect(Number.isNaN(deletedAt)).toBe(false);
    await eventually("the pod to be gone", async () =>
      (await admin.find(resources.pod, "unpulled", namespace)) ? undefined : true,
    );
    prodHeldMs.push(BigInt(deletedAt - started));
    await expectProdLines(`${dept}-${periodOf(Date.now(), timeZone)}`);
  });
});

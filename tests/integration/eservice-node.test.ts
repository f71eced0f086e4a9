import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EService } from "../../controller/api/eservice.ts";
import type { KubeClient, KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { type RunningPortalApi, startPortalApi } from "../../portal-api/app.ts";
import { kubeConfigFrom } from "../../tools/cluster/credentials.ts";
import { localIngress } from "../../tools/cluster/node/ingress.ts";
import { pushDemoSiteImages } from "../../tools/demo-site-image.ts";
import type { PushedImage } from "../../tools/image/push.ts";
import { loginAs } from "../../tools/oidc/login.ts";
import { type LocalProvider, startLocalProvider } from "../../tools/oidc/provider.ts";
import { apiClient } from "../../tools/oidc/users.ts";
import { departmentManifest, isReady, waitForDepartment, waitForQuotaToCount } from "./support/govhost.ts";
import { getThroughIngress } from "./support/ingress.ts";
import { eventually, uniqueName } from "./support/kube.ts";
import { type NodePlatform, startNodePlatform } from "./support/node-platform.ts";

// The demo-style e-service journey on a real node (issue #14, step 3): the demo site's image (broken and
// fixed pages, busybox httpd) is pushed to the node's registry, the e-service's pods pull and run it, and
// the controller scans the pages under the e-service's Service name (connecting to a ready pod of the judged
// image), with no previewUrl. The broken version is blocked with its failing rules; the fixed
// image passes and is exposed. Like node.test.ts, this file brings up its own local cloud with the node.

type EServiceObject = EService & KubeObject;

const dept = uniqueName("site");
const ns = `${dept}-prod`;
// A local public domain: the ingress's default certificate (cluster CA) covers *.gov.example.
const domain = "gov.example";

let platform: NodePlatform;
let admin: KubeClient;
let tenant: KubeClient;
let images: Record<"broken" | "fixed", PushedImage>;
let provider: LocalProvider | undefined;
let api: RunningPortalApi | undefined;
let token = "";
const audience = "https://api.govhost.test";

/** A call to the portal API as the department's admin (a real token from a real OpenID provider). */
async function callApi(method: string, path: string, body?: unknown) {
  const response = await fetch(`${api?.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text };
}

interface PerformanceBody {
  period: string;
  figures: {
    requests: number;
    started: number;
    completed: number;
    completionRatePercent: number | null;
    probes: number;
    probesDown: number;
    availabilityPercent: number | null;
    ratings: number;
    satisfactionPercent: number | null;
  };
  lastProbe: { at: string; up: boolean; result: string } | null;
  cost: { amountMinor: number; perCompletedTransactionMinor: number | null } | null;
  targets: { target: string; goal: number; actual: number | null; status: string }[];
}
interface StatementLineBody {
  eservice?: string;
  environment: string;
  amountMinor: number;
}

/** The visa-status e-service's performance this month, through the portal API. */
async function performance(): Promise<PerformanceBody> {
  const response = await callApi(
    "GET",
    `/departments/${dept}/environments/prod/eservices/visa-status/performance`,
  );
  expect(response.status, response.body).toBe(200);
  return JSON.parse(response.body) as PerformanceBody;
}

/** What the ingress counted (the probes go on meanwhile). */
const trafficOf = ({
  probes,
  probesDown,
  availabilityPercent,
  ratings,
  satisfactionPercent,
  ...traffic
}: PerformanceBody["figures"]) => traffic;

/** visa-status in the public catalogue (the portal API's JSON). */
async function catalogueEntry() {
  const catalogue = JSON.parse((await callApi("GET", "/service-clusters")).body) as {
    items: {
      services: {
        name: string;
        figures?: {
          period: string;
          availabilityPercent?: number;
          satisfactionPercent?: number;
          ratings?: number;
        };
      }[];
    }[];
  };
  return catalogue.items.flatMap((c) => c.services).find((e) => e.name === "visa-status");
}

const conditionOf = (es: EServiceObject | undefined, type: string) =>
  es?.status?.conditions?.find((c) => c.type === type);

function waitForEService(
  name: string,
  accept: (es: EServiceObject) => boolean,
  what: string,
): Promise<EServiceObject> {
  return eventually(
    `${name}: ${what}`,
    async () => {
      const es = await admin.get<EServiceObject>(resources.eservice, name, ns);
      return es.status?.observedGeneration === es.metadata.generation && accept(es) ? es : undefined;
    },
    180_000,
  );
}

beforeAll(async () => {
  // A first scan can find the Service not yet programmed on the node (a moment after the rollout); it is
  // retried soon rather than a minute later.
  platform = await startNodePlatform({
    prefix: "eservice-node",
    identity: "eservice-node",
    env: {
      GOVHOST_A11Y_RETRY_MS: "3000",
      GOVHOST_TRAFFIC_INTERVAL_MS: "1000",
      // The platform's own probes are requests too: off until the availability test, so the counting test
      // sees only the requests it sends.
      GOVHOST_PROBE_INTERVAL_MS: "0",
      GOVHOST_PROBE_GRACE_MS: "5000",
    },
  });
  const { node, dir } = platform;
  admin = platform.admin;
  tenant = admin.impersonating({ user: "ada", groups: [`${dept}-admins`] });
  images = pushDemoSiteImages(node.registry.pushAddress, join(dir, "images"));
  await admin.create(departmentManifest(dept, { environments: ["prod"], domains: [domain] }));
  await waitForDepartment(admin, dept, isReady, "ready", 60_000);
  await waitForQuotaToCount(admin, ns, "count/eservices.govhost.io");
  provider = await startLocalProvider({
    audience,
    users: { "site-admin": { name: "Ada", groups: [`${dept}-admins`] } },
  });
  api = await startPortalApi({
    kubeconfig: kubeConfigFrom(platform.portalApiKubeconfig),
    tokens: {
      issuer: provider.issuer,
      audience,
      clientId: apiClient.id,
      clientSecret: apiClient.secret,
      allowHttpIssuer: true,
    },
    auditPath: join(dir, "audit.log"),
    host: "127.0.0.1",
    port: 0,
    logger: false,
  });
  token = await loginAs(provider.issuer, "site-admin", audience);
}, 600_000);

afterAll(async () => {
  await api?.close();
  await provider?.close();
  expect((await platform?.stop()) ?? []).toEqual([]);
}, 180_000);

describe("an e-service on the real node", () => {
  it("runs the broken image's pods and blocks it, with the failing rules, scanned through its Service", {
    timeout: 240_000,
  }, async () => {
    // Created through the portal API, as a department's IT team would.
    const created = await callApi("POST", `/departments/${dept}/environments/prod/eservices`, {
      name: "visa-status",
      spec: {
        displayName: { en: "Visa application status", zhHant: "簽證申請進度" },
        image: images.broken.ref,
        exposure: "public",
        serviceCluster: "travel-and-immigration",
        accessibility: { paths: ["/", "/contact"], languages: ["en", "zh-HK"] },
        // Reaching the contact page counts as a completed transaction (a stand-in for a form's last step).
        completedTransaction: { path: "/contact", match: "Prefix", methods: ["GET"] },
        targets: { monthlyCompletedTransactions: 5, completionRatePercent: 90, satisfactionPercent: 80 },
      },
    });
    expect(created.status, created.body).toBe(201);
    const es = await waitForEService(
      "visa-status",
      // Scanned (one ready pod of the image is enough to scan) and both replicas available.
      (e) =>
        e.status?.accessibility?.image === images.broken.ref &&
        e.status.accessibility.blockingRules.length > 0 &&
        conditionOf(e, "Deployed")?.message === "2/2 replicas available",
      "both replicas running and scanned",
    );
    expect(conditionOf(es, "Deployed")).toMatchObject({ status: "True", message: "2/2 replicas available" });
    const summary = es.status?.accessibility;
    expect(summary?.blockingRules).toEqual(
      expect.arrayContaining(["color-contrast", "html-has-lang", "image-alt", "label", "link-name"]),
    );
    expect(summary?.tiers).toEqual(["chromium", "jsdom"]);
    expect(conditionOf(es, "Exposed")).toMatchObject({ status: "False", reason: "AccessibilityBaseline" });
    expect(es.status?.internalUrl).toBe(`http://visa-status.${ns}.svc`);

    // Real pods on the node, from the registry, as the baseline requires.
    const pods = await admin.list<
      KubeObject & {
        spec: { nodeName?: string };
        status: { phase?: string; containerStatuses?: { imageID: string }[] };
      }
    >(resources.pod, { namespace: ns, labelSelector: "govhost.io/eservice=visa-status" });
    const running = pods.items.filter((p) => p.status.phase === "Running");
    expect(running).toHaveLength(2);
    for (const pod of running) {
      expect(pod.spec.nodeName).toBe(platform.node.name);
      expect(pod.status.containerStatuses?.[0]?.imageID).toBe(
        `registry.govhost.local/govhost/demo-site@${images.broken.digest}`,
      );
    }
  });

  it("reports Deployed False with a reason while an e-service has no available replica (image not in the registry)", {
    timeout: 240_000,
  }, async () => {
    const created = await callApi("POST", `/departments/${dept}/environments/prod/eservices`, {
      name: "not-pushed",
      spec: { image: "registry.govhost.local/govhost/not-pushed:1.0.0", exposure: "internal", replicas: 1 },
    });
    expect(created.status, created.body).toBe(201);
    const pullError = await eventually("the pull error", async () => {
      const pods = await admin.list<
        KubeObject & { status?: { containerStatuses?: { state?: { waiting?: { reason?: string } } }[] } }
      >(resources.pod, { namespace: ns, labelSelector: "govhost.io/eservice=not-pushed" });
      return pods.items
        .map((p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? "")
        .find((reason) => /ErrImagePull|ImagePullBackOff/.test(reason));
    });
    expect(pullError).toMatch(/ErrImagePull|ImagePullBackOff/);
    const es = await waitForEService(
      "not-pushed",
      (e) => conditionOf(e, "Deployed") !== undefined,
      "its Deployed condition",
    );
    expect(conditionOf(es, "Deployed")).toMatchObject({ status: "False", reason: "NoAvailableReplicas" });
    expect(
      (await callApi("DELETE", `/departments/${dept}/environments/prod/eservices/not-pushed`)).status,
    ).toBe(202);
  });

  it("exposes the fixed image once its pods roll out and pass the rescan", { timeout: 240_000 }, async () => {
    await tenant.mergePatch(
      resources.eservice,
      "visa-status",
      { spec: { image: images.fixed.ref } },
      { namespace: ns },
    );
    const es = await waitForEService(
      "visa-status",
      (e) => conditionOf(e, "Exposed")?.status === "True",
      "exposed",
    );
    expect(es.status?.accessibility?.image).toBe(images.fixed.ref);
    expect(es.status?.accessibility?.blockingRules).toEqual([]);
    expect(conditionOf(es, "AccessibilityBaseline")).toMatchObject({ status: "True", reason: "Passed" });
    expect(conditionOf(es, "Deployed")).toMatchObject({ status: "True" });
    expect(es.status?.url).toBe(`https://visa-status.${domain}/`);
    expect(await admin.find(resources.ingress, "visa-status", ns)).toBeDefined();
  });

  it("counts requests and completed transactions through the ingress exactly once, across a controller crash", {
    timeout: 240_000,
  }, async () => {
    const ca = readFileSync(platform.cloud.pki.caCert);
    const host = `visa-status.${domain}`;
    // Both of the Ingress's paths (the completed-transaction route and the rest) reach Traefik together.
    await eventually("the page through the ingress", async () =>
      (await getThroughIngress(host, "/", ca)).status === 200 ? true : undefined,
    );
    const initial = await performance();
    expect(initial.figures).toMatchObject({ started: 0, completed: 0 });
    const send = async (paths: string[], method = "GET") => {
      const statuses: number[] = [];
      for (const path of paths) statuses.push((await getThroughIngress(host, path, ca, { method })).status);
      return statuses;
    };
    // A POST to the route does not start a transaction (only GET is declared); sent first, so the round that
    // counts the last GET has counted it too.
    await send(["/contact/"], "POST");
    // 6 started: 4 reach the page (completed), 2 do not (404).
    expect(
      await send([
        "/contact/",
        "/contact/",
        "/contact/no-such-page",
        "/contact/",
        "/contact/gone",
        "/contact/",
      ]),
    ).toEqual([200, 200, 404, 200, 404, 200]);
    const counted = await eventually("6 started, 4 completed", async () => {
      const report = await performance();
      return report.figures.started === 6 && report.figures.completed === 4 ? report : undefined;
    });
    expect(counted.figures.completionRatePercent).toBeCloseTo((100 * 4) / 6, 10);
    expect(counted.figures.requests).toBeGreaterThanOrEqual(initial.figures.requests + 7);

    // The controller crashes; requests keep coming while it is down; the new process counts them once.
    let whileDown: number[] = [];
    await platform.crashController(async () => {
      whileDown = await send(["/contact/", "/contact/missing", "/contact/"]);
    });
    expect(whileDown).toEqual([200, 404, 200]);
    const after = await eventually("9 started, 6 completed", async () => {
      const report = await performance();
      return report.figures.started === 9 && report.figures.completed === 6 ? report : undefined;
    });
    expect(after.figures.requests).toBe(counted.figures.requests + 3);
    // Rounds go on (the restarted controller's own counter) and count nothing twice.
    const rounds = async () => {
      const text = await (await fetch(`http://127.0.0.1:${platform.controller.port}/metrics`)).text();
      return Number(/govhost_traffic_rounds_total\{outcome="stored"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const roundsNow = await rounds();
    await eventually("three more rounds", async () => ((await rounds()) >= roundsNow + 3 ? true : undefined));
    const settled = await performance();
    expect(trafficOf(settled.figures)).toEqual(trafficOf(after.figures));
    // The same counts as Prometheus counters, one series per e-service.
    const metrics = await (await fetch(`http://127.0.0.1:${platform.controller.port}/metrics`)).text();
    const series = `{department="${dept}",environment="prod",eservice="visa-status"}`;
    expect(metrics).toContain(`govhost_eservice_transactions_completed_total${series} 6\n`);
    expect(metrics).toContain(`govhost_eservice_transactions_started_total${series} 9\n`);
    expect(metrics).toContain(`govhost_eservice_requests_total${series} ${settled.figures.requests}\n`);

    // Each target's status, and the cost per completed transaction from the month's statement.
    expect(settled.targets).toEqual([
      { target: "monthlyCompletedTransactions", goal: 5, actual: 6, status: "met", difference: 1 },
      expect.objectContaining({ target: "completionRatePercent", goal: 90, status: "missed" }),
      expect.objectContaining({ target: "satisfactionPercent", status: "not-measured", actual: null }),
    ]);
    expect(settled.targets[1]?.actual).toBeCloseTo((100 * 6) / 9, 10);
    const { report, statementAmount, lines } = await eventually(
      "a report and statement of one moment",
      async () => {
        const statement = await callApi("GET", `/departments/${dept}/statements/${settled.period}`);
        const report = await performance();
        if (statement.status !== 200 || report.cost === null) return undefined;
        const lines = (JSON.parse(statement.body) as { lines: StatementLineBody[] }).lines.filter(
          (line) => line.eservice === "visa-status" && line.environment === "prod",
        );
        const statementAmount = lines.reduce((sum, line) => sum + line.amountMinor, 0);
        return statementAmount === report.cost.amountMinor ? { report, statementAmount, lines } : undefined;
      },
    );
    // The e-service is metered (its pods and itself); minutes of it may still round to 0 in a month's draft.
    expect(lines.length).toBeGreaterThan(0);
    expect(report.cost?.perCompletedTransactionMinor).toBe(statementAmount / 6);

    // The department's scorecard names the target missed and by how much.
    const card = await callApi("GET", `/departments/${dept}/scorecard?period=${settled.period}`);
    expect(card.status, card.body).toBe(200);
    const { rows, summary } = JSON.parse(card.body) as {
      rows: { eservice: string; verdict: string; figures: unknown; missed: unknown[] }[];
      summary: { missingTargets: number };
    };
    expect(summary.missingTargets).toBe(1);
    const row = rows.find((r) => r.eservice === "visa-status");
    expect(row).toMatchObject({ verdict: "misses-targets", figures: trafficOf(settled.figures) });
    expect(row?.missed).toEqual([
      {
        target: "completionRatePercent",
        goal: 90,
        actual: settled.targets[1]?.actual,
        difference: (settled.targets[1]?.actual ?? 0) - 90,
      },
    ]);
  });

  it("probes the public e-service through the ingress: stopping its pods drops availability, and the report says so", {
    timeout: 240_000,
  }, async () => {
    const ca = readFileSync(platform.cloud.pki.caCert);
    const host = `visa-status.${domain}`;
    const base = `/departments/${dept}/environments/prod/eservices/visa-status`;
    // The controller, restarted with the probe on (every second).
    await platform.crashController(undefined, { GOVHOST_PROBE_INTERVAL_MS: "1000" });
    const targeted = await callApi("PATCH", base, { spec: { targets: { availabilityPercent: 99.9 } } });
    expect(targeted.status, targeted.body).toBe(200);
    // Serving: the probes answered so far are all up (the route was served before the grace period ended).
    const serving = await eventually("two probes answered", async () => {
      const report = await performance();
      return report.figures.probes >= 2 ? report : undefined;
    });
    expect(serving.figures.probesDown).toBe(0);
    expect(serving.lastProbe).toMatchObject({ up: true, result: "HTTP 200" });

    // The department stops its pods; the e-service stays public (its Ingress and URL), with nothing behind it.
    const stopped = await callApi("PATCH", base, { spec: { replicas: 0 } });
    expect(stopped.status, stopped.body).toBe(200);
    const down = await eventually("three probes not answered", async () => {
      const report = await performance();
      return report.figures.probesDown >= 3 && report.lastProbe?.up === false ? report : undefined;
    });
    expect((await admin.get<EServiceObject>(resources.eservice, "visa-status", ns)).status?.url).toBe(
      `https://${host}/`,
    );
    const { probes, probesDown, availabilityPercent } = down.figures;
    expect(availabilityPercent).toBe((100 * (probes - probesDown)) / probes);
    expect(availabilityPercent).toBeLessThan(100);
    expect(down.lastProbe?.result).toMatch(/^HTTP (404|502|503)$/);
    expect(down.targets).toContainEqual({
      target: "availabilityPercent",
      goal: 99.9,
      actual: availabilityPercent,
      status: "missed",
      difference: (availabilityPercent ?? 0) - 99.9,
    });
    const card = JSON.parse(
      (await callApi("GET", `/departments/${dept}/scorecard?period=${down.period}`)).body,
    ) as {
      rows: { eservice: string; missed: { target: string }[] }[];
    };
    expect(card.rows.find((r) => r.eservice === "visa-status")?.missed.map((m) => m.target)).toContain(
      "availabilityPercent",
    );
    // The public catalogue shows the month's availability too (one decimal, rounded down).
    const shown = await eventually("the catalogue's availability below 100 %", async () => {
      const figures = (await catalogueEntry())?.figures;
      return figures?.availabilityPercent !== undefined && figures.availabilityPercent < 100
        ? figures
        : undefined;
    });
    expect(shown.period).toBe(down.period);
    const metrics = await (await fetch(`http://127.0.0.1:${platform.controller.port}/metrics`)).text();
    const downSeries = new RegExp(
      `govhost_eservice_probes_total\\{department="${dept}",environment="prod",eservice="visa-status",outcome="down"\\} (\\d+)`,
    ).exec(metrics);
    expect(Number(downSeries?.[1])).toBeGreaterThanOrEqual(3);

    // Started again, it answers, and the probes say so.
    const restarted = await callApi("PATCH", base, { spec: { replicas: 2 } });
    expect(restarted.status, restarted.body).toBe(200);
    await eventually("the page through the ingress again", async () =>
      (await getThroughIngress(host, "/", ca)).status === 200 ? true : undefined,
    );
    const back = await eventually("a probe answered again", async () => {
      const report = await performance();
      return report.lastProbe?.up === true && report.figures.probes > probes ? report : undefined;
    });
    expect(back.figures.probesDown).toBeGreaterThanOrEqual(probesDown);
    expect(back.lastProbe?.result).toBe("HTTP 200");
  });

  it("takes citizens' ratings of the public e-service, anonymously and rate-limited, and reports satisfaction", {
    timeout: 120_000,
  }, async () => {
    const base = `/departments/${dept}/environments/prod/eservices/visa-status`;
    const rate = async (body: unknown) => {
      const response = await fetch(`${api?.url}/api/v1${base}/feedback`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const outOfRange = await rate({ rating: 6 });
    expect(outOfRange.status).toBe(400);
    expect(outOfRange.body).toMatchObject({ field: "body.rating" });
    expect(await rate({ rating: 5, comment: "Quick and clear" })).toEqual({
      status: 201,
      body: { recorded: true, commentKept: true },
    });
    expect(await rate({ rating: 4 })).toEqual({ status: 201, body: { recorded: true, commentKept: false } });
    expect((await rate({ rating: 2, comment: "  The upload failed twice  " })).status).toBe(201);
    const spam = await rate({ rating: 1, comment: "http://a.example http://b.example http://c.example" });
    expect(spam.status).toBe(400);
    expect(spam.body).toMatchObject({ field: "body.comment" });
    // Five tries an hour from one address for one e-service: the sixth is refused, valid or not.
    const limited = await rate({ rating: 5 });
    expect(limited.status).toBe(429);

    const feedback = await callApi("GET", `${base}/feedback`);
    expect(feedback.status, feedback.body).toBe(200);
    const read = JSON.parse(feedback.body) as { satisfiedPercent: number };
    expect(read).toMatchObject({
      ratings: 3,
      distribution: [0, 1, 0, 1, 1],
      comments: [
        { rating: 2, text: "The upload failed twice" },
        { rating: 5, text: "Quick and clear" },
      ],
    });
    expect(read.satisfiedPercent).toBeCloseTo((100 * 2) / 3, 10);
    // Nothing about who sent them is kept.
    for (const store of [`govhost-ratings-${dept}`, `govhost-comments-${dept}`]) {
      const stored = await admin.get<KubeObject & { data: Record<string, string> }>(
        resources.configMap,
        store,
        "govhost-feedback",
      );
      expect(JSON.stringify(stored.data)).not.toMatch(/127\.0\.0\.1|::1|undici|node/);
    }

    // The public catalogue shows it after the next probe round: 2 of 3, one decimal rounded down.
    const shown = await eventually("the catalogue's satisfaction", async () => {
      const figures = (await catalogueEntry())?.figures;
      return figures?.ratings === 3 ? figures : undefined;
    });
    expect(shown.satisfactionPercent).toBe(66.6);
    const report = await performance();
    expect(report.figures).toMatchObject({ ratings: 3 });
    expect(report.targets).toContainEqual({
      target: "satisfactionPercent",
      goal: 80,
      actual: (100 * 2) / 3,
      status: "missed",
      difference: (100 * 2) / 3 - 80,
    });
  });

  it("serves the exposed page through the ingress controller over TLS, and 404 once withdrawn", {
    timeout: 240_000,
  }, async () => {
    const ca = readFileSync(platform.cloud.pki.caCert);
    const host = `visa-status.${domain}`;
    // As a citizen would: curl --resolve visa-status.gov.example:443:10.250.0.1 https://visa-status.gov.example/
    const page = await eventually("the page through the ingress", async () => {
      const response = await getThroughIngress(host, "/", ca);
      return response.status === 200 ? response : undefined;
    });
    expect(page.body).toContain("<h1>Apply for a permit</h1>");
    expect(page.body).toContain('<main id="content">');
    expect(page.certificate.subjectaltname).toContain(`DNS:*.${domain}`);
    // The Ingress reports where it is served: the ingress controller writes its status, asynchronously,
    // possibly after it already serves the route.
    const servedAt = await eventually("the Ingress's status address", async () => {
      const ingress = await admin.get<
        KubeObject & { status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }
      >(resources.ingress, "visa-status", ns);
      return ingress.status?.loadBalancer?.ingress?.[0]?.ip;
    });
    expect(servedAt).toBe(localIngress.address);
    // Another e-service's host on the same address is not this page.
    expect((await getThroughIngress(`not-published.${domain}`, "/", ca)).status).toBe(404);

    const withdrawn = await callApi(
      "POST",
      `/departments/${dept}/environments/prod/eservices/visa-status:withdraw`,
    );
    expect(withdrawn.status, withdrawn.body).toBe(200);
    const es = await waitForEService(
      "visa-status",
      (e) => conditionOf(e, "Exposed")?.status === "False",
      "withdrawn",
    );
    expect(conditionOf(es, "Exposed")).toMatchObject({ status: "False", reason: "Internal" });
    const gone = await eventually("a 404 through the ingress", async () => {
      const response = await getThroughIngress(host, "/", ca);
      return response.status === 404 ? response : undefined;
    });
    expect(gone.body).not.toContain("Apply for a permit");
  });
});

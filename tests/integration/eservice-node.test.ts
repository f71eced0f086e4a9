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
    env: { GOVHOST_A11Y_RETRY_MS: "3000" },
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

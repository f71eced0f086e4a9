import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiGrant } from "../../controller/api/api-exchange.ts";
import { apiGateway } from "../../controller/api/api-gateway.ts";
import { controllerIdentity } from "../../controller/api/rbac.ts";
import { KubeApiError, type KubeClient, type KubeObject } from "../../lib/kube/client.ts";
import { resources } from "../../lib/kube/resources.ts";
import { localApiGatewayCheck, localIngress } from "../../tools/cluster/node/ingress.ts";
import { buildOciLayout } from "../../tools/image/oci-image.ts";
import { pushToLocalRegistry } from "../../tools/image/push.ts";
import { compliantPodSpec, departmentManifest, isReady, waitForDepartment } from "./support/govhost.ts";
import { eventually, uniqueName } from "./support/kube.ts";
import { packetFilterDiagnostics, podLog, waitForPod } from "./support/node.ts";
import { type NodePlatform, startNodePlatform } from "./support/node-platform.ts";

// Tenant isolation with a real node (issue #14), checked as the multi-tenancy benchmark (MTB) does: a
// department developer's pods that would break out of the node are refused at admission, and on the wire the
// NetworkPolicies the tenancy controller renders are enforced (kube-router's firewall), proven by connections
// between real pods, both ways between two departments. That the ingress controller still reaches e-service
// pods is proven with enforcement on by eservice-node.test.ts (a page served through Traefik). A department
// admin's own NetworkPolicies (GH-NET-003) open a path between two of its environments and nothing more.

let platform: NodePlatform;
let admin: KubeClient;
let busybox = "";
/** A provider's API for the exchange: busybox httpd with a CGI script that echoes what the provider sees. */
let echoApi = "";
const first = uniqueName("npa");
const second = uniqueName("npb");
/** A third department, for the API exchange: neither provider nor consumer. */
const third = uniqueName("npc");
/**
 * Every pod of this file is labelled app=web, so the NetworkPolicies that select app=web (GH-NET-003's)
 * apply to the probes as clients too. Only the servers carry role=server, and the Service selects that: a
 * probe selected by the Service would be one of its endpoints, and kube-proxy would send some of the
 * probe's own connections back to itself, where nothing listens (refused).
 */
const labels = { app: "web", "govhost.io/data-classification": "UNCLASSIFIED" };
const serverLabels = { ...labels, role: "server" };

/** Where a probe pod finds its token for the API gateway (a projected service-account token). */
const gatewayTokenDir = "/var/run/secrets/govhost";

/** A compliant pod running `command` in the pushed busybox image (optionally with a gateway token). */
function pod(
  namespace: string,
  name: string,
  command: string[],
  restartPolicy: "Always" | "Never",
  options: { gatewayToken?: boolean; server?: boolean } = {},
) {
  const spec = compliantPodSpec() as { containers: Record<string, unknown>[] } & Record<string, unknown>;
  const token = options.gatewayToken
    ? {
        volumes: [
          {
            name: "gateway-token",
            projected: {
              // Readable by the pod's non-root user.
              defaultMode: 0o444,
              sources: [
                {
                  serviceAccountToken: {
                    audience: apiGateway.audience,
                    expirationSeconds: 600,
                    path: "token",
                  },
                },
              ],
            },
          },
        ],
        volumeMounts: [{ name: "gateway-token", mountPath: gatewayTokenDir, readOnly: true }],
      }
    : undefined;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: options.server ? serverLabels : labels },
    spec: {
      ...spec,
      restartPolicy,
      ...(token ? { volumes: token.volumes } : {}),
      containers: [
        {
          ...spec.containers[0],
          name: "main",
          image: busybox,
          command,
          ...(token ? { volumeMounts: token.volumeMounts } : {}),
        },
      ],
    },
  };
}

/** A web server in `namespace` (busybox httpd), behind a Service `web`; resolves to its pod IP. */
async function startWebServer(namespace: string): Promise<string> {
  await admin.create(
    pod(namespace, "web", ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/bin"], "Always", {
      server: true,
    }),
  );
  await admin.create({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace },
    spec: { selector: serverLabels, ports: [{ port: 8080, targetPort: 8080 }] },
  });
  const running = (await waitForPod(admin, namespace, "web", ["Running"])) as KubeObject & {
    status?: { podIP?: string };
  };
  const podIP = running.status?.podIP as string;
  // kube-proxy refuses a Service's address until the Service has a ready endpoint.
  await eventually(`the Service web in ${namespace} to have the pod as ready endpoint`, async () => {
    const slices = await admin.list<
      KubeObject & { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }
    >(resources.endpointSlice, { namespace, labelSelector: "kubernetes.io/service-name=web" });
    return slices.items.some((s) =>
      s.endpoints?.some((e) => e.addresses.includes(podIP) && e.conditions?.ready),
    )
      ? true
      : undefined;
  });
  return podIP;
}

async function podAddresses(namespace: string): Promise<string> {
  // With each container's state: a refusal can be a RST from a pod whose server is not listening too.
  const pods = await admin.list<
    KubeObject & {
      status?: {
        podIP?: string;
        phase?: string;
        containerStatuses?: { restartCount: number; state: unknown }[];
      };
    }
  >(resources.pod, { namespace });
  return pods.items
    .map(
      (p) =>
        `pod ${p.metadata?.name} ${p.status?.phase} ${p.status?.podIP} ${JSON.stringify(
          p.status?.containerStatuses?.map((c) => ({ restarts: c.restartCount, state: c.state })),
        )}`,
    )
    .join("\n");
}

let probes = 0;
/**
 * Runs a one-shot pod in `namespace` that sends an HTTP request to `host`:`port` with nc (3 s to connect;
 * Debian's static busybox wget crashes). It reached the server when an HTTP status line came back (any
 * status: a 404, or the API server's 400 to plain HTTP); a refused or timed-out connection did not. The
 * probe waits 2 s first: its own egress rules are written when the firewall sees it running.
 */
async function reaches(
  namespace: string,
  host: string,
  port: number,
  attempts = 1,
): Promise<{ reached: boolean; log: string }> {
  const name = `probe-${++probes}`;
  // Where a connection is expected, a few tries 3 s apart: a new pod's firewall rules come with kube-router's
  // next sync, which a loaded machine may delay past the first 2 s (docs/local-cloud.md). Where a refusal is
  // expected, one try after the same 2 s that let the policies apply (more tries would be stricter, and
  // slower).
  const once = `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${host} ${port} 2>&1`;
  const script = `sleep 2; for i in $(seq ${attempts}); do out=$( ${once} ); code=$?; echo "$out"; echo "nc exit $code"; case "$out" in HTTP/1.*) break;; esac; sleep 3; done`;
  await admin.create(pod(namespace, name, ["/bin/busybox", "sh", "-c", script], "Never"));
  await waitForPod(admin, namespace, name, ["Succeeded", "Failed"], 60_000);
  const log = await podLog(admin, namespace, name);
  const reached = /^HTTP\/1\.[01] \d{3}/m.test(log);
  // A connection expected to work that did not: what the packet filters held, to tell which one refused.
  if (!reached && attempts > 1)
    return {
      reached,
      log: `${log}\n${await podAddresses(namespace)}\n${packetFilterDiagnostics(platform.cloud, namespace)}`,
    };
  return { reached, log };
}

/**
 * The provider's API: busybox httpd on 8080 with /cgi-bin/whoami, which answers with what the provider sees
 * of a call (the consumer header the gateway sets, whether a token arrived, the path after the gateway).
 */
function pushEchoApi(): string {
  const www = join(platform.dir, "echo-api");
  mkdirSync(join(www, "cgi-bin"), { recursive: true });
  // The e-service's readiness probe asks for `/`.
  writeFileSync(join(www, "index.html"), "<!doctype html><title>Permit lookup API</title>\n");
  const script = join(www, "cgi-bin", "whoami");
  writeFileSync(
    script,
    [
      "#!/bin/sh",
      'echo "Content-Type: text/plain"',
      "echo",
      `echo "consumer=$HTTP_${apiGateway.consumerHeader.toUpperCase().replaceAll("-", "_")}"`,
      'if [ -n "$HTTP_AUTHORIZATION" ]; then echo "token=present"; else echo "token="; fi',
      'echo "path=$REQUEST_URI"',
      "",
    ].join("\n"),
  );
  chmodSync(script, 0o755);
  const image = buildOciLayout(
    {
      tag: "echo-api",
      files: { "/bin/busybox": "/bin/busybox", [www]: "/srv/www" },
      busyboxApplets: "/bin/busybox",
      entrypoint: ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/srv/www"],
      user: 65532,
      ports: [8080],
    },
    join(platform.dir, "images"),
  );
  const pushed = pushToLocalRegistry(image, "govhost/echo-api", platform.node.registry.pushAddress);
  return `${pushed.ref}@${pushed.digest}`;
}

/**
 * Runs a one-shot pod in `namespace` that calls `path` at the API gateway with nc, `calls` times, sending
 * its projected token unless told not to. The first call is tried up to `attempts` times 3 s apart until its
 * status line matches `until` (a shell pattern; default any HTTP answer), since the pod's egress rules are
 * written when the firewall sees it running and Traefik loads a new route within seconds; the log holds each call's status line
 * ("call: HTTP/1.1 200 OK", or nothing when no connection) and the last response whole.
 */
async function callGateway(
  namespace: string,
  path: string,
  options: { token?: boolean; calls?: number; attempts?: number; until?: string } = {},
): Promise<{ statuses: number[]; last: string; log: string }> {
  const name = `gateway-${++probes}`;
  const host = `${apiGateway.serviceName}.${localIngress.namespace}.svc.cluster.local`;
  const auth = options.token === false ? "" : `Authorization: Bearer $(cat ${gatewayTokenDir}/token)\\r\\n`;
  // stdin stays open a moment: nc ends the connection when its input ends, and Traefik (Go) would take that
  // for the client going away (499) before the check has answered.
  const once = `(printf "GET ${path} HTTP/1.0\\r\\nHost: ${host}\\r\\n${auth}\\r\\n"; sleep 2) | nc -w 3 ${host} ${apiGateway.servicePort} 2>&1`;
  const script = [
    "sleep 2",
    `for i in $(seq ${options.attempts ?? 1}); do out=$( ${once} ); echo "call: $(echo "$out" | head -1)"; case "$out" in ${options.until ?? "HTTP/1.*"}) break;; esac; sleep 3; done`,
    `for i in $(seq $((${options.calls ?? 1} - 1))); do out=$( ${once} ); echo "call: $(echo "$out" | head -1)"; done`,
    'echo "last response:"; echo "$out"',
  ].join("; ");
  await admin.create(
    pod(namespace, name, ["/bin/busybox", "sh", "-c", script], "Never", {
      gatewayToken: options.token !== false,
    }),
  );
  await waitForPod(admin, namespace, name, ["Succeeded", "Failed"], 90_000);
  const log = await podLog(admin, namespace, name);
  const statuses = [...log.matchAll(/^call: HTTP\/1\.[01] (\d{3})/gm)].map((m) => Number(m[1]));
  return { statuses, last: log.slice(log.indexOf("last response:")), log };
}

beforeAll(async () => {
  platform = await startNodePlatform({ prefix: "isolation-node", identity: "isolation-node" });
  admin = platform.admin;
  const image = buildOciLayout(
    { tag: "netpol", files: { "/bin/busybox": "/bin/busybox" }, busyboxApplets: "/bin/busybox", user: 65532 },
    join(platform.dir, "images"),
  );
  const pushed = pushToLocalRegistry(image, "govhost/busybox", platform.node.registry.pushAddress);
  busybox = `${pushed.ref}@${pushed.digest}`;
  echoApi = pushEchoApi();
  await admin.create(departmentManifest(first, { environments: ["prod", "dev"] }));
  await admin.create(departmentManifest(second, { environments: ["prod"] }));
  await admin.create(departmentManifest(third, { environments: ["prod"] }));
  for (const dept of [first, second, third]) await waitForDepartment(admin, dept, isReady, "ready", 60_000);
}, 600_000);

afterAll(async () => {
  expect((await platform?.stop()) ?? []).toEqual([]);
}, 180_000);

describe("pods that would break out of the node, from a department developer", () => {
  const breakouts: [
    string,
    (spec: Record<string, unknown>, container: Record<string, unknown>) => void,
    RegExp,
  ][] = [
    [
      "privileged",
      (_s, c) =>
        Object.assign(c, { securityContext: { ...(c.securityContext as object), privileged: true } }),
      /privileged/,
    ],
    [
      "host-path",
      (s) => Object.assign(s, { volumes: [{ name: "root", hostPath: { path: "/" } }] }),
      /hostPath/,
    ],
    ["host-network", (s) => Object.assign(s, { hostNetwork: true }), /host namespaces|hostNetwork/],
  ];
  for (const [name, breakOut, reason] of breakouts) {
    it(`refuses a ${name} pod at admission, so nothing of it reaches the node`, async () => {
      const namespace = `${first}-prod`;
      const developer = admin.impersonating({ user: "dev", groups: [`${first}-developers`] });
      const manifest = pod(namespace, name, ["/bin/busybox", "sleep", "60"], "Never");
      breakOut(manifest.spec, manifest.spec.containers[0] as Record<string, unknown>);
      const refused = await developer.create(manifest).then(
        () => undefined,
        (error: unknown) => error as KubeApiError,
      );
      expect(refused, `${name} pod was admitted`).toBeInstanceOf(KubeApiError);
      expect(refused?.message).toMatch(reason);
      expect(await admin.find(resources.pod, name, namespace)).toBeUndefined();
    });
  }
});

describe("NetworkPolicy enforced on the node", () => {
  let firstWeb = "";
  let secondWeb = "";

  it("lets pods of one environment reach each other by Service name (cluster DNS allowed)", {
    timeout: 180_000,
  }, async () => {
    [firstWeb, secondWeb] = await Promise.all([
      startWebServer(`${first}-prod`),
      startWebServer(`${second}-prod`),
    ]);
    const sameNamespace = await reaches(`${first}-prod`, `web.${first}-prod.svc.cluster.local`, 8080, 5);
    expect(sameNamespace.reached, sameNamespace.log).toBe(true);
  });

  it("refuses another department's pods, both ways, while each one's own still get through", {
    timeout: 180_000,
  }, async () => {
    const intoFirst = await reaches(`${second}-prod`, firstWeb, 8080);
    expect(intoFirst.reached, intoFirst.log).toBe(false);
    const intoSecond = await reaches(`${first}-prod`, secondWeb, 8080);
    expect(intoSecond.reached, intoSecond.log).toBe(false);
    // The same servers answer their own department, by address too: the refusals above are the policies.
    const ownFirst = await reaches(`${first}-prod`, firstWeb, 8080, 5);
    expect(ownFirst.reached, ownFirst.log).toBe(true);
    const ownSecond = await reaches(`${second}-prod`, secondWeb, 8080, 5);
    expect(ownSecond.reached, ownSecond.log).toBe(true);
  });

  it("refuses a tenant pod's connections to the node beyond DNS (the API server on the node address)", {
    timeout: 120_000,
  }, async () => {
    // Plain HTTP to the API server's TLS port: reached, it would answer 400; refused, wget cannot connect.
    const apiServer = new URL(platform.cloud.server);
    const probe = await reaches(`${first}-prod`, apiServer.hostname, Number(apiServer.port));
    expect(probe.reached, probe.log).toBe(false);
    // Nor the controller's check for the API gateway, which only the ingress controller may ask.
    const check = await reaches(`${first}-prod`, localApiGatewayCheck.host, localApiGatewayCheck.port);
    expect(check.reached, check.log).toBe(false);
    // Nor through the Service that the ingress controller asks, whose endpoint is that same address.
    const { name: checkService, port: checkPort } = apiGateway.checkService;
    const byName = await reaches(
      `${first}-prod`,
      `${checkService}.${controllerIdentity.namespace}.svc.cluster.local`,
      checkPort,
    );
    expect(byName.reached, byName.log).toBe(false);
  });
});

describe("a department admin's own NetworkPolicies (GH-NET-003)", () => {
  const department = "govhost.io/department";
  const environment = "govhost.io/environment";
  const policy = (namespace: string, name: string, spec: Record<string, unknown>) => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace },
    spec: { podSelector: { matchLabels: { app: "web" } }, ...spec },
  });
  const refusal = (attempt: Promise<unknown>) =>
    attempt.then(
      () => undefined,
      (error: unknown) => error as KubeApiError,
    );

  it("open a path from the department's dev to its prod, on the wire, and to nobody else", {
    timeout: 240_000,
  }, async () => {
    const prodWeb = (
      await admin.get<KubeObject & { status?: { podIP?: string } }>(resources.pod, "web", `${first}-prod`)
    ).status?.podIP as string;
    const before = await reaches(`${first}-dev`, prodWeb, 8080);
    expect(before.reached, `dev reached prod before any rule: ${before.log}`).toBe(false);

    const firstAdmin = admin.impersonating({ user: "ada", groups: [`${first}-admins`] });
    await firstAdmin.create(
      policy(`${first}-prod`, "from-dev", {
        policyTypes: ["Ingress"],
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { [department]: first, [environment]: "dev" } } }],
            ports: [{ protocol: "TCP", port: 8080 }],
          },
        ],
      }),
    );
    await firstAdmin.create(
      policy(`${first}-dev`, "to-prod", {
        policyTypes: ["Egress"],
        egress: [
          {
            to: [{ namespaceSelector: { matchLabels: { [department]: first, [environment]: "prod" } } }],
            ports: [{ protocol: "TCP", port: 8080 }],
          },
        ],
      }),
    );
    const after = await reaches(`${first}-dev`, prodWeb, 8080, 5);
    expect(after.reached, after.log).toBe(true);
    // The path is the department's own: another department is still refused.
    const foreign = await reaches(`${second}-prod`, prodWeb, 8080);
    expect(foreign.reached, foreign.log).toBe(false);
  });

  it("refuses a path to another department or the internet, and the platform's own policies", async () => {
    const firstAdmin = admin.impersonating({ user: "ada", groups: [`${first}-admins`] });
    const toSecond = await refusal(
      firstAdmin.create(
        policy(`${first}-prod`, "to-second", {
          policyTypes: ["Egress"],
          egress: [{ to: [{ namespaceSelector: { matchLabels: { [department]: second } } }] }],
        }),
      ),
    );
    expect(toSecond?.message).toContain(
      `GH-NET-003: NetworkPolicy to-second reaches outside department ${first}`,
    );
    const toInternet = await refusal(
      firstAdmin.create(
        policy(`${first}-prod`, "to-internet", {
          policyTypes: ["Egress"],
          egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }] }],
        }),
      ),
    );
    expect(toInternet?.message).toContain("GH-NET-003");
    const unpinned = await refusal(
      firstAdmin.create(
        policy(`${first}-prod`, "from-anyone", {
          policyTypes: ["Ingress"],
          ingress: [{ from: [{ namespaceSelector: {} }] }],
        }),
      ),
    );
    expect(unpinned?.message).toContain("GH-NET-003");
    const denyAll = await refusal(
      firstAdmin.delete(resources.networkPolicy, "govhost-default-deny", `${first}-prod`),
    );
    expect(denyAll?.message).toContain(
      "GH-NET-003: NetworkPolicy govhost-default-deny belongs to the platform",
    );
    expect(await admin.find(resources.networkPolicy, "govhost-default-deny", `${first}-prod`)).toBeDefined();

    const developer = admin.impersonating({ user: "dev", groups: [`${first}-developers`] });
    const byDeveloper = await refusal(
      developer.create(
        policy(`${first}-prod`, "by-developer", {
          policyTypes: ["Ingress"],
          ingress: [{ from: [{ podSelector: {} }] }],
        }),
      ),
    );
    expect(byDeveloper?.code).toBe(403);
    expect(byDeveloper?.message).toContain('cannot create resource "networkpolicies"');
    for (const name of ["to-second", "to-internet", "from-anyone", "by-developer"])
      expect(await admin.find(resources.networkPolicy, name, `${first}-prod`)).toBeUndefined();
  });
});

describe("API exchange between departments (#21): a grant opens exactly one path, until it expires", () => {
  const provider = `${second}-prod`;
  const consumer = `${first}-dev`;
  const providerAdmin = () => admin.impersonating({ user: "pat", groups: [`${second}-admins`] });
  const consumerAdmin = () => admin.impersonating({ user: "cho", groups: [`${first}-admins`] });
  const refusal = (attempt: Promise<unknown>) =>
    attempt.then(
      () => undefined,
      (error: unknown) => error as KubeApiError,
    );
  let lookupIP = "";
  let grant: KubeObject & ApiGrant;
  const decision = (by: string, decidedBy: string, decision: "approved" | "refused" = "approved") => ({
    apiVersion: "govhost.io/v1alpha1",
    kind: "ApiGrantDecision",
    metadata: { name: `${by}-decides`, namespace: provider },
    spec: {
      grant: {
        namespace: consumer,
        name: "lookup",
        uid: grant.metadata.uid,
        generation: grant.metadata.generation,
      },
      export: "lookup-api",
      decision,
      decidedBy,
      reason: "",
    },
  });
  const grantPhase = async () =>
    (await admin.get<KubeObject & ApiGrant>(resources.apiGrant, "lookup", consumer)).status?.phase;

  it("publishes an e-service's API, which the consumer cannot reach before a grant", {
    timeout: 240_000,
  }, async () => {
    await providerAdmin().create({
      apiVersion: "govhost.io/v1alpha1",
      kind: "EService",
      metadata: { name: "lookup", namespace: provider },
      spec: {
        image: echoApi,
        exposure: "internal",
        replicas: 1,
        displayName: { en: "Permit lookup", zhHant: "許可證查詢" },
      },
    });
    await providerAdmin().create({
      apiVersion: "govhost.io/v1alpha1",
      kind: "ApiExport",
      metadata: { name: "lookup-api", namespace: provider },
      spec: {
        eservice: "lookup",
        basePath: "/",
        description: { en: "Look up a permit by its number", zhHant: "按編號查詢許可證" },
        openApi: `https://lookup.${second}.gov.example/openapi.json`,
        dataClassification: "RESTRICTED",
        consumers: { all: false, departments: [first, third] },
      },
    });
    const running = await eventually(
      "the e-service's pod to run",
      async () => {
        const pods = await admin.list<KubeObject & { status?: { phase?: string; podIP?: string } }>(
          resources.pod,
          { namespace: provider, labelSelector: "govhost.io/eservice=lookup" },
        );
        return pods.items.find((p) => p.status?.phase === "Running" && p.status.podIP);
      },
      180_000,
    );
    lookupIP = running.status?.podIP as string;
    // Its own namespace reaches it (the server serves), the consumer does not.
    const own = await reaches(provider, lookupIP, 8080, 5);
    expect(own.reached, own.log).toBe(true);
    const before = await reaches(consumer, lookupIP, 8080);
    expect(before.reached, before.log).toBe(false);
  });

  it("refuses a request above the consumer's classification ceiling, and decisions by anyone but a provider admin in their own name", async () => {
    const expiresAt = new Date(Date.now() + 200_000).toISOString().replace(/\.\d+Z$/, "Z");
    const spec = {
      export: { department: second, environment: "prod", name: "lookup-api" },
      purpose: "Check permits while processing applications",
      dataClassification: "RESTRICTED" as const,
      expiresAt,
    };
    const aboveCeiling = await refusal(
      consumerAdmin().create({
        apiVersion: "govhost.io/v1alpha1",
        kind: "ApiGrant",
        metadata: { name: "secret-lookup", namespace: consumer },
        spec: { ...spec, dataClassification: "CONFIDENTIAL" },
      }),
    );
    expect(aboveCeiling?.message).toContain("GH-API-002: the API returns data classified CONFIDENTIAL");
    // A developer of the consumer may ask.
    grant = await admin
      .impersonating({ user: "dev", groups: [`${first}-developers`] })
      .create<KubeObject & ApiGrant>({
        apiVersion: "govhost.io/v1alpha1",
        kind: "ApiGrant",
        metadata: { name: "lookup", namespace: consumer },
        spec,
      });
    await eventually("the grant to await a decision", async () =>
      (await grantPhase()) === "Pending" ? true : undefined,
    );

    const byProviderDeveloper = await refusal(
      admin
        .impersonating({ user: "dev2", groups: [`${second}-developers`] })
        .create(decision("dev2", "dev2")),
    );
    expect(byProviderDeveloper?.code).toBe(403);
    expect(byProviderDeveloper?.message).toContain('cannot create resource "apigrantdecisions"');
    const byConsumerAdmin = await refusal(consumerAdmin().create(decision("cho", "cho")));
    expect(byConsumerAdmin?.code).toBe(403);
    const inAnotherName = await refusal(providerAdmin().create(decision("pat", "someone-else")));
    expect(inAnotherName?.message).toContain("GH-API-001: decidedBy must be your own user name (pat)");
    expect(await grantPhase()).toBe("Pending");
  });

  it("after the provider admin's approval the consumer calls the API through the gateway, as itself, each call counted; a third department still cannot; after expiry nobody can", {
    timeout: 420_000,
  }, async () => {
    await providerAdmin().create(decision("pat", "pat"));
    await eventually("the grant to be active", async () =>
      (await grantPhase()) === "Active" ? true : undefined,
    );
    const api = `/${provider}/lookup-api/cgi-bin/whoami`;
    // Through the gateway (Traefik, the controller's check): the provider sees who calls, never the
    // caller's token, and the path below the export's prefix.
    const granted = await callGateway(consumer, api, { calls: 3, attempts: 5, until: "HTTP/1.[01]\\ 200*" });
    expect(granted.statuses.filter((s) => s === 200).length, granted.log).toBe(3);
    expect(granted.last).toContain(`consumer=${consumer}`);
    expect(granted.last).toMatch(/^token=$/m);
    expect(granted.last).toContain("path=/cgi-bin/whoami");
    // Each call let through is counted on the grant, once.
    const counted = await admin.get<KubeObject & ApiGrant>(resources.apiGrant, "lookup", consumer);
    expect(counted.status?.calls?.allowed, granted.log).toBe(3);
    // Without its token the consumer is refused by the gateway (reached, 401), and nothing is counted.
    const anonymous = await callGateway(consumer, api, { token: false, attempts: 5 });
    expect(anonymous.statuses, anonymous.log).toEqual([401]);
    // Going around the gateway, straight to the provider's pod, still times out: no call goes uncounted.
    const direct = await reaches(consumer, lookupIP, 8080);
    expect(direct.reached, direct.log).toBe(false);
    // The third department is offered the API too, but has no grant: it cannot even reach the gateway.
    const thirdTry = await callGateway(`${third}-prod`, api);
    expect(thirdTry.statuses, thirdTry.log).toEqual([]);
    expect(
      (await admin.get<KubeObject & ApiGrant>(resources.apiGrant, "lookup", consumer)).status?.calls,
    ).toMatchObject({ allowed: 3 });
    // The grant's policy is the platform's: the consumer cannot widen or keep it.
    const keep = await refusal(
      consumerAdmin().delete(resources.networkPolicy, "govhost-api-to-lookup", consumer),
    );
    expect(keep?.message).toContain("GH-NET-003");

    await eventually(
      "the grant to expire",
      async () => ((await grantPhase()) === "Expired" ? true : undefined),
      240_000,
    );
    const expired = await callGateway(consumer, api);
    expect(expired.statuses, expired.log).toEqual([]);
    const left = await admin.list<KubeObject>(resources.networkPolicy, {
      labelSelector: "govhost.io/api-grant=lookup",
    });
    expect(left.items.map((p) => p.metadata?.name)).toEqual([]);
  });
});

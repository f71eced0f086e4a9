import { readFileSync } from "node:fs";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { controllerIdentity } from "../../controller/api/rbac.ts";
import { scannerBrowser } from "../../controller/api/scanner-browser.ts";
import { type Cluster, defineCluster } from "../../infra/cluster.ts";
import { GovhostPlatform } from "../../infra/platform.ts";
import { defaultBaselineSettings } from "../../policies/admission.ts";
import { baselineRules } from "../../policies/baseline.ts";
import { nodeNetwork } from "../../tools/cluster/node/network.ts";
import { departmentManifest } from "../fixtures/departments.ts";

// The Pulumi program against Pulumi's own mocks: the resource graph it would create, checked for what the
// platform must have (policies bound, least-privilege RBAC) without a cluster.

interface Created {
  type: string;
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: the mocks hand back arbitrary Kubernetes objects; the tests read them freely
  inputs: Record<string, any>;
}
const created: Created[] = [];
const sessionKeyValue = `${"k".repeat(43)}=`;
const pushedImage = `registry.govhost.local/govhost/govhost:0.1.0-abc@sha256:${"0".repeat(64)}`;

pulumi.runtime.setMocks(
  {
    newResource: (args) => {
      created.push({ type: args.type, name: args.name, inputs: args.inputs });
      // The image resource's output: the pinned reference of what it pushed.
      if (args.type === "govhost:local:Image")
        return { id: `${args.name}-id`, state: { ...args.inputs, image: pushedImage } };
      return { id: `${args.name}-id`, state: args.inputs };
    },
    call: (args) => args.inputs,
  },
  "govhost",
  "test",
  false,
);

async function build(mode: "local" | "existing"): Promise<Created[]> {
  created.length = 0;
  const cluster: Cluster = {
    mode,
    kubeconfigPath: "/tmp/kubeconfig",
    kubeconfig: pulumi.secret("apiVersion: v1\nkind: Config\n"),
    skipAwait: mode === "local",
    provider: new k8s.Provider(`${mode}-provider`, { kubeconfig: "apiVersion: v1\nkind: Config\n" }),
  };
  const platform = new GovhostPlatform(`govhost-${mode}`, {
    cluster,
    baseline: defaultBaselineSettings,
    ingressControllerNamespace: "govhost-ingress",
    images: {
      controller: "registry.gov.example/govhost/govhost:0.1.0",
      portalApi: "registry.gov.example/govhost/govhost:0.1.0",
    },
    oidc: {
      issuer: "https://login.gov.example",
      audience: "https://api.govhost.local",
      clientId: "govhost-portal-api",
      allowHttpIssuer: mode === "local",
    },
    ...(mode === "local"
      ? {
          trustedProxies: ["10.244.0.0/24"],
          api: { host: "api.gov.example", ingressClassName: "govhost" },
          web: {
            url: "https://api.gov.example",
            clientSecret: pulumi.secret("web-client-secret-value"),
            sessionKey: pulumi.secret(sessionKeyValue),
          },
        }
      : {}),
    auditStorage: "5Gi",
    serviceMonitor: true,
    departments: [{ name: "immd", spec: departmentManifest("immd").spec }],
  });
  const all = Object.values(platform.resources).flat();
  await Promise.all(all.map((r) => new Promise((resolve) => r.urn.apply(resolve))));
  return [...created];
}

const ofType = (resources: Created[], kind: string) => resources.filter((r) => r.type.endsWith(`:${kind}`));
const named = (resources: Created[], kind: string, name: string) =>
  ofType(resources, kind).find((r) => r.inputs.metadata?.name === name);

describe("the Pulumi program's resource graph", () => {
  let local: Created[];
  beforeAll(async () => {
    local = await build("local");
  });

  it("installs every govhost CRD and the PolicyReport CRDs", () => {
    const names = ofType(local, "CustomResourceDefinition").map((r) => r.inputs.metadata.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "departments.govhost.io",
        "eservices.govhost.io",
        "chargebackstatements.govhost.io",
        "ratecards.govhost.io",
        "policyreports.wgpolicyk8s.io",
      ]),
    );
  });

  it("binds every baseline policy, in Deny mode by default, to its parameters", () => {
    const policies = ofType(local, "ValidatingAdmissionPolicy");
    expect(policies.map((p) => p.inputs.metadata.labels["govhost.io/baseline-rule"]).sort()).toEqual(
      baselineRules.map((r) => r.id).sort(),
    );
    const bindings = ofType(local, "ValidatingAdmissionPolicyBinding");
    for (const policy of policies) {
      const bound = bindings.filter((b) => b.inputs.spec.policyName === policy.inputs.metadata.name);
      expect(
        bound.map((b) => b.inputs.spec.validationActions),
        policy.inputs.metadata.name,
      ).toEqual([["Deny"]]);
      const rule = baselineRules.find(
        (r) => r.id === policy.inputs.metadata.labels["govhost.io/baseline-rule"],
      );
      expect(bound[0]?.inputs.spec.paramRef).toMatchObject(
        rule?.params
          ? { name: rule.params.name, parameterNotFoundAction: "Allow" }
          : { name: "govhost-baseline", namespace: "govhost-system", parameterNotFoundAction: "Deny" },
      );
    }
    expect(named(local, "ConfigMap", "govhost-baseline")?.inputs.data.allowedRegistries).toBe(
      defaultBaselineSettings.allowedRegistries.join(","),
    );
  });

  it("gives the controller its own least-privilege role and nobody cluster-admin", () => {
    const bindings = ofType(local, "ClusterRoleBinding");
    expect(bindings.filter((b) => b.inputs.roleRef.name === "cluster-admin")).toEqual([]);
    const controllerBindings = bindings.filter((b) =>
      b.inputs.subjects.some(
        (s: { kind: string; name: string }) => s.kind === "ServiceAccount" && s.name === "govhost-controller",
      ),
    );
    expect(controllerBindings.map((b) => b.inputs.roleRef.name)).toEqual(["govhost-controller"]);
    const role = named(local, "ClusterRole", "govhost-controller");
    const rules = role?.inputs.rules as {
      apiGroups: string[];
      resources: string[];
      verbs: string[];
      resourceNames?: string[];
    }[];
    for (const rule of rules) {
      expect([...rule.apiGroups, ...rule.resources, ...rule.verbs]).not.toContain("*");
      expect(rule.resources).not.toContain("secrets");
      // escalate only on the portal API's impersonation list, which the controller keeps in step.
      if (rule.verbs.includes("escalate"))
        expect(rule.resourceNames).toEqual(["govhost-portal-api-impersonation"]);
      expect(rule.verbs).not.toContain("impersonate");
      if (rule.verbs.includes("bind")) expect(rule.resourceNames?.length).toBeGreaterThan(0);
    }
    // Workloads are written only through per-namespace bindings of the tenant role.
    expect(rules.some((r) => r.resources.includes("deployments") && r.verbs.includes("create"))).toBe(false);
    expect(named(local, "ClusterRole", "govhost-controller-tenant")).toBeDefined();
  });

  it("lets the portal API impersonate only the platform's groups, never a system group", () => {
    const api = named(local, "ClusterRole", "govhost-portal-api");
    const apiRules = api?.inputs.rules as { resources: string[]; verbs: string[] }[];
    expect(apiRules.filter((r) => r.verbs.includes("impersonate")).flatMap((r) => r.resources)).toEqual([
      "users",
    ]);
    const groups = named(local, "ClusterRole", "govhost-portal-api-impersonation")?.inputs.rules[0];
    expect(groups).toMatchObject({ resources: ["groups"], verbs: ["impersonate"] });
    expect(groups.resourceNames).toContain("govhost:platform-operators");
    expect(groups.resourceNames.some((g: string) => g.startsWith("system:"))).toBe(false);
  });

  it("runs the controller and the portal API as their service accounts, restricted, with the metrics scraped", () => {
    const controller = named(local, "Deployment", "govhost-controller");
    const pod = controller?.inputs.spec.template.spec;
    expect(pod.serviceAccountName).toBe("govhost-controller");
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(pod.containers[0].securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(controller?.inputs.spec.replicas).toBe(2);
    expect(
      named(local, "Deployment", "govhost-portal-api")?.inputs.spec.template.spec.serviceAccountName,
    ).toBe("govhost-portal-api");
    expect(named(local, "ServiceMonitor", "govhost")).toBeDefined();
    expect(
      named(local, "ConfigMap", "govhost-finance-dashboard")?.inputs.metadata.labels.grafana_dashboard,
    ).toBe("1");
    expect(named(local, "Department", "immd")?.inputs.spec.displayName.en).toBe("Department immd");
  });

  it("turns on sign-in to the pages with the web client's secret and the session key in a Secret, not in the Deployment", async () => {
    const api = named(local, "Deployment", "govhost-portal-api")?.inputs.spec.template.spec.containers[0];
    const env = new Map<string, { value?: string; valueFrom?: unknown }>(
      api.env.map((e: { name: string }) => [e.name, e]),
    );
    expect(env.get("GOVHOST_WEB_URL")?.value).toBe("https://api.gov.example");
    expect(env.get("GOVHOST_API_TRUSTED_PROXIES")?.value).toBe("10.244.0.0/24");
    for (const [name, key] of [
      ["GOVHOST_WEB_CLIENT_SECRET", "client-secret"],
      ["GOVHOST_SESSION_KEY", "session-key"],
    ] as const)
      expect(env.get(name)).toEqual({
        name,
        valueFrom: { secretKeyRef: { name: "govhost-portal-web", key } },
      });
    expect(JSON.stringify(api)).not.toContain(sessionKeyValue);
    expect(JSON.stringify(api)).not.toContain("web-client-secret-value");
    const secret = named(local, "Secret", "govhost-portal-web");
    // The typed resource (a generic CustomResource refuses the core group's "v1": seen on a real up).
    expect(secret?.type).toBe("kubernetes:core/v1:Secret");
    // Marked secret as a whole: Pulumi keeps it encrypted in the stack's state.
    expect(secret?.inputs.stringData).toEqual({
      [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig,
      value: { "client-secret": "web-client-secret-value", "session-key": sessionKeyValue },
    });
    // Without web settings (the existing-cluster build here), the API serves no sign-in.
    expect(named(await build("existing"), "Secret", "govhost-portal-web")).toBeUndefined();
  });

  it("runs the scanner's Chromium in a container of the controller's pod that holds no credentials", () => {
    const pod = named(local, "Deployment", "govhost-controller")?.inputs.spec.template.spec;
    const [controller, browser, ...others] = pod.containers;
    expect(others).toEqual([]);
    expect(browser.name).toBe(scannerBrowser.containerName);
    // No token anywhere by default: the controller's container alone mounts one, projected.
    expect(pod.automountServiceAccountToken).toBe(false);
    const tokenVolumes = pod.volumes
      .filter((v: { projected?: { sources: { serviceAccountToken?: unknown }[] } }) =>
        v.projected?.sources.some((source) => source.serviceAccountToken),
      )
      .map((v: { name: string }) => v.name);
    expect(tokenVolumes).toHaveLength(1);
    const mounts = (c: { volumeMounts: { name: string; mountPath: string }[] }) =>
      c.volumeMounts.map((m) => m.name);
    expect(mounts(controller)).toContain(tokenVolumes[0]);
    expect(mounts(browser)).toEqual(["browser-tmp"]);
    expect(controller.volumeMounts).toContainEqual({
      name: tokenVolumes[0],
      mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
      readOnly: true,
    });
    // Its environment carries nothing from the controller's, and it listens on the pod's loopback only.
    expect(browser.env).toEqual([{ name: "HOME", value: "/tmp" }]);
    expect(browser.ports).toBeUndefined();
    expect(browser.command).toEqual(expect.arrayContaining(["run-server", "--host", "127.0.0.1"]));
    expect(browser.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(controller.env).toContainEqual({
      name: "GOVHOST_BROWSER_ENDPOINT",
      value: scannerBrowser.endpoint,
    });
    // The portal API keeps Kubernetes' own token mount (it has one container).
    expect(
      named(local, "Deployment", "govhost-portal-api")?.inputs.spec.template.spec
        .automountServiceAccountToken,
    ).toBeUndefined();
  });

  it("labels the controller's pods as the e-services' NetworkPolicies expect of the scanner", () => {
    const template = named(local, "Deployment", "govhost-controller")?.inputs.spec.template;
    expect(template.metadata.labels).toMatchObject(controllerIdentity.podLabels);
  });

  it("keeps both controller replicas ready and points the gateway check at the leader alone", () => {
    const container = named(local, "Deployment", "govhost-controller")?.inputs.spec.template.spec
      .containers[0];
    // Service links would set GOVHOST_CONTROLLER_PORT=tcp://... (the Service govhost-controller).
    for (const name of ["govhost-controller", "govhost-portal-api"])
      expect(named(local, "Deployment", name)?.inputs.spec.template.spec.enableServiceLinks).toBe(false);
    // A standby that is never ready would keep every rollout (and Pulumi's await) from completing.
    expect(container.readinessProbe.httpGet.path).toBe("/healthz");
    expect(container.env).toContainEqual({
      name: "GOVHOST_API_GATEWAY_CHECK_ADVERTISE",
      valueFrom: { fieldRef: { fieldPath: "status.podIP" } },
    });
    // No selector: the leader writes the one endpoint, so a standby is never asked.
    const check = named(local, "Service", "govhost-api-gateway-check");
    expect(check?.inputs.spec.selector).toBeUndefined();
    expect(check?.inputs.spec.ports).toEqual([{ name: "http", port: 8082, targetPort: 8082 }]);
    const leaseRole = named(local, "Role", "govhost-controller-leader-election");
    expect(leaseRole?.inputs.rules).toContainEqual({
      apiGroups: ["discovery.k8s.io"],
      resources: ["endpointslices"],
      verbs: ["get", "patch"],
      resourceNames: ["govhost-api-gateway-check-leader"],
    });
    // The audit log's single writer: a rollout stops the old pod before the new one starts.
    expect(named(local, "Deployment", "govhost-portal-api")?.inputs.spec.strategy).toEqual({
      type: "Recreate",
    });
  });

  it("serves the API at the ingress on its host, trusting a plain-HTTP issuer only when told", () => {
    const ingress = named(local, "Ingress", "govhost-portal-api");
    expect(ingress?.inputs.spec.rules[0].host).toBe("api.gov.example");
    expect(ingress?.inputs.spec.tls).toEqual([{ hosts: ["api.gov.example"] }]);
    const env = named(local, "Deployment", "govhost-portal-api")?.inputs.spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: "GOVHOST_OIDC_ALLOW_HTTP", value: "true" });
  });

  it("owns what it declares (patchForce), except what the controller keeps after creation", () => {
    const annotated = (r: Created) => r.inputs.metadata?.annotations?.["pulumi.com/patchForce"] === "true";
    const kubernetes = local.filter((r) => r.type.startsWith("kubernetes:"));
    const createOnly = kubernetes.filter(
      (r) => r.inputs.metadata?.annotations?.["govhost.io/create-only"] === "true",
    );
    expect(createOnly.length).toBeGreaterThan(0);
    expect(createOnly.filter(annotated)).toEqual([]);
    expect(kubernetes.filter((r) => !createOnly.includes(r) && !annotated(r)).map((r) => r.name)).toEqual([]);
  });

  it("does not wait for readiness on the local cluster (no kubelet), and does elsewhere", async () => {
    const skip = (resources: Created[]) =>
      named(resources, "Deployment", "govhost-controller")?.inputs.metadata.annotations?.[
        "pulumi.com/skipAwait"
      ];
    expect(skip(local)).toBe("true");
    expect(skip(await build("existing"))).toBeUndefined();
  });

  it("drains the tenants on destroy where the controller runs (with the admin kubeconfig), and not where it cannot", async () => {
    const drains = (resources: Created[]) =>
      resources.filter((r) => r.type === "govhost:platform:TenantDrain");
    expect(drains(local)).toEqual([]);
    const [drain, ...more] = drains(await build("existing"));
    expect(more).toEqual([]);
    // The kubeconfig reaches the plugin as a secret (the mocks show Pulumi's secret wrapper).
    expect(drain?.inputs).toEqual({
      kubeconfig: expect.objectContaining({ value: "apiVersion: v1\nkind: Config\n" }),
      timeoutSeconds: 600,
    });
  });
});

describe("the local stack's own cloud (no govhost:kubeconfig)", () => {
  const define = async (args: { localNode?: boolean; image?: string }) => {
    created.length = 0;
    const cluster = defineCluster({ mode: "local", localCloudDir: "/tmp/govhost-cloud", ...args });
    await new Promise((resolve) => cluster.provider.urn.apply(resolve));
    const image = cluster.image ? await new Promise((resolve) => cluster.image?.apply(resolve)) : undefined;
    return { cluster, image, resources: [...created] };
  };

  it("declares the cloud with a node, then this checkout's image pushed to the cloud's registry, and waits for readiness", async () => {
    const { cluster, image, resources } = await define({});
    const cloud = resources.find((r) => r.type === "govhost:local:Cloud");
    expect(cloud?.inputs).toMatchObject({ stateDir: "/tmp/govhost-cloud", node: true });
    const pushed = resources.find((r) => r.type === "govhost:local:Image");
    expect(pushed?.inputs.repository).toBe("govhost/govhost");
    expect(image).toBe(pushedImage);
    expect(cluster.skipAwait).toBe(false);
    expect(cluster.kubeconfigPath).toBe("/tmp/govhost-cloud/kubeconfig");
  });

  it("builds no image when the stack names one, and waits for nothing without a node", async () => {
    const named = await define({ image: "registry.gov.example/govhost/govhost:0.1.0" });
    expect(named.resources.filter((r) => r.type === "govhost:local:Image")).toEqual([]);
    expect(named.cluster.skipAwait).toBe(false);
    const nodeless = await define({ localNode: false });
    expect(nodeless.resources.find((r) => r.type === "govhost:local:Cloud")?.inputs.node).toBe(false);
    expect(nodeless.resources.filter((r) => r.type === "govhost:local:Image")).toEqual([]);
    expect(nodeless.cluster.skipAwait).toBe(true);
  });
});

describe("the local stack's settings", () => {
  it("trusts as proxies exactly the local node's pod network, where the ingress controller's pods are", () => {
    const stack = parse(readFileSync("Pulumi.local.yaml", "utf8")) as { config: Record<string, unknown> };
    expect(stack.config["govhost:trustedProxies"]).toEqual([nodeNetwork.podCidr]);
  });
});

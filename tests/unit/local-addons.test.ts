import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { KubeObject } from "../../lib/kube/client.ts";
import { ingressObjects, localIngress } from "../../tools/cluster/node/ingress.ts";
import { metricsServer, metricsServerObjects } from "../../tools/cluster/node/metrics-server.ts";
import { kubeRouterArgs, networkPolicyRbac, splitRule } from "../../tools/cluster/node/network-policy.ts";
import { localPrometheus, prometheusConfig, prometheusObjects } from "../../tools/cluster/node/prometheus.ts";

// The local cloud's add-ons (the ingress controller, metrics-server and Prometheus as pods, kube-router as a process): what they are allowed and
// how they run. Their behaviour is proven on the real node (eservice-node and metering-node tests); these
// check the properties a reviewer would look for in the manifests.

const dir = mkdtempSync(join(tmpdir(), "govhost-addons-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const certificate = { cert: file("tls.crt", "CERT"), key: file("tls.key", "KEY"), ca: file("ca.crt", "CA") };
const image = "registry.govhost.local/govhost/addon@sha256:0123";

type Workload = KubeObject & {
  spec: {
    strategy?: { type: string };
    template: {
      spec: {
        securityContext: Record<string, unknown>;
        containers: {
          image: string;
          imagePullPolicy: string;
          args: string[];
          securityContext: Record<string, unknown>;
          ports: { hostPort?: number; hostIP?: string }[];
        }[];
      };
    };
  };
};
const byKind = (objects: KubeObject[], kind: string) => objects.filter((o) => o.kind === kind);
const deploymentOf = (objects: KubeObject[]) => byKind(objects, "Deployment")[0] as Workload;

function expectHardened(deployment: Workload) {
  const pod = deployment.spec.template.spec;
  expect(pod.securityContext).toMatchObject({
    runAsNonRoot: true,
    seccompProfile: { type: "RuntimeDefault" },
  });
  for (const container of pod.containers) {
    expect(container.image).toBe(image);
    expect(container.imagePullPolicy).toBe("Always");
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
  }
}

describe("the local ingress controller's manifests", () => {
  const objects = ingressObjects(image, certificate);

  it("runs Traefik hardened, on the node address's 443 and 80 only, with the govhost IngressClass", () => {
    const deployment = deploymentOf(objects);
    expectHardened(deployment);
    expect(deployment.metadata?.namespace).toBe(localIngress.namespace);
    expect(deployment.spec.strategy?.type).toBe("Recreate");
    const ports = deployment.spec.template.spec.containers[0]?.ports.filter((p) => p.hostPort) ?? [];
    expect(ports).toEqual([
      expect.objectContaining({ hostPort: 443, hostIP: localIngress.address }),
      expect.objectContaining({ hostPort: 80, hostIP: localIngress.address }),
    ]);
    const args = deployment.spec.template.spec.containers[0]?.args ?? [];
    expect(args).toContain(`--providers.kubernetesingress.ingressclass=${localIngress.className}`);
    // Nothing leaves the machine.
    expect(args).toEqual(
      expect.arrayContaining(["--global.checknewversion=false", "--global.sendanonymoususage=false"]),
    );
    expect(byKind(objects, "IngressClass")[0]).toMatchObject({
      metadata: { name: localIngress.className },
      spec: { controller: "traefik.io/ingress-controller" },
    });
  });

  it("grants only reads, plus Ingress status updates", () => {
    const role = byKind(objects, "ClusterRole")[0] as KubeObject & {
      rules: { resources: string[]; verbs: string[] }[];
    };
    for (const rule of role.rules) {
      if (rule.resources.includes("ingresses/status")) expect(rule.verbs).toEqual(["update"]);
      else expect(rule.verbs).toEqual(["get", "list", "watch"]);
    }
  });
});

describe("metrics-server's manifests", () => {
  const objects = metricsServerObjects(image, certificate);

  it("runs hardened and verifies the kubelets' certificates", () => {
    const deployment = deploymentOf(objects);
    expectHardened(deployment);
    const args = deployment.spec.template.spec.containers[0]?.args ?? [];
    expect(args.some((a) => a.startsWith("--kubelet-certificate-authority="))).toBe(true);
    expect(args).not.toContain("--kubelet-insecure-tls");
  });

  it("is registered with a CA bundle, not insecureSkipTLSVerify", () => {
    const apiService = byKind(objects, "APIService")[0] as KubeObject & { spec: Record<string, unknown> };
    expect(apiService.metadata?.name).toBe(metricsServer.apiService);
    expect(apiService.spec.caBundle).toBe(Buffer.from("CA").toString("base64"));
    expect(apiService.spec.insecureSkipTLSVerify).toBeUndefined();
    // Applied last: the API server routes metrics.k8s.io only once everything behind it exists.
    expect(objects.at(-1)).toBe(apiService);
  });
});

describe("Prometheus's manifests", () => {
  const objects = prometheusObjects(image);

  it("runs hardened in a restricted namespace, and may only read where pods are", () => {
    expectHardened(deploymentOf(objects));
    const namespace = byKind(objects, "Namespace")[0];
    expect(namespace?.metadata?.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    const role = byKind(objects, "ClusterRole")[0] as KubeObject & { rules: unknown[] };
    expect(role.rules).toEqual([{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }]);
  });

  it("scrapes only running pods that ask to be, at their annotated port and path", () => {
    const config = JSON.parse(prometheusConfig()) as {
      global: { scrape_interval: string };
      scrape_configs: { kubernetes_sd_configs: unknown[]; relabel_configs: Record<string, unknown>[] }[];
    };
    expect(config.global.scrape_interval).toBe(localPrometheus.interval);
    const [job, ...others] = config.scrape_configs;
    expect(others).toEqual([]);
    expect(job?.kubernetes_sd_configs).toEqual([{ role: "pod" }]);
    const keeps = job?.relabel_configs.filter((r) => r.action === "keep");
    expect(keeps).toEqual([
      {
        source_labels: ["__meta_kubernetes_pod_annotation_prometheus_io_scrape"],
        action: "keep",
        regex: "true",
      },
      { source_labels: ["__meta_kubernetes_pod_phase"], action: "keep", regex: "Running" },
    ]);
    const address = job?.relabel_configs.find((r) => r.target_label === "__address__");
    expect(address?.source_labels).toEqual([
      "__meta_kubernetes_pod_ip",
      "__meta_kubernetes_pod_annotation_prometheus_io_port",
    ]);
  });
});

describe("NetworkPolicy enforcement (kube-router)", () => {
  const args = kubeRouterArgs({ kubeconfig: "/node/kube-router.kubeconfig", nodeName: "govhost-node" });

  it("runs the firewall only, with no health or metrics listener", () => {
    expect(args).toEqual(
      expect.arrayContaining([
        "--run-firewall=true",
        "--run-router=false",
        "--run-service-proxy=false",
        "--run-loadbalancer=false",
        "--enable-cni=false",
        // v2.1.0 serves pprof, unauthenticated, on its health port.
        "--health-port=0",
        "--metrics-port=0",
      ]),
    );
  });

  it("is granted reads only", () => {
    const role = networkPolicyRbac[0]?.body as { kind: string; rules: { verbs: string[] }[] };
    expect(role.kind).toBe("ClusterRole");
    for (const rule of role.rules)
      expect(["get", "list", "watch"]).toEqual(expect.arrayContaining(rule.verbs));
  });

  it("removes its jump rules word for word, quoted comments kept whole", () => {
    expect(
      splitRule('-m comment --comment "kube-router netpol - 4IA2OSFRMVNDXBVV" -j KUBE-ROUTER-FORWARD'),
    ).toEqual([
      "-m",
      "comment",
      "--comment",
      "kube-router netpol - 4IA2OSFRMVNDXBVV",
      "-j",
      "KUBE-ROUTER-FORWARD",
    ]);
  });
});

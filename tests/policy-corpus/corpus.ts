// The security baseline corpus: manifests labelled good or bad, each bad one with the rule that must reject
// it (a govhost baseline rule id, or the Pod Security control). Every manifest is otherwise compliant, so
// the intended rule is the only one that can fire. Used against the real API server (integration) and
// against govhost's own CEL evaluator (unit), so both must agree.

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown>;
  [k: string]: unknown;
};

export interface CorpusCase {
  name: string;
  expect: "allow" | "deny";
  /** For deny: a baseline rule id (GH-...) or `psa:<text the Pod Security message contains>`. */
  rule?: string;
  /** A second, independent guard that still refuses it when the rule only warns (defence in depth). */
  alsoRefusedBy?: "tenant-quota";
  manifest: Manifest;
}

/** The department the corpus runs in: domains and ceiling as the namespace annotations declare them. */
export const corpusDepartment = {
  domains: ["corpus.gov.example"],
  maxDataClassification: "RESTRICTED",
} as const;
export const corpusRegistries = ["registry.gov.example/", "harbor.gov.example/"];

type Json = Record<string, unknown>;

function container(overrides: Json = {}): Json {
  return {
    name: "app",
    image: "registry.gov.example/corpus/web:1.4.2",
    imagePullPolicy: "Always",
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      readOnlyRootFilesystem: true,
    },
    ...overrides,
  };
}

/** A pod spec that passes Pod Security `restricted` and every baseline rule (other tests build on it). */
export function compliantPodSpec(): Json {
  return podSpec();
}

function podSpec(overrides: Json = {}, containerOverrides: Json = {}): Json {
  return {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
    containers: [container(containerOverrides)],
    ...overrides,
  };
}

const podLabels = { app: "web", "govhost.io/data-classification": "RESTRICTED" };

function pod(
  name: string,
  options: { spec?: Json; container?: Json; labels?: Json; annotations?: Json } = {},
): Manifest {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      labels: { ...podLabels, ...options.labels },
      ...(options.annotations ? { annotations: options.annotations } : {}),
    },
    spec: podSpec(options.spec, options.container),
  };
}

function template(options: { container?: Json; labels?: Json; spec?: Json } = {}): Json {
  return {
    metadata: { labels: { ...podLabels, ...options.labels } },
    spec: podSpec(options.spec, options.container),
  };
}

function deployment(name: string, options: { container?: Json; labels?: Json } = {}): Manifest {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: { replicas: 1, selector: { matchLabels: { app: "web" } }, template: template(options) },
  };
}

function service(name: string, spec: Json = {}, metadata: Json = {}): Manifest {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, ...metadata },
    spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }], ...spec },
  };
}

function ingress(name: string, host: string, tls: boolean): Manifest {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name },
    spec: {
      ...(tls ? { tls: [{ hosts: [host], secretName: `${name}-tls` }] } : {}),
      rules: [
        {
          host,
          http: {
            paths: [
              { path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } },
            ],
          },
        },
      ],
    },
  };
}

/** A route at the API gateway (no host; the gateway's entry point only), for `path`. */
function gatewayRoute(name: string, path: string): Manifest {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: { name, annotations: { "traefik.ingress.kubernetes.io/router.entrypoints": "apis" } },
    spec: {
      rules: [
        {
          http: {
            paths: [
              { path, pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } },
            ],
          },
        },
      ],
    },
  };
}

/** The namespace the corpus manifests name in paths; corpusIn puts the real one in its place. */
const corpusNamespace = "corpus-dev";

/** The department the corpus manifests name; corpusIn puts the real one in its place. */
const corpusDepartmentName = "corpus";

function networkPolicy(name: string, spec: Json): Manifest {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name },
    spec: { podSelector: { matchLabels: { app: "web" } }, ...spec },
  };
}

const ownDepartment = { matchLabels: { "govhost.io/department": corpusDepartmentName } };

const withoutDrop = { securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true } };
const sc = (extra: Json) => ({
  securityContext: {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
    readOnlyRootFilesystem: true,
    ...extra,
  },
});
const podSc = (extra: Json) => ({
  securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" }, ...extra },
});

export const corpus: CorpusCase[] = [
  // --- good
  { name: "good-pod", expect: "allow", manifest: pod("good-pod") },
  { name: "good-deployment", expect: "allow", manifest: deployment("good-deployment") },
  {
    name: "good-statefulset",
    expect: "allow",
    manifest: {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "good-statefulset" },
      spec: { serviceName: "db", selector: { matchLabels: { app: "web" } }, template: template() },
    },
  },
  {
    name: "good-job",
    expect: "allow",
    manifest: {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "good-job" },
      spec: { template: template({ spec: { restartPolicy: "Never" } }) },
    },
  },
  {
    name: "good-cronjob",
    expect: "allow",
    manifest: {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "good-cronjob" },
      spec: {
        schedule: "0 3 * * *",
        jobTemplate: { spec: { template: template({ spec: { restartPolicy: "OnFailure" } }) } },
      },
    },
  },
  {
    name: "good-digest-image",
    expect: "allow",
    manifest: pod("good-digest-image", {
      container: { image: `harbor.gov.example/corpus/web@sha256:${"a".repeat(64)}` },
    }),
  },
  {
    name: "good-justified-writable-rootfs",
    expect: "allow",
    manifest: pod("good-justified-writable-rootfs", {
      container: sc({ readOnlyRootFilesystem: false }),
      annotations: {
        "govhost.io/writable-rootfs-justification": "legacy CMS writes its cache under /var/www",
      },
    }),
  },
  {
    name: "good-unclassified",
    expect: "allow",
    manifest: pod("good-unclassified", { labels: { "govhost.io/data-classification": "UNCLASSIFIED" } }),
  },
  {
    name: "good-net-bind-service",
    expect: "allow",
    manifest: pod("good-net-bind-service", {
      container: sc({ capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] } }),
    }),
  },
  {
    name: "good-init-container",
    expect: "allow",
    manifest: pod("good-init-container", { spec: { initContainers: [container({ name: "migrate" })] } }),
  },
  { name: "good-service", expect: "allow", manifest: service("good-service") },
  {
    name: "good-headless-service",
    expect: "allow",
    manifest: service("good-headless-service", { clusterIP: "None" }),
  },
  {
    name: "good-ingress",
    expect: "allow",
    manifest: ingress("good-ingress", "apply.corpus.gov.example", true),
  },
  {
    name: "good-configmap-declared-label",
    expect: "allow",
    manifest: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "good-configmap-declared-label",
        labels: { "govhost.io/data-classification": "RESTRICTED" },
      },
      data: { greeting: "hello" },
    },
  },

  // --- Pod Security `restricted` controls (enforced by Pod Security Admission)
  {
    name: "psa-privileged",
    expect: "deny",
    rule: "psa:privileged",
    manifest: pod("psa-privileged", {
      container: sc({ privileged: true, allowPrivilegeEscalation: undefined }),
    }),
  },
  {
    name: "psa-host-network",
    expect: "deny",
    rule: "psa:host namespaces",
    manifest: pod("psa-host-network", { spec: { hostNetwork: true } }),
  },
  {
    name: "psa-host-pid",
    expect: "deny",
    rule: "psa:host namespaces",
    manifest: pod("psa-host-pid", { spec: { hostPID: true } }),
  },
  {
    name: "psa-host-ipc",
    expect: "deny",
    rule: "psa:host namespaces",
    manifest: pod("psa-host-ipc", { spec: { hostIPC: true } }),
  },
  {
    name: "psa-host-path",
    expect: "deny",
    rule: 'psa:restricted volume type "hostPath"',
    manifest: pod("psa-host-path", { spec: { volumes: [{ name: "h", hostPath: { path: "/etc" } }] } }),
  },
  {
    name: "psa-host-port",
    expect: "deny",
    rule: "psa:hostPort",
    manifest: pod("psa-host-port", { container: { ports: [{ containerPort: 8080, hostPort: 8080 }] } }),
  },
  {
    name: "psa-add-capability",
    expect: "deny",
    rule: "psa:unrestricted capabilities",
    manifest: pod("psa-add-capability", {
      container: sc({ capabilities: { drop: ["ALL"], add: ["SYS_ADMIN"] } }),
    }),
  },
  {
    name: "psa-no-drop-all",
    expect: "deny",
    rule: "psa:unrestricted capabilities",
    manifest: pod("psa-no-drop-all", { container: withoutDrop }),
  },
  {
    name: "psa-privilege-escalation",
    expect: "deny",
    rule: "psa:allowPrivilegeEscalation != false",
    manifest: pod("psa-privilege-escalation", { container: sc({ allowPrivilegeEscalation: true }) }),
  },
  {
    name: "psa-run-as-root-allowed",
    expect: "deny",
    rule: "psa:runAsNonRoot != true",
    manifest: pod("psa-run-as-root-allowed", { spec: podSc({ runAsNonRoot: false }) }),
  },
  {
    name: "psa-run-as-user-0",
    expect: "deny",
    rule: "psa:runAsUser=0",
    manifest: pod("psa-run-as-user-0", { spec: podSc({ runAsUser: 0 }) }),
  },
  {
    name: "psa-seccomp-unconfined",
    expect: "deny",
    rule: "psa:seccompProfile",
    manifest: pod("psa-seccomp-unconfined", { spec: podSc({ seccompProfile: { type: "Unconfined" } }) }),
  },
  {
    name: "psa-apparmor-unconfined",
    expect: "deny",
    rule: "psa:AppArmor",
    manifest: pod("psa-apparmor-unconfined", { container: sc({ appArmorProfile: { type: "Unconfined" } }) }),
  },
  {
    name: "psa-selinux-type",
    expect: "deny",
    rule: "psa:seLinuxOptions",
    manifest: pod("psa-selinux-type", { container: sc({ seLinuxOptions: { type: "spc_t" } }) }),
  },
  {
    name: "psa-proc-mount",
    expect: "deny",
    rule: "psa:procMount",
    manifest: pod("psa-proc-mount", { spec: { hostUsers: false }, container: sc({ procMount: "Unmasked" }) }),
  },
  {
    name: "psa-unsafe-sysctl",
    expect: "deny",
    rule: "psa:forbidden sysctls",
    manifest: pod("psa-unsafe-sysctl", {
      spec: podSc({ sysctls: [{ name: "kernel.msgmax", value: "65536" }] }),
    }),
  },
  {
    name: "psa-windows-host-process",
    expect: "deny",
    rule: "psa:hostProcess",
    manifest: pod("psa-windows-host-process", {
      spec: {
        hostNetwork: true,
        securityContext: {
          runAsNonRoot: true,
          seccompProfile: { type: "RuntimeDefault" },
          windowsOptions: { hostProcess: true },
        },
      },
    }),
  },
  {
    name: "psa-restricted-volume-type",
    expect: "deny",
    rule: 'psa:restricted volume type "nfs"',
    manifest: pod("psa-restricted-volume-type", {
      spec: { volumes: [{ name: "n", nfs: { server: "nfs.gov.example", path: "/exports" } }] },
    }),
  },

  // --- govhost baseline rules
  {
    name: "img-foreign-registry",
    expect: "deny",
    rule: "GH-IMG-001",
    manifest: pod("img-foreign-registry", { container: { image: "docker.io/library/nginx:1.27.0" } }),
  },
  {
    name: "img-foreign-registry-deployment",
    expect: "deny",
    rule: "GH-IMG-001",
    manifest: deployment("img-foreign-registry-deployment", {
      container: { image: "ghcr.io/someone/app:2.0.0" },
    }),
  },
  {
    name: "img-latest",
    expect: "deny",
    rule: "GH-IMG-002",
    manifest: pod("img-latest", { container: { image: "registry.gov.example/corpus/web:latest" } }),
  },
  {
    name: "img-untagged",
    expect: "deny",
    rule: "GH-IMG-002",
    manifest: pod("img-untagged", { container: { image: "registry.gov.example/corpus/web" } }),
  },
  {
    name: "img-latest-init-container",
    expect: "deny",
    rule: "GH-IMG-002",
    manifest: pod("img-latest-init-container", {
      spec: {
        initContainers: [container({ name: "init", image: "registry.gov.example/corpus/init:latest" })],
      },
    }),
  },
  {
    name: "img-pull-if-not-present",
    expect: "deny",
    rule: "GH-IMG-003",
    manifest: pod("img-pull-if-not-present", { container: { imagePullPolicy: "IfNotPresent" } }),
  },
  {
    name: "img-pull-policy-defaulted",
    expect: "deny",
    rule: "GH-IMG-003",
    manifest: deployment("img-pull-policy-defaulted", { container: { imagePullPolicy: undefined } }),
  },
  {
    name: "res-no-limits-deployment",
    expect: "deny",
    rule: "GH-RES-001",
    manifest: deployment("res-no-limits-deployment", {
      container: { resources: { requests: { cpu: "100m", memory: "128Mi" } } },
    }),
  },
  {
    name: "res-no-requests-job",
    expect: "deny",
    rule: "GH-RES-001",
    manifest: {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "res-no-requests-job" },
      spec: {
        template: template({
          spec: { restartPolicy: "Never" },
          container: { resources: { limits: { cpu: "1" } } },
        }),
      },
    },
  },
  {
    name: "run-writable-rootfs",
    expect: "deny",
    rule: "GH-RUN-001",
    manifest: pod("run-writable-rootfs", { container: sc({ readOnlyRootFilesystem: false }) }),
  },
  {
    name: "run-writable-rootfs-weak-justification",
    expect: "deny",
    rule: "GH-RUN-001",
    manifest: pod("run-writable-rootfs-weak-justification", {
      container: sc({ readOnlyRootFilesystem: false }),
      annotations: { "govhost.io/writable-rootfs-justification": "no" },
    }),
  },
  {
    name: "net-nodeport",
    alsoRefusedBy: "tenant-quota",
    expect: "deny",
    rule: "GH-NET-001",
    manifest: service("net-nodeport", { type: "NodePort" }),
  },
  {
    name: "net-loadbalancer",
    alsoRefusedBy: "tenant-quota",
    expect: "deny",
    rule: "GH-NET-001",
    manifest: service("net-loadbalancer", { type: "LoadBalancer" }),
  },
  {
    name: "net-external-ips",
    expect: "deny",
    rule: "GH-NET-001",
    manifest: service("net-external-ips", { externalIPs: ["192.0.2.10"] }),
  },
  {
    name: "net-external-name",
    expect: "deny",
    rule: "GH-NET-001",
    manifest: {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "net-external-name" },
      spec: { type: "ExternalName", externalName: "example.com" },
    },
  },
  {
    name: "net-ingress-foreign-host",
    expect: "deny",
    rule: "GH-NET-002",
    manifest: ingress("net-ingress-foreign-host", "www.other-dept.gov.example", true),
  },
  {
    name: "net-ingress-lookalike-host",
    expect: "deny",
    rule: "GH-NET-002",
    manifest: ingress("net-ingress-lookalike-host", "evilcorpus.gov.example", true),
  },
  {
    name: "net-ingress-api-route",
    expect: "allow",
    manifest: gatewayRoute("net-ingress-api-route", `/${corpusNamespace}/records-api`),
  },
  {
    name: "net-ingress-api-route-foreign-path",
    expect: "deny",
    rule: "GH-NET-002",
    manifest: gatewayRoute("net-ingress-api-route-foreign-path", "/other-dept-prod/records-api"),
  },
  {
    name: "net-ingress-no-host",
    expect: "deny",
    rule: "GH-NET-002",
    manifest: {
      ...gatewayRoute("net-ingress-no-host", `/${corpusNamespace}/records-api`),
      metadata: { name: "net-ingress-no-host" },
    },
  },
  {
    name: "net-ingress-no-tls",
    expect: "deny",
    rule: "GH-NET-002",
    manifest: ingress("net-ingress-no-tls", "apply.corpus.gov.example", false),
  },
  {
    name: "net-policy-inside-department",
    expect: "allow",
    manifest: networkPolicy("net-policy-inside-department", {
      policyTypes: ["Ingress", "Egress"],
      ingress: [
        {
          from: [{ namespaceSelector: ownDepartment, podSelector: { matchLabels: { app: "portal" } } }],
          ports: [{ protocol: "TCP", port: 8080 }],
        },
      ],
      egress: [{ to: [{ podSelector: { matchLabels: { app: "db" } } }] }],
    }),
  },
  {
    name: "net-policy-foreign-department",
    expect: "deny",
    rule: "GH-NET-003",
    manifest: networkPolicy("net-policy-foreign-department", {
      policyTypes: ["Ingress"],
      ingress: [
        { from: [{ namespaceSelector: { matchLabels: { "govhost.io/department": "another-dept" } } }] },
      ],
    }),
  },
  {
    name: "net-policy-any-namespace",
    expect: "deny",
    rule: "GH-NET-003",
    manifest: networkPolicy("net-policy-any-namespace", {
      policyTypes: ["Egress"],
      egress: [{ to: [{ namespaceSelector: {} }] }],
    }),
  },
  {
    name: "net-policy-rule-without-peers",
    expect: "deny",
    rule: "GH-NET-003",
    manifest: networkPolicy("net-policy-rule-without-peers", {
      policyTypes: ["Ingress"],
      ingress: [{ ports: [{ protocol: "TCP", port: 8080 }] }],
    }),
  },
  {
    name: "net-policy-internet-egress",
    expect: "deny",
    rule: "GH-NET-003",
    manifest: networkPolicy("net-policy-internet-egress", {
      policyTypes: ["Egress"],
      egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }] }],
    }),
  },
  {
    name: "data-missing-classification",
    expect: "deny",
    rule: "GH-DATA-001",
    manifest: pod("data-missing-classification", { labels: { "govhost.io/data-classification": undefined } }),
  },
  {
    name: "data-unknown-classification",
    expect: "deny",
    rule: "GH-DATA-001",
    manifest: pod("data-unknown-classification", { labels: { "govhost.io/data-classification": "SECRET" } }),
  },
  {
    name: "data-above-ceiling",
    expect: "deny",
    rule: "GH-DATA-001",
    manifest: deployment("data-above-ceiling", {
      labels: { "govhost.io/data-classification": "CONFIDENTIAL" },
    }),
  },
  {
    name: "meta-forged-department",
    expect: "deny",
    rule: "GH-META-001",
    manifest: pod("meta-forged-department", { labels: { "govhost.io/department": "another-dept" } }),
  },
  {
    name: "meta-forged-managed-by",
    expect: "deny",
    rule: "GH-META-001",
    manifest: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "meta-forged-managed-by", labels: { "app.kubernetes.io/managed-by": "govhost" } },
    },
  },
  {
    // Pods made from the template would carry it (their creators are platform writers).
    name: "meta-forged-template-label",
    expect: "deny",
    rule: "GH-META-001",
    manifest: deployment("meta-forged-template-label", { labels: { "govhost.io/eservice": "visa-status" } }),
  },
  {
    // The Job the CronJob controller creates carries the Job template's metadata.
    name: "meta-forged-job-template-label",
    expect: "deny",
    rule: "GH-META-001",
    manifest: {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "meta-forged-job-template-label" },
      spec: {
        schedule: "0 3 * * *",
        jobTemplate: {
          metadata: { labels: { "govhost.io/department": "another-dept" } },
          spec: { template: template({ spec: { restartPolicy: "OnFailure" } }) },
        },
      },
    },
  },
  {
    name: "meta-forged-template-annotation",
    expect: "deny",
    rule: "GH-META-001",
    manifest: {
      ...deployment("meta-forged-template-annotation"),
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "web" } },
        template: {
          ...template(),
          metadata: { labels: podLabels, annotations: { "govhost.io/accessibility-scan": "passed" } },
        },
      },
    },
  },
  ...(
    [
      ["rbac-bind-all-authenticated", { kind: "Group", name: "system:authenticated" }],
      ["rbac-bind-foreign-group", { kind: "Group", name: "another-dept-admins" }],
      ["rbac-bind-user", { kind: "User", name: "mallory" }],
      ["rbac-bind-foreign-sa", { kind: "ServiceAccount", name: "default", namespace: "kube-system" }],
      // `corpus-cd-prod` is not the corpus department's (environment names have no hyphen).
      ["rbac-bind-lookalike-sa", { kind: "ServiceAccount", name: "app", namespace: "corpus-cd-prod" }],
    ] as const
  ).map(
    ([name, subject]): CorpusCase => ({
      name,
      expect: "deny",
      rule: "GH-RBAC-001",
      manifest: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
        subjects: [
          {
            ...subject,
            ...(subject.kind === "ServiceAccount" ? {} : { apiGroup: "rbac.authorization.k8s.io" }),
          },
        ],
      },
    }),
  ),
  {
    name: "meta-exemption-annotation",
    expect: "deny",
    rule: "GH-META-001",
    manifest: service("meta-exemption-annotation", {}, { annotations: { "govhost.io/exempt": "true" } }),
  },
  {
    name: "meta-forged-scan-result",
    expect: "deny",
    rule: "GH-META-001",
    manifest: {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "meta-forged-scan-result", labels: { "scan.govhost.io/accessibility": "passed" } },
    },
  },
];

// Every Pod Security control again, as a Deployment's pod template: GH-POD-001 refuses it at apply time
// (Pod Security Admission itself only warns about templates).
corpus.push(
  ...corpus
    .filter((c) => c.rule?.startsWith("psa:") && c.manifest.kind === "Pod")
    .map((c): CorpusCase => {
      const name = `tpl-${c.name}`;
      const { labels, annotations } = c.manifest.metadata as { labels?: Json; annotations?: Json };
      return {
        name,
        expect: "deny",
        rule: "GH-POD-001",
        manifest: {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: "web" } },
            template: {
              metadata: { labels, ...(annotations ? { annotations } : {}) },
              spec: c.manifest.spec,
            },
          },
        },
      };
    }),
);

/** Removes keys whose value is undefined (used above to delete a field from the base manifest). */
function prune(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(prune);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Json)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, prune(v)]),
    );
  }
  return value;
}

/**
 * The corpus with the manifests placed in `namespace` under a name prefix (so runs do not collide), naming
 * the namespace's department (`<department>-<environment>`) where they name their own.
 */
export function corpusIn(namespace: string, prefix = ""): CorpusCase[] {
  const department = namespace.replace(/-[^-]+$/, "");
  return corpus.map((c) => {
    const manifest = JSON.parse(
      JSON.stringify(prune(c.manifest))
        .replaceAll(
          `"govhost.io/department":"${corpusDepartmentName}"`,
          `"govhost.io/department":"${department}"`,
        )
        .replaceAll(`"path":"/${corpusNamespace}/`, `"path":"/${namespace}/`),
    ) as Manifest;
    manifest.metadata = { ...manifest.metadata, name: `${prefix}${c.name}`, namespace };
    return { ...c, manifest };
  });
}

import { platformOwned } from "../../policies/keys.ts";
import { type Department, roleGroupsOf } from "../api/department.ts";
import { childLabels, controllerReference, namespaceName } from "../api/group.ts";

export { childLabels, namespaceName };

import type { KubeObject } from "../../lib/kube/client.ts";
import { controllerIdentity, controllerTenantRole, type TenantRole, tenantRoles } from "../api/rbac.ts";
import type { TenancySettings } from "./settings.ts";

// Desired children of a Department as a pure function of its spec (and the platform settings).
// The ResourceQuota is not here: its limits depend on observed usage (see quota.ts).

export const childNames = {
  quota: "govhost-tenant-quota",
  limitRange: "govhost-defaults",
  denyAll: "govhost-default-deny",
  sameNamespace: "govhost-allow-same-namespace",
  dns: "govhost-allow-dns",
  ingressController: "govhost-allow-ingress-controller",
  roleBinding: (role: TenantRole) => `govhost-${role}s`,
  controllerBinding: "govhost-controller",
} as const;

export function ownerReference(dept: Department) {
  return controllerReference("Department", dept);
}

export function renderNamespace(
  dept: Department,
  environment: string,
  settings: TenancySettings,
): KubeObject {
  const department = dept.metadata.name as string;
  const pss = (mode: string) => ({
    [`pod-security.kubernetes.io/${mode}`]: "restricted",
    [`pod-security.kubernetes.io/${mode}-version`]: settings.podSecurityVersion,
  });
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: namespaceName(department, environment),
      labels: { ...childLabels(department, environment), ...pss("enforce"), ...pss("audit"), ...pss("warn") },
      // Read by the baseline admission policies (namespaceObject); tenants cannot edit namespaces.
      annotations: {
        "govhost.io/display-name": `${dept.spec.displayName.en} (${environment})`,
        [platformOwned.maxDataClassification]: dept.spec.maxDataClassification,
        [platformOwned.domains]: (dept.spec.domains ?? []).join(","),
        [platformOwned.groups]: roleGroupsOf(dept.spec.groups).join(","),
        [platformOwned.adminGroups]: [...dept.spec.groups.admins].sort().join(","),
      },
      ownerReferences: [ownerReference(dept)],
    },
  };
}

function namespaced(dept: Department, environment: string, apiVersionKind: [string, string], name: string) {
  const department = dept.metadata.name as string;
  return {
    apiVersion: apiVersionKind[0],
    kind: apiVersionKind[1],
    metadata: {
      name,
      namespace: namespaceName(department, environment),
      labels: childLabels(department, environment),
      ownerReferences: [ownerReference(dept)],
    },
  };
}

const networkPolicy: [string, string] = ["networking.k8s.io/v1", "NetworkPolicy"];

function networkPolicies(dept: Department, environment: string, settings: TenancySettings): KubeObject[] {
  const byName = (ns: string) => ({
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } },
  });
  return [
    {
      ...namespaced(dept, environment, networkPolicy, childNames.denyAll),
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    },
    {
      ...namespaced(dept, environment, networkPolicy, childNames.sameNamespace),
      spec: {
        podSelector: {},
        policyTypes: ["Ingress", "Egress"],
        ingress: [{ from: [{ podSelector: {} }] }],
        egress: [{ to: [{ podSelector: {} }] }],
      },
    },
    {
      ...namespaced(dept, environment, networkPolicy, childNames.dns),
      spec: {
        podSelector: {},
        policyTypes: ["Egress"],
        egress: [
          {
            to: [
              { ...byName("kube-system"), podSelector: { matchLabels: { "k8s-app": "kube-dns" } } },
              ...settings.clusterDnsCidrs.map((cidr) => ({ ipBlock: { cidr } })),
            ],
            ports: [
              { protocol: "UDP", port: 53 },
              { protocol: "TCP", port: 53 },
            ],
          },
        ],
      },
    },
    {
      ...namespaced(dept, environment, networkPolicy, childNames.ingressController),
      spec: {
        podSelector: {},
        policyTypes: ["Ingress"],
        ingress: [{ from: [byName(settings.ingressControllerNamespace)] }],
      },
    },
  ];
}

function limitRange(dept: Department, environment: string, settings: TenancySettings): KubeObject {
  const { defaultRequest, default: defaults, max } = settings.containerDefaults;
  return {
    ...namespaced(dept, environment, ["v1", "LimitRange"], childNames.limitRange),
    spec: { limits: [{ type: "Container", defaultRequest, default: defaults, max }] },
  };
}

function roleBindings(dept: Department, environment: string): { keep: KubeObject[]; remove: string[] } {
  const keep: KubeObject[] = [];
  const remove: string[] = [];
  for (const role of ["admin", "developer", "viewer"] as const) {
    const groups = dept.spec.groups[`${role}s`] ?? [];
    const name = childNames.roleBinding(role);
    if (groups.length === 0) {
      remove.push(name);
      continue;
    }
    keep.push({
      ...namespaced(dept, environment, ["rbac.authorization.k8s.io/v1", "RoleBinding"], name),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: tenantRoles[role] },
      subjects: [...groups]
        .sort()
        .map((group) => ({ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: group })),
    });
  }
  keep.push({
    ...namespaced(
      dept,
      environment,
      ["rbac.authorization.k8s.io/v1", "RoleBinding"],
      childNames.controllerBinding,
    ),
    roleRef: {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: controllerTenantRole.metadata.name,
    },
    subjects: [
      {
        kind: "ServiceAccount",
        name: controllerIdentity.serviceAccount,
        namespace: controllerIdentity.namespace,
      },
    ],
  });
  return { keep, remove };
}

export interface EnvironmentChildren {
  environment: string;
  namespace: KubeObject;
  /** Applied in this order after the namespace exists. */
  objects: KubeObject[];
  /** RoleBindings that must not exist (their group list is empty). */
  removeRoleBindings: string[];
}

/** Everything a Department should own, per environment. */
export function renderTenant(dept: Department, settings: TenancySettings): EnvironmentChildren[] {
  return dept.spec.environments.map((environment) => {
    const bindings = roleBindings(dept, environment);
    return {
      environment,
      namespace: renderNamespace(dept, environment, settings),
      objects: [
        limitRange(dept, environment, settings),
        ...networkPolicies(dept, environment, settings),
        ...bindings.keep,
      ],
      removeRoleBindings: bindings.remove,
    };
  });
}

/** The ResourceQuota for one environment with the given hard limits (strings). */
export function renderQuota(dept: Department, environment: string, hard: Record<string, string>): KubeObject {
  return {
    ...namespaced(dept, environment, ["v1", "ResourceQuota"], childNames.quota),
    // NodePort and LoadBalancer Services bypass the platform ingress: none, ever, in tenant namespaces.
    spec: { hard: { ...hard, "services.nodeports": "0", "services.loadbalancers": "0" } },
  };
}

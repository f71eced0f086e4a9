import type { KubeClient } from "../../../lib/kube/client.ts";
import { nodeNetwork } from "./network.ts";
import { networkPolicyRbac } from "./network-policy.ts";

/**
 * What the node needs in the API: who may call kubelets, CoreDNS's read access, the DNS Service (and
 * kube-router's read access, network-policy.ts).
 */
const objects: { path: string; body: Record<string, unknown> }[] = [
  {
    // The API server's kubelet client certificate (logs, exec, port-forward, node proxy).
    path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/govhost:apiserver-kubelet-client",
    body: {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "govhost:apiserver-kubelet-client" },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: "system:kubelet-api-admin",
      },
      subjects: [
        { apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "kube-apiserver-kubelet-client" },
      ],
    },
  },
  {
    // CoreDNS's kubernetes plugin (the same rules as upstream's system:coredns).
    path: "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:coredns",
    body: {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "system:coredns" },
      rules: [
        {
          apiGroups: [""],
          resources: ["endpoints", "services", "pods", "namespaces"],
          verbs: ["list", "watch"],
        },
        { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
      ],
    },
  },
  {
    path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system:coredns",
    body: {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "system:coredns" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:coredns" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "system:coredns" }],
    },
  },
  {
    // The cluster DNS Service, without a selector: its endpoint is CoreDNS on the node address (dns.ts).
    path: "/api/v1/namespaces/kube-system/services/kube-dns",
    body: {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "kube-dns", namespace: "kube-system", labels: { "k8s-app": "kube-dns" } },
      spec: {
        clusterIP: nodeNetwork.clusterDnsIp,
        ports: [
          { name: "dns", port: 53, protocol: "UDP", targetPort: 53 },
          { name: "dns-tcp", port: 53, protocol: "TCP", targetPort: 53 },
        ],
      },
    },
  },
  {
    path: "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices/kube-dns-node",
    body: {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: "kube-dns-node",
        namespace: "kube-system",
        labels: {
          "kubernetes.io/service-name": "kube-dns",
          "endpointslice.kubernetes.io/managed-by": "govhost",
        },
      },
      addressType: "IPv4",
      endpoints: [{ addresses: [nodeNetwork.nodeIp], conditions: { ready: true } }],
      ports: [
        { name: "dns", port: 53, protocol: "UDP" },
        { name: "dns-tcp", port: 53, protocol: "TCP" },
      ],
    },
  },
];

const nodeObjects = [...objects, ...networkPolicyRbac];

/** Applies the node's cluster objects (server-side apply, field manager govhost-node). */
export async function bootstrapNodeObjects(admin: KubeClient): Promise<void> {
  for (const { path, body } of nodeObjects) {
    await admin.call("PATCH", path, {
      body,
      contentType: "application/apply-patch+yaml",
      query: { fieldManager: "govhost-node", force: true },
    });
  }
}

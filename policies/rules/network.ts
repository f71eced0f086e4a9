import { apiGateway, entryPointsAnnotation } from "../../controller/api/api-gateway.ts";
import { platformOwned } from "../keys.ts";
import { departmentRemovers, managedByGovhost, rw } from "./shared.ts";
import type { BaselineRule } from "./types.ts";

// Network: what tenants may not open up.

/** CEL for one NetworkPolicy peer `p`: only the department's own namespaces, or an allowlisted ipBlock. */
const peerInsideDepartment = `(!has(p.namespaceSelector) || (has(p.namespaceSelector.matchLabels) && '${platformOwned.department}' in p.namespaceSelector.matchLabels && p.namespaceSelector.matchLabels['${platformOwned.department}'] == variables.department)) && (!has(p.ipBlock) || p.ipBlock.cidr in variables.egressAllowlist)`;

export const networkRules: BaselineRule[] = [
  {
    id: "GH-NET-001",
    name: "cluster-ip-services-only",
    title: "Services are ClusterIP only: no NodePort, LoadBalancer, ExternalName or externalIPs",
    rationale:
      "Public traffic must pass the platform ingress, where TLS, hostnames and the accessibility gate apply.",
    remediation: "Use a ClusterIP Service and expose it through an EService with exposure: public.",
    category: "network",
    severity: "high",
    scope: "tenant-namespaces",
    match: [{ apiGroups: [""], apiVersions: ["v1"], resources: ["services"], operations: rw }],
    validations: [
      {
        expression: "!has(object.spec.type) || object.spec.type == 'ClusterIP'",
        message: "GH-NET-001: only ClusterIP Services are allowed",
        messageExpression:
          "'GH-NET-001: Service type ' + object.spec.type + ' is not allowed; use ClusterIP and expose the service through an EService (exposure: public)'",
      },
      {
        expression: "!has(object.spec.externalIPs) || size(object.spec.externalIPs) == 0",
        message: "GH-NET-001: externalIPs are not allowed; expose the service through an EService",
      },
    ],
    background: true,
  },
  {
    id: "GH-NET-002",
    name: "ingress-hosts-and-tls",
    title: "Ingress hosts are under the department's domains and all served over TLS",
    rationale: "A department may only publish under its own names, and every government site must use HTTPS.",
    remediation: "Use a host under one of the department's domains and list every host in spec.tls.",
    category: "network",
    severity: "high",
    scope: "tenant-namespaces",
    match: [
      { apiGroups: ["networking.k8s.io"], apiVersions: ["v1"], resources: ["ingresses"], operations: rw },
    ],
    variables: [
      {
        name: "domains",
        expression: `has(namespaceObject.metadata.annotations) && '${platformOwned.domains}' in namespaceObject.metadata.annotations ? namespaceObject.metadata.annotations['${platformOwned.domains}'].split(',') : []`,
      },
      { name: "rules", expression: "has(object.spec.rules) ? object.spec.rules : []" },
      {
        // A route at the API gateway has no host (it is not public); it may only serve its own namespace's
        // paths, /<namespace>/..., so no route can take another department's API calls.
        name: "gatewayOnly",
        expression: `has(object.metadata.annotations) && '${entryPointsAnnotation}' in object.metadata.annotations && object.metadata.annotations['${entryPointsAnnotation}'] == '${apiGateway.entryPoint}'`,
      },
      {
        name: "foreignHosts",
        expression:
          "variables.rules.filter(r, has(r.host) ? !variables.domains.exists(d, d != '' && (r.host == d || r.host.endsWith('.' + d))) : !variables.gatewayOnly)",
      },
      {
        name: "foreignGatewayPaths",
        expression:
          "variables.gatewayOnly ? variables.rules.filter(r, !has(r.http) || r.http.paths.exists(p, !has(p.path) || !p.path.startsWith('/' + namespaceObject.metadata.name + '/'))) : []",
      },
      {
        name: "plainHosts",
        expression:
          "variables.rules.filter(r, has(r.host) && !(has(object.spec.tls) && object.spec.tls.exists(t, has(t.hosts) && r.host in t.hosts)))",
      },
    ],
    validations: [
      {
        expression: "size(variables.foreignHosts) == 0",
        message: "GH-NET-002: ingress hosts must be under the department's domains",
        messageExpression:
          "'GH-NET-002: ingress hosts must be under the department domains (' + variables.domains.join(', ') + '); not allowed: ' + variables.foreignHosts.map(r, has(r.host) ? r.host : '(no host)').join(', ')",
      },
      {
        expression: "size(variables.foreignGatewayPaths) == 0",
        message: "GH-NET-002: an API gateway route may only serve paths under /<its own namespace>/",
      },
      {
        expression: "size(variables.plainHosts) == 0",
        message: "GH-NET-002: every ingress host must be listed in spec.tls",
        messageExpression:
          "'GH-NET-002: every ingress host must be served over TLS; add to spec.tls: ' + variables.plainHosts.map(r, r.host).join(', ')",
      },
    ],
    background: true,
  },
  {
    id: "GH-NET-003",
    name: "network-policies-inside-department",
    title:
      "Department NetworkPolicies only narrow traffic inside the department; the platform's own policies are untouchable",
    rationale:
      "Every department namespace is default-deny; only the platform opens paths between departments (API grants) or to outside addresses (the operators' egress allowlist). A department's own policy may let its environments talk to each other, never to another department or the internet.",
    remediation:
      "Select peers by the department's own label (namespaceSelector.matchLabels govhost.io/department: <your department>) or by pods in the same namespace, give every rule its peers, and ask the platform operators to add an outside address to the egress allowlist.",
    category: "network",
    severity: "high",
    scope: "tenant-namespaces",
    match: [
      {
        apiGroups: ["networking.k8s.io"],
        apiVersions: ["v1"],
        resources: ["networkpolicies"],
        operations: ["CREATE", "UPDATE", "DELETE"],
      },
    ],
    // The controller renders the platform's policies; the namespace controller and the garbage collector
    // delete them with their department.
    exemptUsers: departmentRemovers,
    variables: [
      {
        name: "department",
        expression: `has(namespaceObject.metadata.labels) && '${platformOwned.department}' in namespaceObject.metadata.labels ? namespaceObject.metadata.labels['${platformOwned.department}'] : ''`,
      },
      {
        name: "egressAllowlist",
        expression:
          "has(params.data.egressAllowlist) && params.data.egressAllowlist != '' ? params.data.egressAllowlist.split(',') : []",
      },
      {
        name: "isOperator",
        expression:
          "has(request.userInfo.groups) && request.userInfo.groups.exists(g, g == 'system:masters' || (has(params.data.platformOperators) && g != '' && g in params.data.platformOperators.split(',')))",
      },
      {
        name: "platformPolicy",
        expression: `(${managedByGovhost("oldObject")}) || (${managedByGovhost("object")})`,
      },
      {
        name: "ingressRules",
        expression: "object != null && has(object.spec.ingress) ? object.spec.ingress : []",
      },
      {
        name: "egressRules",
        expression: "object != null && has(object.spec.egress) ? object.spec.egress : []",
      },
      {
        name: "openRules",
        expression:
          "size(variables.ingressRules.filter(r, !has(r.from) || size(r.from) == 0)) + size(variables.egressRules.filter(r, !has(r.to) || size(r.to) == 0))",
      },
      {
        name: "peersInside",
        expression: `variables.ingressRules.all(r, !has(r.from) || r.from.all(p, ${peerInsideDepartment})) && variables.egressRules.all(r, !has(r.to) || r.to.all(p, ${peerInsideDepartment}))`,
      },
    ],
    validations: [
      {
        expression: "!variables.platformPolicy || variables.isOperator",
        message: "GH-NET-003: the platform's own NetworkPolicies are changed only by the platform",
        messageExpression:
          "'GH-NET-003: NetworkPolicy ' + (object != null ? object.metadata.name : oldObject.metadata.name) + ' belongs to the platform (app.kubernetes.io/managed-by: govhost); only platform operators may change or delete it. Write your own policy under another name without that label.'",
      },
      {
        expression: "variables.openRules == 0",
        message: "GH-NET-003: every ingress rule needs from peers and every egress rule needs to peers",
        messageExpression:
          "'GH-NET-003: NetworkPolicy ' + object.metadata.name + ' has ' + string(variables.openRules) + ' rule(s) without peers, which would allow any source or destination; list the peers (from/to) of every rule'",
      },
      {
        expression: "variables.peersInside",
        message:
          "GH-NET-003: peers must be the department's own namespaces or pods, or an ipBlock on the egress allowlist",
        messageExpression:
          "'GH-NET-003: NetworkPolicy ' + object.metadata.name + ' reaches outside department ' + variables.department + '; a namespaceSelector must have matchLabels govhost.io/department=' + variables.department + ' and an ipBlock cidr must be one of the egress allowlist (' + (size(variables.egressAllowlist) == 0 ? 'empty: ask the platform operators' : variables.egressAllowlist.join(', ')) + ')'",
      },
    ],
    background: false,
  },
];

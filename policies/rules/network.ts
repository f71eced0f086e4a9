import { platformOwned } from "../keys.ts";
import { rw } from "./shared.ts";
import type { BaselineRule } from "./types.ts";

// Network: what tenants may not open up.

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
        name: "foreignHosts",
        expression:
          "variables.rules.filter(r, !has(r.host) || !variables.domains.exists(d, d != '' && (r.host == d || r.host.endsWith('.' + d))))",
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
        expression: "size(variables.plainHosts) == 0",
        message: "GH-NET-002: every ingress host must be listed in spec.tls",
        messageExpression:
          "'GH-NET-002: every ingress host must be served over TLS; add to spec.tls: ' + variables.plainHosts.map(r, r.host).join(', ')",
      },
    ],
    background: true,
  },
];

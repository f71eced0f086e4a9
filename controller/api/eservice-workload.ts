import { platformOwned, tenantDeclared } from "../../policies/keys.ts";
import { apiGateway } from "./api-gateway.ts";
import type { EService } from "./eservice.ts";
import { childLabels, controllerReference } from "./group.ts";

// The workload an EService spec becomes: one pure function shared by the controller (which applies it) and
// the portal API (which asks admission, dry-run, whether it would be admitted before storing the EService).

/** Where an EService runs: its department, environment and the department's domains. */
export interface Tenant {
  department: string;
  environment: string;
  domains: string[];
}

export function selectorLabels(es: EService): Record<string, string> {
  return { [platformOwned.eservice]: es.metadata.name as string };
}

export function childMetadata(es: EService, tenant: Tenant, name: string) {
  return {
    name,
    namespace: es.metadata.namespace,
    labels: {
      ...selectorLabels(es),
      "app.kubernetes.io/name": es.metadata.name as string,
      ...childLabels(tenant.department, tenant.environment),
    },
    ownerReferences: [controllerReference("EService", es)],
  };
}

const gatewayTokenVolume = "api-gateway-token";
/** Where an e-service's pods find their token for the API gateway (file `token`). */
export const gatewayTokenDir = "/var/run/secrets/govhost.io/api-gateway";

/** The Deployment of an EService. */
export function eserviceWorkload(es: EService, tenant: Tenant) {
  const name = es.metadata.name as string;
  const meta = childMetadata(es, tenant, name);
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta,
    spec: {
      replicas: es.spec.replicas,
      revisionHistoryLimit: 5,
      selector: { matchLabels: selectorLabels(es) },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: { ...meta.labels, [tenantDeclared.dataClassification]: es.spec.dataClassification },
        },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "web",
              image: es.spec.image,
              imagePullPolicy: "Always",
              ports: [{ name: "http", containerPort: es.spec.port, protocol: "TCP" }],
              env: es.spec.env,
              resources: es.spec.resources,
              readinessProbe: {
                httpGet: { path: es.spec.accessibility.paths[0] ?? "/", port: "http" },
                periodSeconds: 10,
              },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ["ALL"] },
              },
              volumeMounts: [
                { name: "tmp", mountPath: "/tmp" },
                { name: gatewayTokenVolume, mountPath: gatewayTokenDir, readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
            {
              // The e-service's identity at the API gateway (docs/api-exchange.md): a token only the
              // gateway accepts, bound to the pod, rotated by the kubelet. The pod's user comes from the
              // image, so the file is made readable to it.
              name: gatewayTokenVolume,
              projected: {
                defaultMode: 0o444,
                sources: [
                  {
                    serviceAccountToken: {
                      audience: apiGateway.audience,
                      expirationSeconds: 3600,
                      path: "token",
                    },
                  },
                ],
              },
            },
          ],
        },
      },
    },
  };
}

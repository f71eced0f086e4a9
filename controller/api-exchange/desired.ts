import type { KubeObject } from "../../lib/kube/client.ts";
import type { ApiExport, ApiGrant, ApiGrantDecision, ApiGrantStatus } from "../api/api-exchange.ts";
import {
  apiGateway,
  entryPointsAnnotation,
  gatewayPath,
  gatewayUrl,
  middlewaresAnnotation,
  routeMiddlewares,
} from "../api/api-gateway.ts";
import type { ApiGrantCondition } from "../api/conditions.ts";
import type { EService } from "../api/eservice.ts";
import type { Tenant } from "../api/eservice-workload.ts";
import { childLabels, controllerReference, namespaceName } from "../api/group.ts";
import { prefixRule } from "../api/ingress-rule.ts";
import { servicePort } from "../eservice/desired.ts";

// What a grant should open, as a pure function of the grant, the export it asks for, the provider's
// e-service and the provider admin's decision. Calls go through the API gateway (controller/api/api-gateway.ts),
// which checks and counts each one, so an active grant opens the consumer environment's egress to the
// gateway (one NetworkPolicy) and routes the export at the gateway (one Ingress, shared by the export's
// grants). The gateway already reaches every e-service's pods, as the ingress controller; no path between
// the two departments' pods is ever opened, so a call cannot go around the count.

/** Labels on every NetworkPolicy a grant opens, so the controller finds them again (and cleans up). */
export const grantLabels = {
  consumer: "govhost.io/api-grant-namespace",
  grant: "govhost.io/api-grant",
} as const;

/** Label on the Ingress that routes an export at the gateway. */
const exportLabel = "govhost.io/api-export";

/** The longest a grant may run, from its creation. */
export const maxGrantDays = 366;

export interface GrantInputs {
  grant: ApiGrant & KubeObject;
  /** The consumer namespace's department and environment; undefined when not a department namespace. */
  consumer: Tenant | undefined;
  export: (ApiExport & KubeObject) | undefined;
  eservice: (EService & KubeObject) | undefined;
  /** The provider namespace's decisions about this grant. */
  decisions: ApiGrantDecision[];
  /** The ingress controller that serves as the API gateway. */
  gateway: { namespace: string; className: string };
  now: Date;
}

export interface GrantOutcome {
  phase: NonNullable<ApiGrantStatus["phase"]>;
  ready: ApiGrantCondition;
  decidedBy?: string;
  provider?: NonNullable<ApiGrantStatus["provider"]>;
  /** The NetworkPolicies that must exist for this grant (none unless it is active). */
  policies: KubeObject[];
  /** The export's route at the gateway, when the grant is active. */
  route?: KubeObject;
  /** When the grant is active: how long until it expires (to look again then). */
  expiresInMs?: number;
}

const ready = (
  status: ApiGrantCondition["status"],
  reason: ApiGrantCondition["reason"],
  message: string,
): ApiGrantCondition => ({ type: "Ready", status, reason, message });

/** The decision that counts: the newest one made about exactly this grant, as it is now. */
export function currentDecision(grant: ApiGrant, decisions: ApiGrantDecision[], exportName: string) {
  return decisions
    .filter(
      (d) =>
        d.spec.grant.namespace === grant.metadata.namespace &&
        d.spec.grant.name === grant.metadata.name &&
        d.spec.grant.uid === grant.metadata.uid &&
        d.spec.grant.generation === grant.metadata.generation &&
        d.spec.export === exportName,
    )
    .sort((a, b) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? ""))
    .at(-1);
}

export function desiredGrant(inputs: GrantInputs): GrantOutcome {
  const { grant, consumer, eservice, now } = inputs;
  const apiExport = inputs.export;
  const wanted = grant.spec.export;
  const providerNamespace = namespaceName(wanted.department, wanted.environment);
  const stop = (
    phase: GrantOutcome["phase"],
    reason: ApiGrantCondition["reason"],
    message: string,
    decidedBy?: string,
  ): GrantOutcome => ({
    phase,
    ready: ready("False", reason, message),
    policies: [],
    ...(decidedBy ? { decidedBy } : {}),
  });

  if (!consumer)
    return stop(
      "Invalid",
      "NotATenantNamespace",
      `${grant.metadata.namespace} is not a department namespace`,
    );
  const expiresAt = Date.parse(grant.spec.expiresAt);
  const created = Date.parse(grant.metadata.creationTimestamp ?? now.toISOString());
  if (!Number.isFinite(expiresAt) || expiresAt - created > maxGrantDays * 86_400_000)
    return stop(
      "Invalid",
      "ExpiryTooFar",
      `expiresAt must be within ${maxGrantDays} days of the request; ask again before it ends`,
    );
  if (!apiExport)
    return stop(
      "Invalid",
      "ExportNotFound",
      `There is no ApiExport ${wanted.name} in ${providerNamespace}; see the API catalogue`,
    );
  const { consumers } = apiExport.spec;
  if (!consumers.all && !consumers.departments.includes(consumer.department))
    return stop(
      "Refused",
      "NotAllowed",
      `ApiExport ${wanted.name} is not offered to department ${consumer.department}`,
    );
  if (grant.spec.dataClassification !== apiExport.spec.dataClassification)
    return stop(
      "Invalid",
      "ClassificationMismatch",
      `ApiExport ${wanted.name} returns data classified ${apiExport.spec.dataClassification}; state that classification in spec.dataClassification`,
    );
  if (expiresAt <= now.getTime())
    return stop("Expired", "Expired", `Access ended at ${grant.spec.expiresAt}; ask again for more`);
  const decision = currentDecision(grant, inputs.decisions, wanted.name);
  if (!decision)
    return stop(
      "Pending",
      "AwaitingDecision",
      `Waiting for an admin of department ${wanted.department} to decide`,
    );
  if (decision.spec.decision === "refused")
    return stop(
      "Refused",
      "Refused",
      `Refused by ${decision.spec.decidedBy}${decision.spec.reason ? `: ${decision.spec.reason}` : ""}`,
      decision.spec.decidedBy,
    );
  if (!eservice)
    return stop(
      "Invalid",
      "EServiceNotFound",
      `The e-service ${apiExport.spec.eservice} behind ApiExport ${wanted.name} does not exist`,
      decision.spec.decidedBy,
    );

  const consumerNamespace = grant.metadata.namespace as string;
  const grantName = grant.metadata.name as string;
  const exportName = apiExport.metadata.name as string;
  const route: KubeObject = {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: {
      name: `govhost-api-${exportName}`,
      namespace: providerNamespace,
      labels: { ...childLabels(wanted.department, wanted.environment), [exportLabel]: exportName },
      annotations: {
        [entryPointsAnnotation]: apiGateway.entryPoint,
        [middlewaresAnnotation]: routeMiddlewares,
      },
      ownerReferences: [controllerReference("ApiExport", apiExport)],
    },
    spec: {
      ingressClassName: inputs.gateway.className,
      rules: [
        prefixRule({
          path: gatewayPath(providerNamespace, exportName),
          service: apiExport.spec.eservice,
          port: servicePort,
        }),
      ],
    },
  };
  const toGateway: KubeObject = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: {
      name: `govhost-api-to-${grantName}`.slice(0, 253),
      namespace: consumerNamespace,
      labels: {
        ...childLabels(consumer.department, consumer.environment),
        [grantLabels.consumer]: consumerNamespace,
        [grantLabels.grant]: grantName,
      },
      ownerReferences: [controllerReference("ApiGrant", grant)],
    },
    spec: {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [
        {
          to: [
            {
              namespaceSelector: {
                matchLabels: { "kubernetes.io/metadata.name": inputs.gateway.namespace },
              },
            },
          ],
          ports: [{ protocol: "TCP", port: apiGateway.containerPort }],
        },
      ],
    },
  };
  const url = gatewayUrl(inputs.gateway.namespace, providerNamespace, exportName);
  return {
    phase: "Active",
    ready: ready(
      "True",
      "Active",
      `Approved by ${decision.spec.decidedBy}; ${consumerNamespace} may call ${url} until ${grant.spec.expiresAt}`,
    ),
    decidedBy: decision.spec.decidedBy,
    provider: {
      namespace: providerNamespace,
      eservice: apiExport.spec.eservice,
      port: eservice.spec.port,
      url,
    },
    policies: [toGateway],
    route,
    expiresInMs: expiresAt - now.getTime(),
  };
}

import { parse } from "@marcbachmann/cel-js";
import type { BaselineRule } from "./baseline.ts";

// Evaluates baseline rules in-process with the same CEL the API server runs, for policy reports on stored
// objects and for the portal API's dry-run feedback. Integration tests run the corpus through both the API
// server and this evaluator, so they must agree.

export interface EvaluationInput {
  /** null for a DELETE, as the API server passes it. */
  object: Record<string, unknown> | null;
  oldObject?: Record<string, unknown> | null;
  namespaceObject?: Record<string, unknown> | null;
  params: { data: Record<string, string> };
  request?: { operation: "CREATE" | "UPDATE" | "DELETE"; userInfo: { username: string; groups?: string[] } };
}

export interface RuleOutcome {
  ruleId: string;
  passed: boolean;
  messages: string[];
}

type Compiled = (context: Record<string, unknown>) => unknown;
const cache = new Map<string, Compiled>();

function compiled(expression: string): Compiled {
  let fn = cache.get(expression);
  if (!fn) {
    fn = parse(expression) as unknown as Compiled;
    cache.set(expression, fn);
  }
  return fn;
}

const pluralOf: Record<string, string> = {
  Pod: "pods",
  Deployment: "deployments",
  StatefulSet: "statefulsets",
  ReplicaSet: "replicasets",
  DaemonSet: "daemonsets",
  Job: "jobs",
  CronJob: "cronjobs",
  Service: "services",
  ConfigMap: "configmaps",
  Secret: "secrets",
  PersistentVolumeClaim: "persistentvolumeclaims",
  ServiceAccount: "serviceaccounts",
  Ingress: "ingresses",
  NetworkPolicy: "networkpolicies",
  Role: "roles",
  RoleBinding: "rolebindings",
  PodDisruptionBudget: "poddisruptionbudgets",
  EService: "eservices",
  SharedServiceInstance: "sharedserviceinstances",
  ChargebackStatement: "chargebackstatements",
  ApiGrant: "apigrants",
  ApiGrantDecision: "apigrantdecisions",
};

/** Whether `rule` matches the object's kind and API group (as its matchConstraints would). */
export function ruleApplies(rule: BaselineRule, object: { apiVersion?: unknown; kind?: unknown }): boolean {
  const plural = pluralOf[String(object.kind)];
  const apiVersion = String(object.apiVersion ?? "");
  const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
  return rule.match.some(
    (m) => m.apiGroups.includes(group ?? "") && plural !== undefined && m.resources.includes(plural),
  );
}

/** Runs one rule's variables and validations; an expression that errors counts as a failure (failurePolicy Fail). */
export function evaluateRule(rule: BaselineRule, input: EvaluationInput): RuleOutcome {
  const context: Record<string, unknown> = {
    object: input.object,
    oldObject: input.oldObject ?? null,
    namespaceObject: input.namespaceObject ?? null,
    params: input.params,
    request: input.request ?? { operation: "CREATE", userInfo: { username: "", groups: [] } },
  };
  if (input.request && rule.exemptUsers?.includes(input.request.userInfo.username)) {
    return { ruleId: rule.id, passed: true, messages: [] };
  }
  const variables: Record<string, unknown> = {};
  context.variables = variables;
  const messages: string[] = [];
  try {
    for (const variable of rule.variables ?? [])
      variables[variable.name] = compiled(variable.expression)(context);
    for (const validation of rule.validations) {
      if (compiled(validation.expression)(context) === true) continue;
      let message = validation.message;
      if (validation.messageExpression) {
        try {
          const rendered = compiled(validation.messageExpression)(context);
          if (typeof rendered === "string" && rendered) message = rendered;
        } catch {
          // fall back to the static message, as the API server does
        }
      }
      messages.push(message);
    }
  } catch (error) {
    messages.push(
      `${rule.id}: could not be evaluated (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`,
    );
  }
  return { ruleId: rule.id, passed: messages.length === 0, messages };
}

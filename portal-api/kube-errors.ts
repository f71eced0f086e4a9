import { KubeApiError } from "../lib/kube/client.ts";
import { baselineRules } from "../policies/baseline.ts";
import { ProblemError, problems } from "./problem.ts";

/**
 * Turns an API server refusal into problem+json: an admission refusal becomes 422 naming the baseline rule,
 * the field and the remediation; schema errors name the field; RBAC refusals stay 403.
 */
export function problemFromKube(error: unknown, what: string): ProblemError {
  if (!(error instanceof KubeApiError)) throw error;
  const ruleId = /GH-[A-Z0-9]+-\d{3}/.exec(error.message)?.[0];
  const rule = ruleId ? baselineRules.find((r) => r.id === ruleId) : undefined;
  if (rule || /violates PodSecurity|denied request/.test(error.message)) {
    const detail = error.message.replace(/^.*?denied request: /, "");
    return new ProblemError({
      type: "policy-violation",
      title: "Refused by the security baseline",
      status: 422,
      detail,
      ...(ruleId ? { rule: ruleId } : {}),
      ...(rule ? { fix: rule.remediation } : {}),
    });
  }
  if (error.code === 422 || error.code === 400) {
    const field = /(spec(?:\.[\w[\]]+)+)/.exec(error.message)?.[1];
    return new ProblemError({
      type: "invalid-request",
      title: "Invalid request",
      status: 422,
      detail: error.message,
      ...(field ? { field } : {}),
      fix: "Correct the field as the message says; the schema is in /openapi.json",
    });
  }
  if (error.code === 404) return problems.notFound(`${what} does not exist`);
  if (error.code === 409)
    return error.reason === "AlreadyExists"
      ? problems.conflict(`${what} already exists`, "Choose another name, or update the existing one")
      : problems.conflict(`${what} was changed by someone else meanwhile`, "Read it again and retry");
  if (error.code === 403) {
    if (/exceeded quota/.test(error.message))
      return new ProblemError({
        type: "quota-exceeded",
        title: "Department quota exceeded",
        status: 403,
        detail: error.message,
        fix: "Remove something unused, or ask a platform operator to raise the department's quota",
      });
    return problems.forbidden(`The platform refused: ${error.message}`);
  }
  return new ProblemError({
    type: "upstream-error",
    title: "The platform could not complete the request",
    status: 502,
    detail: `The Kubernetes API answered ${error.code} (${error.reason}); retry later`,
  });
}

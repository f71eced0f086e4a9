export interface ResourceRule {
  apiGroups: string[];
  apiVersions: string[];
  resources: string[];
  operations: ("CREATE" | "UPDATE" | "DELETE")[];
}

export interface BaselineRule {
  id: string;
  /** DNS-safe name used for the Kubernetes objects (govhost-<name>). */
  name: string;
  title: string;
  rationale: string;
  remediation: string;
  category:
    | "images"
    | "resources"
    | "runtime"
    | "network"
    | "data"
    | "metadata"
    | "finance"
    | "accessibility"
    | "records"
    | "access";
  severity: "high" | "medium" | "low";
  /** Tenant namespaces only (selected by the platform-owned department label), or cluster-scoped objects. */
  scope: "tenant-namespaces" | "cluster";
  match: ResourceRule[];
  /** Requests this rule does not apply to, by exact identity (the platform's own narrow exemptions). */
  exemptUsers?: string[];
  variables?: { name: string; expression: string }[];
  validations: { expression: string; message: string; messageExpression?: string }[];
  /** Whether the rule can judge a stored object on its own (no oldObject, no request), for policy reports. */
  background: boolean;
  /**
   * The object the rule reads as `params`, when not the baseline's parameters ConfigMap (e.g. a catalogue
   * entry); a missing one lets requests through (the rule has nothing to judge by).
   */
  params?: { apiVersion: string; kind: string; name: string; namespace?: string };
}

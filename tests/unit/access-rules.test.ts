import { describe, expect, it } from "vitest";
import { EServiceSpec } from "../../controller/api/eservice.ts";
import { eserviceAdminFields, eserviceApproverFields, ruleById } from "../../policies/baseline.ts";
import { evaluateRule } from "../../policies/evaluate.ts";
import { platformOwned } from "../../policies/keys.ts";

// The rules that make what a role may do through Kubernetes match what it may do through the portal API
// (issue #17 findings 3, 4, 6, 12), judged by govhost's own evaluator; tests/security performs the same
// attacks against the real API server.

const namespaceObject = {
  metadata: {
    name: "immd-prod",
    labels: { [platformOwned.department]: "immd", [platformOwned.environment]: "prod" },
    annotations: {
      [platformOwned.groups]: "immd-admins,immd-developers,immd-viewers",
      [platformOwned.adminGroups]: "immd-admins",
    },
  },
};
const params = {
  data: {
    accessibilityApprovers: "govhost:accessibility-approvers,govhost:platform-operators",
    recordsManagers: "govhost:records-managers",
    platformOperators: "govhost:platform-operators",
  },
};
const as = (operation: "CREATE" | "UPDATE" | "DELETE", username: string, ...groups: string[]) => ({
  operation,
  userInfo: { username, groups },
});
const developer = (op: "CREATE" | "UPDATE" | "DELETE") => as(op, "oidc:dev", "immd-developers");
const admin = (op: "CREATE" | "UPDATE" | "DELETE") => as(op, "oidc:boss", "immd-admins");

function eservice(spec: Record<string, unknown> = {}) {
  return {
    apiVersion: "govhost.io/v1alpha1",
    kind: "EService",
    metadata: { name: "visa-status", namespace: "immd-prod" },
    spec: {
      image: "registry.gov.example/immd/visa:1.0.0",
      port: 8080,
      replicas: 2,
      exposure: "internal",
      serviceCluster: "immigration",
      dataClassification: "UNCLASSIFIED",
      accessibility: { standard: "WCAG22-AA", paths: ["/"], languages: ["en"], rescanIntervalHours: 24 },
      ...spec,
    },
  };
}

describe("GH-PUB-001: publishing is the department admins' decision", () => {
  const rule = ruleById("GH-PUB-001");
  const judge = (
    object: Record<string, unknown> | null,
    oldObject: Record<string, unknown> | null,
    request: ReturnType<typeof as>,
  ) => evaluateRule(rule, { object, oldObject, namespaceObject, params, request }).passed;
  const publicOne = eservice({ exposure: "public" });

  it("refuses a developer who publishes, changes the image of, or deletes a public e-service", () => {
    expect(judge(publicOne, null, developer("CREATE"))).toBe(false);
    expect(judge(publicOne, eservice(), developer("UPDATE"))).toBe(false);
    expect(
      judge(
        eservice({ exposure: "public", image: "registry.gov.example/immd/visa:2.0.0" }),
        publicOne,
        developer("UPDATE"),
      ),
    ).toBe(false);
    expect(judge(null, publicOne, developer("DELETE"))).toBe(false);
  });

  it("lets developers work on internal e-services, admins and operators on public ones", () => {
    expect(judge(eservice(), null, developer("CREATE"))).toBe(true);
    expect(judge(eservice({ replicas: 3 }), eservice(), developer("UPDATE"))).toBe(true);
    expect(judge(null, eservice(), developer("DELETE"))).toBe(true);
    expect(judge(publicOne, null, admin("CREATE"))).toBe(true);
    expect(judge(null, publicOne, as("DELETE", "op", "govhost:platform-operators"))).toBe(true);
  });

  it("leaves what approvers record on a public e-service to their own rules", () => {
    const waived = eservice({
      exposure: "public",
      accessibility: { ...publicOne.spec.accessibility, previewUrl: "https://preview.immd.gov.example/" },
    });
    expect(judge(waived, publicOne, as("UPDATE", "grace", "govhost:accessibility-approvers"))).toBe(true);
    // Metadata alone (a rescan request) is no decision either.
    expect(judge(publicOne, publicOne, developer("UPDATE"))).toBe(true);
  });

  it("names every EService spec field as either an admin's or an approver's", () => {
    const schema = EServiceSpec.properties as Record<string, { properties?: Record<string, unknown> }>;
    const fields = Object.entries(schema).flatMap(([key, value]) =>
      key === "accessibility" ? Object.keys(value.properties ?? {}).map((k) => `${key}.${k}`) : [key],
    );
    expect([...eserviceAdminFields, ...eserviceApproverFields].sort()).toEqual(fields.sort());
  });
});

describe("GH-A11Y-002: a preview URL is an approver's to set", () => {
  const rule = ruleById("GH-A11Y-002");
  const preview = (url: string) =>
    eservice({ accessibility: { ...eservice().spec.accessibility, previewUrl: url } });
  const judge = (
    object: Record<string, unknown>,
    oldObject: Record<string, unknown> | null,
    request: ReturnType<typeof as>,
  ) => evaluateRule(rule, { object, oldObject, namespaceObject, params, request }).passed;

  it("refuses a department that sets or changes its own preview, allows an approver and a removal", () => {
    expect(judge(preview("https://elsewhere.example/"), null, admin("CREATE"))).toBe(false);
    expect(judge(preview("https://b.example/"), preview("https://a.example/"), admin("UPDATE"))).toBe(false);
    expect(
      judge(
        preview("https://a.example/"),
        eservice(),
        as("UPDATE", "grace", "govhost:accessibility-approvers"),
      ),
    ).toBe(true);
    expect(judge(eservice(), preview("https://a.example/"), admin("UPDATE"))).toBe(true);
    expect(judge(preview("https://a.example/"), preview("https://a.example/"), developer("UPDATE"))).toBe(
      true,
    );
  });
});

describe("GH-RBAC-001: role bindings stay inside the department", () => {
  const rule = ruleById("GH-RBAC-001");
  const binding = (...subjects: Record<string, string>[]) => ({
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "share", namespace: "immd-prod" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "govhost-tenant-admin" },
    subjects,
  });
  const judge = (object: Record<string, unknown>) =>
    evaluateRule(rule, { object, namespaceObject, params, request: admin("CREATE") }).passed;

  it("allows the department's groups and its own service accounts", () => {
    expect(judge(binding({ kind: "Group", name: "immd-developers" }))).toBe(true);
    expect(judge(binding({ kind: "ServiceAccount", name: "ci", namespace: "immd-dev" }))).toBe(true);
  });

  it("refuses everyone, other departments, users and look-alike namespaces", () => {
    expect(judge(binding({ kind: "Group", name: "system:authenticated" }))).toBe(false);
    expect(judge(binding({ kind: "Group", name: "lcsd-admins" }))).toBe(false);
    expect(judge(binding({ kind: "User", name: "mallory" }))).toBe(false);
    expect(judge(binding({ kind: "ServiceAccount", name: "default", namespace: "kube-system" }))).toBe(false);
    // Department immd-x's namespace immd-x-dev starts with "immd-" but is not immd's.
    expect(judge(binding({ kind: "ServiceAccount", name: "ci", namespace: "immd-x-dev" }))).toBe(false);
    expect(
      judge(binding({ kind: "Group", name: "immd-admins" }, { kind: "Group", name: "system:authenticated" })),
    ).toBe(false);
  });
});

describe("records protection (GH-REC-002, GH-REC-004)", () => {
  const instance = (schedules: { recordClass: string; retainYears: number }[]) => ({
    apiVersion: "govhost.io/v1alpha1",
    kind: "SharedServiceInstance",
    metadata: { name: "records", namespace: "immd-prod" },
    spec: { service: "records-management", plan: "standard", parameters: { retentionSchedules: schedules } },
  });
  const kept = [{ recordClass: "visa-files", retainYears: 7, disposal: "destroy" }];

  it("only records managers remove or shorten retention schedules; anyone may add one", () => {
    const rule = ruleById("GH-REC-002");
    const judge = (
      object: Record<string, unknown>,
      oldObject: Record<string, unknown>,
      request: ReturnType<typeof as>,
    ) => evaluateRule(rule, { object, oldObject, namespaceObject, params, request }).passed;
    expect(judge(instance([]), instance(kept), admin("UPDATE"))).toBe(false);
    expect(judge(instance([{ ...kept[0], retainYears: 1 }] as never), instance(kept), admin("UPDATE"))).toBe(
      false,
    );
    expect(judge(instance([]), instance(kept), as("UPDATE", "rm", "govhost:records-managers"))).toBe(true);
    const more = [...kept, { recordClass: "appeals", retainYears: 10, disposal: "destroy" }];
    expect(judge(instance(more), instance(kept), admin("UPDATE"))).toBe(true);
  });

  it("a records volume is never deleted or detached directly", () => {
    const rule = ruleById("GH-REC-004");
    const owners = [
      {
        apiVersion: "govhost.io/v1alpha1",
        kind: "SharedServiceInstance",
        name: "records",
        uid: "u1",
        controller: true,
      },
    ];
    const pvc = (ownerReferences: unknown[]) => ({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: {
        name: "records-data",
        labels: {
          [platformOwned.sharedService]: "records-management",
          "govhost.io/shared-service-instance": "records",
        },
        ownerReferences,
      },
    });
    const judge = (object: Record<string, unknown> | null, request: ReturnType<typeof as>) =>
      evaluateRule(rule, { object, oldObject: pvc(owners), namespaceObject, params, request }).passed;
    expect(judge(null, admin("DELETE"))).toBe(false);
    expect(judge(pvc([]), admin("UPDATE"))).toBe(false);
    expect(judge(pvc(owners), admin("UPDATE"))).toBe(true);
    expect(judge(null, as("DELETE", "system:serviceaccount:kube-system:generic-garbage-collector"))).toBe(
      true,
    );
  });
});

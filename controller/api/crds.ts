import { customResourceDefinition } from "./crd.ts";
import { DepartmentSpec, DepartmentStatus } from "./department.ts";

const readyColumn = {
  name: "Ready",
  type: "string",
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
};

export const departmentCrd = customResourceDefinition({
  kind: "Department",
  plural: "departments",
  singular: "department",
  shortNames: ["dept"],
  scope: "Cluster",
  spec: DepartmentSpec,
  status: DepartmentStatus,
  rootValidations: [
    {
      rule: "size(self.metadata.name) >= 2 && size(self.metadata.name) <= 20",
      message: "metadata.name is the department code: a DNS label of 2 to 20 characters (e.g. immd)",
    },
  ],
  printerColumns: [
    { name: "Name (en)", type: "string", jsonPath: ".spec.displayName.en" },
    readyColumn,
    { name: "Suspended", type: "boolean", jsonPath: ".spec.suspended" },
    { name: "Cost centre", type: "string", jsonPath: ".spec.costCentre", priority: 1 },
  ],
});

/** Every govhost CRD, in install order. */
export const allCrds = [departmentCrd];

import Type from "typebox";
import {
  ApiExportSpec,
  ApiExportStatus,
  ApiGrantDecisionSpec,
  ApiGrantSpec,
  ApiGrantStatus,
} from "./api-exchange.ts";
import { ChargebackStatementSpec, ChargebackStatementStatus } from "./chargeback.ts";
import { customResourceDefinition } from "./crd.ts";
import { DepartmentSpec, DepartmentStatus } from "./department.ts";
import { EServiceSpec, EServiceStatus } from "./eservice.ts";
import { policyReportCrds } from "./policy-report.ts";
import { RateCardSpec, RateCardStatus } from "./ratecard.ts";
import {
  SharedServiceInstanceSpec,
  SharedServiceInstanceStatus,
  SharedServiceSpec,
} from "./shared-service.ts";

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

export const chargebackStatementCrd = customResourceDefinition({
  kind: "ChargebackStatement",
  plural: "chargebackstatements",
  singular: "chargebackstatement",
  shortNames: ["cbs"],
  scope: "Cluster",
  spec: ChargebackStatementSpec,
  status: ChargebackStatementStatus,
  printerColumns: [
    { name: "Department", type: "string", jsonPath: ".spec.department" },
    { name: "Period", type: "string", jsonPath: ".spec.period" },
    { name: "Total (minor)", type: "integer", jsonPath: ".spec.totalMinor" },
    { name: "Finalized", type: "boolean", jsonPath: ".spec.finalized" },
  ],
});

export const rateCardCrd = customResourceDefinition({
  kind: "RateCard",
  plural: "ratecards",
  singular: "ratecard",
  scope: "Cluster",
  spec: RateCardSpec,
  status: RateCardStatus,
  printerColumns: [
    { name: "Currency", type: "string", jsonPath: ".spec.currency" },
    { name: "Mode", type: "string", jsonPath: ".spec.allocationMode" },
  ],
});

export const eserviceCrd = customResourceDefinition({
  kind: "EService",
  plural: "eservices",
  singular: "eservice",
  shortNames: ["es"],
  scope: "Namespaced",
  spec: EServiceSpec,
  status: EServiceStatus,
  printerColumns: [
    { name: "Exposure", type: "string", jsonPath: ".spec.exposure" },
    { name: "Exposed", type: "string", jsonPath: '.status.conditions[?(@.type=="Exposed")].status' },
    {
      name: "Accessible",
      type: "string",
      jsonPath: '.status.conditions[?(@.type=="AccessibilityBaseline")].status',
    },
    { name: "URL", type: "string", jsonPath: ".status.url" },
    { name: "Image", type: "string", jsonPath: ".spec.image", priority: 1 },
  ],
});

export const sharedServiceCrd = customResourceDefinition({
  kind: "SharedService",
  plural: "sharedservices",
  singular: "sharedservice",
  scope: "Cluster",
  spec: SharedServiceSpec,
  status: Type.Object({}),
  printerColumns: [
    { name: "Name (en)", type: "string", jsonPath: ".spec.displayName.en" },
    { name: "Method", type: "string", jsonPath: ".spec.provisioning.method" },
  ],
});

export const sharedServiceInstanceCrd = customResourceDefinition({
  kind: "SharedServiceInstance",
  plural: "sharedserviceinstances",
  singular: "sharedserviceinstance",
  shortNames: ["ssi"],
  scope: "Namespaced",
  spec: SharedServiceInstanceSpec,
  status: SharedServiceInstanceStatus,
  printerColumns: [
    { name: "Service", type: "string", jsonPath: ".spec.service" },
    { name: "Plan", type: "string", jsonPath: ".spec.plan" },
    readyColumn,
  ],
});

export const apiExportCrd = customResourceDefinition({
  kind: "ApiExport",
  plural: "apiexports",
  singular: "apiexport",
  scope: "Namespaced",
  spec: ApiExportSpec,
  status: ApiExportStatus,
  printerColumns: [
    { name: "EService", type: "string", jsonPath: ".spec.eservice" },
    { name: "Classification", type: "string", jsonPath: ".spec.dataClassification" },
  ],
});

export const apiGrantCrd = customResourceDefinition({
  kind: "ApiGrant",
  plural: "apigrants",
  singular: "apigrant",
  scope: "Namespaced",
  spec: ApiGrantSpec,
  status: ApiGrantStatus,
  printerColumns: [
    { name: "Department", type: "string", jsonPath: ".spec.export.department" },
    { name: "Export", type: "string", jsonPath: ".spec.export.name" },
    { name: "Phase", type: "string", jsonPath: ".status.phase" },
    { name: "Expires", type: "string", jsonPath: ".spec.expiresAt" },
  ],
});

export const apiGrantDecisionCrd = customResourceDefinition({
  kind: "ApiGrantDecision",
  plural: "apigrantdecisions",
  singular: "apigrantdecision",
  scope: "Namespaced",
  spec: ApiGrantDecisionSpec,
  status: Type.Object({}),
  printerColumns: [
    { name: "Grant", type: "string", jsonPath: ".spec.grant.name" },
    { name: "Consumer", type: "string", jsonPath: ".spec.grant.namespace" },
    { name: "Decision", type: "string", jsonPath: ".spec.decision" },
    { name: "By", type: "string", jsonPath: ".spec.decidedBy" },
  ],
});

/** Every govhost CRD, in install order. */
export const allCrds = [
  departmentCrd,
  eserviceCrd,
  chargebackStatementCrd,
  rateCardCrd,
  sharedServiceCrd,
  sharedServiceInstanceCrd,
  apiExportCrd,
  apiGrantCrd,
  apiGrantDecisionCrd,
  ...policyReportCrds,
];

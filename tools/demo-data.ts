import type { Department } from "../controller/api/department.ts";
import type { KubeObject } from "../lib/kube/client.ts";

/** Demo departments seeded by `npm start` on the embedded default (see DESIGN.md, "Local defaults"). */
export const demoDepartments: (Department & KubeObject)[] = [
  {
    apiVersion: "govhost.io/v1alpha1",
    kind: "Department",
    metadata: { name: "immd" },
    spec: {
      displayName: { en: "Immigration Department", zhHant: "入境事務處" },
      costCentre: "IMMD-IT-01",
      contacts: [{ name: "IMMD IT Service Desk", email: "it-desk@immd.gov.example", role: "operations" }],
      groups: { admins: ["immd-admins"], developers: ["immd-developers"], viewers: ["immd-viewers"] },
      environments: ["dev", "staging", "prod"],
      quota: { cpu: "32", memory: "128Gi", storage: "2Ti", pods: 300, eServices: 40, publicEndpoints: 20 },
      maxDataClassification: "CONFIDENTIAL",
      monthlyBudget: { amount: 250000, currency: "HKD" },
      domains: ["immd.gov.example"],
      suspended: false,
    },
  },
  {
    apiVersion: "govhost.io/v1alpha1",
    kind: "Department",
    metadata: { name: "lcsd" },
    spec: {
      displayName: { en: "Leisure and Cultural Services Department", zhHant: "康樂及文化事務署" },
      costCentre: "LCSD-IT-07",
      contacts: [{ name: "LCSD Digital Services", email: "digital@lcsd.gov.example", role: "product owner" }],
      groups: { admins: ["lcsd-admins"], developers: ["lcsd-developers"], viewers: ["lcsd-viewers"] },
      environments: ["dev", "prod"],
      quota: {
        cpu: "16",
        memory: "64Gi",
        storage: "500Gi",
        pods: 150,
        eServices: 25,
        publicEndpoints: 15,
        environmentWeights: { dev: 1, prod: 3 },
      },
      maxDataClassification: "RESTRICTED",
      monthlyBudget: { amount: 120000, currency: "HKD" },
      domains: ["lcsd.gov.example"],
      suspended: false,
    },
  },
];

/**
 * The demo e-service. On a node: its pages are the image's (`registry.govhost.local/govhost/demo-site:broken`
 * until someone ships `:fixed`), scanned in the cluster. Without a node: a placeholder image, and the pages
 * come from the demo site on this machine through an approved previewUrl.
 */
export function demoEService(pages: { image: string; previewUrl?: string }): KubeObject {
  return {
    apiVersion: "govhost.io/v1alpha1",
    kind: "EService",
    metadata: { name: "visa-status", namespace: "immd-prod" },
    spec: {
      displayName: { en: "Visa application status", zhHant: "簽證申請進度" },
      image: pages.image,
      exposure: "public",
      serviceCluster: "travel-and-immigration",
      accessibility: {
        ...(pages.previewUrl ? { previewUrl: pages.previewUrl } : {}),
        paths: ["/", "/contact"],
        languages: ["en", "zh-HK"],
      },
    },
  };
}

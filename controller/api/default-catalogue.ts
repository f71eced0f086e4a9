import type { SharedService } from "./shared-service.ts";

// The shared services every govhost installation offers from day one. Prices are in HKD cents per month,
// indicative only; operators change plans and prices in these objects.

const partOf = { "app.kubernetes.io/part-of": "govhost" };

export const defaultCatalogue: SharedService[] = [
  {
    apiVersion: "govhost.io/v1alpha1",
    kind: "SharedService",
    metadata: { name: "collaboration-workspace", labels: partOf },
    spec: {
      displayName: { en: "Collaboration workspace", zhHant: "協作工作空間" },
      description: "Shared documents, wikis and team spaces for a department, within the government network.",
      provisioning: {
        method: "rendered",
        template: "collaboration-workspace",
        image: "registry.gov.example/govhost/collaboration-workspace:1.0.0",
      },
      plans: [
        {
          name: "team",
          displayName: { en: "Team (50 seats)", zhHant: "團隊（50 個席位）" },
          priceMinorPerMonth: 150_000,
          limits: { seats: 50, storage: "50Gi", cpu: "500m", memory: "1Gi" },
        },
        {
          name: "division",
          displayName: { en: "Division (500 seats)", zhHant: "分部（500 個席位）" },
          priceMinorPerMonth: 900_000,
          limits: { seats: 500, storage: "500Gi", cpu: "2", memory: "4Gi" },
        },
      ],
    },
  },
  {
    apiVersion: "govhost.io/v1alpha1",
    kind: "SharedService",
    metadata: { name: "records-management", labels: partOf },
    spec: {
      displayName: { en: "Electronic recordkeeping", zhHant: "電子檔案管理" },
      description:
        "Records kept under a file plan and retention schedules (ISO 15489), with legal holds and approved disposal.",
      provisioning: {
        method: "rendered",
        template: "records-management",
        image: "registry.gov.example/govhost/records-management:1.0.0",
      },
      plans: [
        {
          name: "standard",
          displayName: { en: "Standard (100 GiB)", zhHant: "標準（100 GiB）" },
          priceMinorPerMonth: 200_000,
          limits: { storage: "100Gi", cpu: "1", memory: "2Gi" },
        },
        {
          name: "large",
          displayName: { en: "Large (1 TiB)", zhHant: "大型（1 TiB）" },
          priceMinorPerMonth: 800_000,
          limits: { storage: "1Ti", cpu: "2", memory: "4Gi" },
        },
      ],
    },
  },
];

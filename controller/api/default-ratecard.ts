import type { RateCard } from "./ratecard.ts";

/**
 * The rate card a new installation starts with (HKD, in cents per unit). Illustrative prices for a
 * government private cloud; operators replace them with their own cost model.
 */
export const defaultRateCard: RateCard = {
  apiVersion: "govhost.io/v1alpha1",
  kind: "RateCard",
  metadata: { name: "govhost-default", labels: { "app.kubernetes.io/part-of": "govhost" } },
  spec: {
    currency: "HKD",
    allocationMode: "consumed",
    versions: [
      {
        validFrom: "2026-01-01T00:00:00+08:00",
        cpuCoreHour: "35",
        memoryGiBHour: "4.5",
        storageGiBMonth: "80",
        publicEndpointMonth: "20000",
        eServiceMonth: "5000",
      },
    ],
  },
};

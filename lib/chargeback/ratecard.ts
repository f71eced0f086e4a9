import type { RateCard } from "../../controller/api/ratecard.ts";
import type { PriceVersion } from "./engine.ts";
import { parseDecimal } from "./rational.ts";

/** The engine's price versions from a RateCard (ids name the card and the instant, for statement lines). */
export function priceVersions(card: RateCard): PriceVersion[] {
  return card.spec.versions
    .map((v) => {
      const validFrom = Date.parse(v.validFrom);
      if (Number.isNaN(validFrom))
        throw new Error(`rate card ${card.metadata.name}: validFrom "${v.validFrom}" is not RFC 3339`);
      return {
        id: `${card.metadata.name}@${new Date(validFrom).toISOString().replace(".000Z", "Z")}`,
        validFrom,
        prices: {
          cpu: parseDecimal(v.cpuCoreHour),
          memory: parseDecimal(v.memoryGiBHour),
          storage: parseDecimal(v.storageGiBMonth),
          "public-endpoint": parseDecimal(v.publicEndpointMonth),
          eservice: parseDecimal(v.eServiceMonth),
        },
      };
    })
    .sort((a, b) => a.validFrom - b.validFrom);
}

/** The allocation mode a department is billed in (own keys only: a department may be called "constructor"). */
export function allocationModeOf(card: RateCard, department: string): "reserved" | "consumed" {
  const overrides = card.spec.departmentAllocationModes ?? {};
  return (
    (Object.hasOwn(overrides, department) ? overrides[department] : undefined) ?? card.spec.allocationMode
  );
}

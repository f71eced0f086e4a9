import { Compile } from "typebox/compile";
import { describe, expect, it } from "vitest";
import { defaultRateCard } from "../../controller/api/default-ratecard.ts";
import { RateCard } from "../../controller/api/ratecard.ts";
import { allocationModeOf, priceVersions } from "../../lib/chargeback/ratecard.ts";
import { rational } from "../../lib/chargeback/rational.ts";

describe("rate cards", () => {
  it("the default rate card is valid against the schema", () => {
    expect([...Compile(RateCard).Errors(defaultRateCard)]).toEqual([]);
  });

  it("become exact, ordered price versions named by card and instant", () => {
    const versions = priceVersions({
      ...defaultRateCard,
      spec: {
        ...defaultRateCard.spec,
        versions: [
          {
            ...(defaultRateCard.spec.versions[0] as (typeof defaultRateCard.spec.versions)[0]),
            validFrom: "2026-11-16T00:00:00+08:00",
            cpuCoreHour: "30.25",
          },
          defaultRateCard.spec.versions[0] as (typeof defaultRateCard.spec.versions)[0],
        ],
      },
    });
    expect(versions.map((v) => v.id)).toEqual([
      "govhost-default@2025-12-31T16:00:00Z",
      "govhost-default@2026-11-15T16:00:00Z",
    ]);
    expect(versions[1]?.prices.cpu).toEqual(rational(121n, 4n));
    expect(versions[0]?.prices.memory).toEqual(rational(9n, 2n));
  });

  it("refuses a validFrom that is not an instant", () => {
    const bad = {
      ...defaultRateCard,
      spec: {
        ...defaultRateCard.spec,
        versions: [
          {
            ...(defaultRateCard.spec.versions[0] as (typeof defaultRateCard.spec.versions)[0]),
            validFrom: "next tuesday",
          },
        ],
      },
    };
    expect(() => priceVersions(bad)).toThrow('validFrom "next tuesday" is not RFC 3339');
  });

  it("bill a department in its own allocation mode, whatever it is called", () => {
    const card = {
      ...defaultRateCard,
      spec: {
        ...defaultRateCard.spec,
        allocationMode: "reserved" as const,
        departmentAllocationModes: { immd: "consumed" as const },
      },
    };
    expect(allocationModeOf(card, "immd")).toBe("consumed");
    expect(allocationModeOf(card, "lcsd")).toBe("reserved");
    expect(allocationModeOf(card, "constructor")).toBe("reserved");
  });
});

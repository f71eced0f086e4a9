import { describe, expect, it } from "vitest";
import { formatMilli, parseMilli } from "../../lib/kube/quantity.ts";

describe("Kubernetes quantities", () => {
  it.each([
    ["500m", 500n],
    ["2", 2000n],
    ["1.5", 1500n],
    ["0.1", 100n],
    ["1k", 1_000_000n],
    ["1Ki", 1_024_000n],
    ["16Gi", 16n * 2n ** 30n * 1000n],
    ["+3", 3000n],
    // The metrics API's units: nanocores and microcores, truncated below a millicore.
    ["1459893n", 1n],
    ["250000000n", 250n],
    ["1500u", 1n],
    ["0.5m", 0n],
  ])("parses %s exactly", (text, milli) => {
    expect(parseMilli(text)).toBe(milli);
  });

  it.each(["", "abc", "1.2.3", "-1", "5x"])("rejects %j with an example of the right form", (text) => {
    expect(() => parseMilli(text)).toThrow(/not a Kubernetes quantity \(examples: 500m, 2, 16Gi\)/);
  });

  it.each([
    [1500n, "1500m"],
    [2000n, "2"],
    [0n, "0"],
    [16n * 2n ** 30n * 1000n, "16Gi"],
    [3n * 2n ** 20n * 1000n, "3Mi"],
    [1024n * 1000n, "1024"],
  ])("formats %s as %s and round-trips", (milli, text) => {
    expect(formatMilli(milli)).toBe(text);
    expect(parseMilli(formatMilli(milli))).toBe(milli);
  });

  it("answers a quantity parsed before, and past the bound of kept ones, the same as the first time", () => {
    expect(parseMilli("250m")).toBe(250n);
    expect(parseMilli("250m")).toBe(250n);
    for (let i = 0; i < 10_000; i++) expect(parseMilli(`${i}Mi`)).toBe(BigInt(i) * 2n ** 20n * 1000n);
    expect(parseMilli("250m")).toBe(250n);
    expect(parseMilli("9999Mi")).toBe(9999n * 2n ** 20n * 1000n);
    expect(() => parseMilli("1x")).toThrow(/not a Kubernetes quantity/);
    expect(() => parseMilli("1x")).toThrow(/not a Kubernetes quantity/);
  });
});

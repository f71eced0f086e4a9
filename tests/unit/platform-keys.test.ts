import { parse } from "@marcbachmann/cel-js";
import { describe, expect, it } from "vitest";
import { isPlatformKey, isPlatformKeyCel } from "../../policies/keys.ts";

// isPlatformKey (what the portal API leaves out of its dry runs) must answer as GH-META-001's CEL does.
const celIsPlatformKey = parse(isPlatformKeyCel) as unknown as (context: { k: string }) => boolean;

describe("platform-owned keys", () => {
  it.each([
    ["govhost.io/department", true],
    ["govhost.io/eservice", true],
    ["app.kubernetes.io/managed-by", true],
    ["scan.govhost.io/accessibility", true],
    ["govhost.io/data-classification", false],
    ["govhost.io/writable-rootfs-justification", false],
    ["govhost.io/rescan-requested", false],
    ["app", false],
    ["app.kubernetes.io/name", false],
    ["example.com/govhost.io", false],
  ])("%s: %s, in TypeScript and in the policy's CEL", (key, owned) => {
    expect(isPlatformKey(key)).toBe(owned);
    expect(celIsPlatformKey({ k: key })).toBe(owned);
  });
});

import { describe, expect, it } from "vitest";
import { pinnedVersions } from "../../tools/upstream/versions.ts";

describe("pinned upstream versions", () => {
  it("pins exact release versions, never a range or a branch", () => {
    const { kubernetes, etcd } = pinnedVersions();
    expect(kubernetes).toMatch(/^v1\.(3[4-9])\.\d+$/);
    expect(etcd).toMatch(/^v3\.\d+\.\d+$/);
  });
});

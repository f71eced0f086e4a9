import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startBackgroundBuild } from "../../tools/upstream/background-build.ts";

const dir = mkdtempSync(join(tmpdir(), "govhost-bg-build-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("startBackgroundBuild", () => {
  it("stops at the first group that fails, with its exit code and build.sh's output in the log", {
    timeout: 120_000,
  }, async () => {
    const logPath = join(dir, "logs", "build.log");
    const build = startBackgroundBuild(["no-such-group", "etcd"], logPath);
    expect(await build.finished).toBe(2);
    const log = readFileSync(logPath, "utf8");
    expect(log).toContain("usage:");
    // etcd was never tried: the loop ended at the failure.
    expect(log).not.toContain("etcd v");
    await build.stop();
  });
});

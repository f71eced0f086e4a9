import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * The default order (slowest first, from the last run's durations), except that the Pulumi tests go last:
 * on a cold cache its CLI and provider are still being built in the background while the others run.
 */
class PulumiLastSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const last = (spec: TestSpecification) =>
      /\/tests\/integration\/pulumi[\w-]*\.test\.ts$/.test(spec.moduleId);
    return [...sorted.filter((spec) => !last(spec)), ...sorted.filter(last)];
  }
}

export default defineConfig({
  test: {
    sequence: { sequencer: PulumiLastSequencer },
    projects: [
      {
        test: {
          name: "unit",
          include: ["tests/unit/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "integration",
          // tests/security holds the attacks that must fail (issue #17); they share the run's control plane.
          include: ["tests/integration/**/*.test.ts", "tests/security/**/*.test.ts"],
          environment: "node",
          // One real control plane per run, shared by all integration files; tests isolate by unique names.
          globalSetup: ["tests/integration/support/global-setup.ts"],
          // Files run one after another: they share the cluster and its single controller lease.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});

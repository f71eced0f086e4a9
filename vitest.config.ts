import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
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

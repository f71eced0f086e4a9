import { mkdirSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation/index.js";
import { platformProgram } from "../infra/program.ts";
import { projectRoot } from "../lib/local-state.ts";
import { resolvePulumiBinaries } from "./upstream/binaries.ts";

// `npm run pulumi -- <up|preview|refresh|destroy> [--stack local] [--config key=value ...]`: the platform's
// Pulumi program (infra/) run through the Automation API as an inline program, so only the Pulumi CLI and
// the Kubernetes provider plugin are needed (no Node.js language host). The CLI and plugin come from PATH
// or are built from their Go modules (tools/upstream). Offline settings: a file backend in
// .govhost/pulumi-state, the project's own PULUMI_HOME, no update checks, no plugin downloads.

const govhostProviderDir = join(projectRoot, "tools", "pulumi-provider", "bin");

export type StackOperation = "up" | "preview" | "refresh" | "destroy";

export interface StackRun {
  operation: StackOperation;
  stack: string;
  /** Stack config (besides the stack's Pulumi.<stack>.yaml), e.g. { "govhost:kubeconfig": "/path" }. */
  config?: Record<string, string>;
  /**
   * Settings for this run only (keys without `govhost:`), over the stack's config and not saved in it, e.g.
   * the issuer of `npm start`'s own OpenID provider.
   */
  programConfig?: Record<string, string>;
  /** Where the file backend keeps state (default .govhost/pulumi-state). */
  stateDir?: string;
  /**
   * Where stack settings (Pulumi.<stack>.yaml) are read and written: the project root by default; another
   * directory keeps a throw-away stack (tests) out of the work tree.
   */
  workDir?: string;
  onOutput?: (text: string) => void;
}

/** What changed, by kind of change (e.g. { create: 85 } or { same: 85 }). */
export type ChangeSummary = Record<string, number>;

async function openStack(run: StackRun): Promise<Stack> {
  const binaries = resolvePulumiBinaries({ build: true });
  const stateDir = run.stateDir ?? join(projectRoot, ".govhost", "pulumi-state");
  const home = join(projectRoot, ".govhost", "pulumi-home");
  mkdirSync(stateDir, { recursive: true });
  mkdirSync(home, { recursive: true });
  // The Automation API finds the CLI on PATH; the CLI finds the provider plugins there too: Kubernetes', and
  // the project's own (tools/pulumi-provider: the local cloud and image as resources of the stack).
  const dirs = [dirname(binaries.pulumi), dirname(binaries.kubernetesProvider), govhostProviderDir];
  const path = (process.env.PATH ?? "").split(delimiter).filter((dir) => dir && !dirs.includes(dir));
  process.env.PATH = [...dirs, ...path].join(delimiter);
  const stack = await LocalWorkspace.createOrSelectStack(
    { stackName: run.stack, projectName: "govhost", program: async () => platformProgram(run.programConfig) },
    {
      workDir: run.workDir ?? projectRoot,
      ...(run.workDir ? { projectSettings: { name: "govhost", runtime: "nodejs" as const } } : {}),
      pulumiHome: process.env.PULUMI_HOME ?? home,
      envVars: {
        PATH: process.env.PATH,
        PULUMI_BACKEND_URL: process.env.PULUMI_BACKEND_URL ?? `file://${stateDir}`,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        // The local stack's secrets use an empty passphrase; set your own for any shared stack.
        PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? "",
      },
    },
  );
  for (const [key, value] of Object.entries(run.config ?? {})) await stack.setConfig(key, { value });
  return stack;
}

/** Runs one operation on a stack of the platform program; resolves to its change summary. */
export async function runStack(run: StackRun): Promise<ChangeSummary> {
  const stack = await openStack(run);
  const onOutput = run.onOutput;
  switch (run.operation) {
    case "up":
      return (await stack.up({ onOutput })).summary.resourceChanges ?? {};
    case "preview":
      return (await stack.preview({ onOutput, diff: true })).changeSummary;
    case "refresh":
      return (await stack.refresh({ onOutput })).summary.resourceChanges ?? {};
    case "destroy":
      return (await stack.destroy({ onOutput })).summary.resourceChanges ?? {};
  }
}

const operations: readonly StackOperation[] = ["up", "preview", "refresh", "destroy"];

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      stack: { type: "string", default: "local" },
      config: { type: "string", multiple: true, default: [] },
    },
  });
  const operation = positionals[0] as StackOperation;
  if (!operations.includes(operation)) {
    process.stderr.write(
      `usage: npm run pulumi -- <${operations.join("|")}> [--stack local] [--config key=value ...]\n`,
    );
    process.exit(2);
  }
  const config = Object.fromEntries(
    values.config.map((pair) => {
      const at = pair.indexOf("=");
      if (at < 1) {
        process.stderr.write(`--config ${pair}: expected key=value, e.g. govhost:clusterMode=existing\n`);
        process.exit(2);
      }
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
  runStack({ operation, stack: values.stack, config, onOutput: (text) => process.stdout.write(text) }).then(
    (summary) => process.stdout.write(`\ngovhost: ${operation} done: ${JSON.stringify(summary)}\n`),
    (error: unknown) => {
      process.stderr.write(
        `govhost: ${operation} failed: ${error instanceof Error ? error.message : error}\n`,
      );
      process.exit(1);
    },
  );
}

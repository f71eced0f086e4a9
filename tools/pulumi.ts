import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { projectRoot } from "./cluster/paths.ts";

// `npm run pulumi -- <args>`: the Pulumi CLI with the project's offline settings: a local file backend in
// .govhost/pulumi-state, its own PULUMI_HOME, no update checks and no automatic plugin downloads. Uses the
// `pulumi` on PATH (with its Node.js language host and Kubernetes provider plugin).
const stateDir = join(projectRoot, ".govhost", "pulumi-state");
const home = join(projectRoot, ".govhost", "pulumi-home");
mkdirSync(stateDir, { recursive: true });
mkdirSync(home, { recursive: true });

const onPath = (process.env.PATH ?? "")
  .split(delimiter)
  .map((dir) => join(dir, "pulumi"))
  .find((path) => existsSync(path));
if (!onPath) {
  process.stderr.write(
    [
      "pulumi: no `pulumi` CLI on PATH.",
      "Install Pulumi (CLI, pulumi-language-nodejs, and `pulumi plugin install resource kubernetes 4.34.2`), then retry.",
      "Building them from their Go modules is not possible on every machine: see infra/README.md.",
      "",
    ].join("\n"),
  );
  process.exit(1);
}
const result = spawnSync(onPath, process.argv.slice(2), {
  cwd: projectRoot,
  stdio: "inherit",
  env: {
    ...process.env,
    PULUMI_HOME: process.env.PULUMI_HOME ?? home,
    PULUMI_BACKEND_URL: process.env.PULUMI_BACKEND_URL ?? `file://${stateDir}`,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    // The local stack's secrets use an empty passphrase; set your own for any shared stack.
    PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? "",
  },
});
process.exit(result.status ?? 1);

import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { type LocalPaths, loadCloudState } from "../cluster/local.ts";
import { buildGovhostImage } from "./govhost-image.ts";
import { pushToLocalRegistry } from "./push.ts";

const usage = `usage: npm run image:govhost [-- --push] [--state CLUSTER_JSON]

Builds the govhost image (the Dockerfile's content) without a Docker engine: Debian's root file system with
Chromium (mmdebstrap), the project's Node, the app and its production dependencies, stacked by umoci into an
OCI layout under ~/.cache/govhost/images, reused while nothing that goes in changes. Prints the layout and
tag; with --push, pushes it to the local cloud's registry (skopeo) and prints the reference pods use.`;

const repository = "govhost/govhost";

function main(): void {
  let values: { push?: boolean; state?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: { push: { type: "boolean" }, state: { type: "string" }, help: { type: "boolean" } },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`govhost image: ${(error as Error).message}\n\n${usage}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const projectRoot = resolve(import.meta.dirname, "..", "..");
  const paths: LocalPaths | undefined = values.state
    ? { state: values.state, kubeconfig: `${values.state}.kubeconfig` }
    : undefined;
  const node = values.push ? loadCloudState(paths)?.node : undefined;
  if (values.push && !node) {
    process.stderr.write(
      "govhost image: --push needs a local cloud with a node; start one: npm run cluster:up\n",
    );
    process.exit(2);
  }
  try {
    const image = buildGovhostImage({
      projectRoot,
      progress: (line) => process.stderr.write(`govhost image: ${line}\n`),
    });
    process.stdout.write(`${image.layout}:${image.tag}\n`);
    if (node) {
      const pushed = pushToLocalRegistry(image, repository, node.registry.pushAddress);
      process.stdout.write(`${pushed.ref}\n${pushed.digest}\n`);
    }
  } catch (error) {
    process.stderr.write(`govhost image: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}

if (import.meta.main) main();

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { main } from "@pulumi/pulumi/provider/index.js";
import { projectRoot } from "../../lib/local-state.ts";
import { govhostProvider } from "./provider.ts";

// The plugin's entry point (bin/pulumi-resource-govhost runs it with the project's Node): the engine starts
// it, reads the gRPC port from stdout and calls the provider.
const { version } = JSON.parse(readFileSync(join(projectRoot, "package.json"), "utf8")) as {
  version: string;
};
await main(govhostProvider(version), process.argv.slice(2));

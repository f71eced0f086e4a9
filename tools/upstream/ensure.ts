import { binaryVersion, resolveControlPlaneBinaries, resolvePulumiBinaries } from "./binaries.ts";

// Finds (or builds, on first use) the control-plane and Pulumi binaries and says which ones will be used.
const binaries = resolveControlPlaneBinaries({ build: true });
for (const [name, path] of Object.entries(binaries)) {
  process.stdout.write(`govhost: ${name.padEnd(22)} ${binaryVersion(path).padEnd(22)} ${path}\n`);
}
const pulumi = resolvePulumiBinaries({ build: true });
process.stdout.write(`govhost: ${"pulumi".padEnd(22)} ${pulumi.pulumi}\n`);
process.stdout.write(`govhost: ${"kubernetes provider".padEnd(22)} ${pulumi.kubernetesProvider}\n`);

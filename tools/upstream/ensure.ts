import { binaryVersion, resolveControlPlaneBinaries } from "./binaries.ts";

// Finds (or builds, on first use) the control-plane binaries and says which ones will be used.
const binaries = resolveControlPlaneBinaries({ build: true });
for (const [name, path] of Object.entries(binaries)) {
  process.stdout.write(`govhost: ${name.padEnd(22)} ${binaryVersion(path).padEnd(22)} ${path}\n`);
}

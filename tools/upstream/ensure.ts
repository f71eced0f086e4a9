import {
  binaryVersion,
  missingPulumiGroups,
  resolveControlPlaneBinaries,
  resolveNodeBinaries,
  resolvePulumiBinaries,
} from "./binaries.ts";

// Finds (or builds, on first use) the control-plane, node and Pulumi binaries and says which ones will be
// used. The node's binaries are built only where a node can run (as root); elsewhere the cloud is node-less.
const binaries = resolveControlPlaneBinaries({ build: true });
for (const [name, path] of Object.entries(binaries)) {
  process.stdout.write(`govhost: ${name.padEnd(22)} ${binaryVersion(path).padEnd(22)} ${path}\n`);
}
if (process.getuid?.() === 0) {
  for (const [name, path] of Object.entries(resolveNodeBinaries({ build: true })))
    process.stdout.write(`govhost: ${name.padEnd(22)} ${path}\n`);
} else {
  process.stdout.write("govhost: not root, so no node: its binaries are not built\n");
}
// `--defer-pulumi` (npm test): the Pulumi CLI and provider, used by one test file only, are left to the
// integration run, which builds them in the background at low priority while the other tests run.
const deferred = process.argv.includes("--defer-pulumi") ? missingPulumiGroups() : [];
if (deferred.length > 0) {
  process.stdout.write(
    `govhost: ${deferred.join(", ")} not built yet: the integration run builds ${deferred.length > 1 ? "them" : "it"} in the background at low priority\n`,
  );
} else {
  const pulumi = resolvePulumiBinaries({ build: true });
  process.stdout.write(`govhost: ${"pulumi".padEnd(22)} ${pulumi.pulumi}\n`);
  process.stdout.write(`govhost: ${"kubernetes provider".padEnd(22)} ${pulumi.kubernetesProvider}\n`);
}

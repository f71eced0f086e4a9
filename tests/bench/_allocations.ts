import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileOf } from "./_profile.ts";

// Where a process allocated, from the profile _alloc-sampler.ts writes: bytes per function and per source
// file (sampled, freed objects included), the largest first. Garbage collection is the largest single cost
// of the controller under pod churn, and what it collects is what was allocated.

interface AllocationNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: AllocationNode[];
}

/** The environment that makes a Node process sample its allocations into `dir` (written on exit). */
export function allocationProfileEnv(dir: string): Record<string, string> {
  const sampler = new URL("./_alloc-sampler.ts", import.meta.url).pathname;
  return { NODE_OPTIONS: `--import=${sampler}`, GOVHOST_ALLOCATION_PROFILE_DIR: dir };
}

/**
 * The one allocation profile in `dir` as report rows: the total (and per event, given how many the run
 * had), then the `top` files and functions.
 */
export function allocationRows(dir: string, top = 15, events?: number): Record<string, string> {
  const files = readdirSync(dir).filter((f) => f.endsWith(".heapprofile"));
  if (files.length !== 1) throw new Error(`expected one .heapprofile in ${dir}, found ${files.length}`);
  const head = (JSON.parse(readFileSync(join(dir, files[0] as string), "utf8")) as { head: AllocationNode })
    .head;
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  const walk = (node: AllocationNode) => {
    const { functionName, url, lineNumber } = node.callFrame;
    const file = fileOf(url) || functionName || "(root)";
    const name = url ? `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}` : functionName;
    total += node.selfSize;
    byFunction.set(name, (byFunction.get(name) ?? 0) + node.selfSize);
    byFile.set(file, (byFile.get(file) ?? 0) + node.selfSize);
    for (const child of node.children) walk(child);
  };
  walk(head);
  const mib = (bytes: number) =>
    `${(bytes / 1024 / 1024).toFixed(1)} MiB (${((bytes / total) * 100).toFixed(1)}%)`;
  const largest = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]).slice(0, top);
  const rows: Record<string, string> = { allocated: `${(total / 1024 / 1024).toFixed(1)} MiB (sampled)` };
  if (events) rows["allocated per event"] = `${(total / events / 1024).toFixed(1)} KiB`;
  for (const [file, bytes] of largest(byFile)) rows[`file ${file}`] = mib(bytes);
  for (const [name, bytes] of largest(byFunction)) rows[`fn ${name}`] = mib(bytes);
  return rows;
}

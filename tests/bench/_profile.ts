import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { projectRoot } from "../../lib/local-state.ts";

// Where a process's main thread spent its time, from the V8 CPU profile `node --cpu-prof` writes on exit:
// self time per function and per source file, the largest first. Benches print it beside their figures
// (`--profile`), so a cost can be traced to its code without another tool.

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Wall time the profile covers (ms). */
  wallMs: number;
  /** Time the main thread was busy (ms): all samples but "(idle)". */
  busyMs: number;
  functions: { name: string; selfMs: number }[];
  files: { file: string; selfMs: number }[];
  /** Project functions by total time (their own and their callees'), the largest first. */
  totals: { name: string; totalMs: number }[];
}

/** The Node flags that make a process write its CPU profile into `dir` when it exits. */
export function profileFlags(dir: string): string {
  return `--cpu-prof --cpu-prof-dir=${dir}`;
}

/** The one profile written into `dir`, summarized (from `fromMs` after the profile began, if given). */
export function summarizeProfileDir(dir: string, fromMs = 0): ProfileSummary {
  const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  if (files.length !== 1) throw new Error(`expected one .cpuprofile in ${dir}, found ${files.length}`);
  return summarizeProfile(
    JSON.parse(readFileSync(join(dir, files[0] as string), "utf8")) as CpuProfile,
    fromMs,
  );
}

function frameName(frame: ProfileNode["callFrame"]): string {
  const file = fileOf(frame.url) || frame.functionName;
  return frame.url
    ? `${frame.functionName || "(anonymous)"} ${file}:${frame.lineNumber + 1}`
    : frame.functionName;
}

/**
 * Self time per function and file, and total time per project function, of the samples taken `fromMs` or
 * more after the profile began (a long run's late phase, where a cost that grows with time shows).
 */
export function summarizeProfile(profile: CpuProfile, fromMs = 0): ProfileSummary {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  // Named once per node, not once per sample and frame on its stack (a 12-minute profile has ~700,000).
  const projectNames = new Map(
    profile.nodes.filter((n) => isProjectFile(n.callFrame.url)).map((n) => [n.id, frameName(n.callFrame)]),
  );
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  const byTotal = new Map<string, number>();
  let busyUs = 0;
  let elapsedUs = 0;
  // timeDeltas[i] is the time before sample i; the sample's time is the delta that follows it.
  for (const [i, id] of profile.samples.entries()) {
    elapsedUs += profile.timeDeltas[i] ?? 0;
    if (elapsedUs < fromMs * 1000) continue;
    const us = profile.timeDeltas[i + 1] ?? 0;
    const frame = nodes.get(id)?.callFrame;
    if (!frame || frame.functionName === "(idle)") continue;
    busyUs += us;
    const file = fileOf(frame.url) || frame.functionName;
    const name = frameName(frame);
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
    // Each project function on the stack once, however deep it recurses.
    const onStack = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
      const caller = projectNames.get(at);
      if (caller) onStack.add(caller);
    }
    for (const caller of onStack) byTotal.set(caller, (byTotal.get(caller) ?? 0) + us);
  }
  const largest = (map: Map<string, number>) =>
    [...map].sort((a, b) => b[1] - a[1]).map(([key, us]) => [key, us / 1000] as const);
  return {
    wallMs: (profile.endTime - profile.startTime) / 1000 - fromMs,
    busyMs: busyUs / 1000,
    functions: largest(byFunction).map(([name, selfMs]) => ({ name, selfMs })),
    files: largest(byFile).map(([file, selfMs]) => ({ file, selfMs })),
    totals: largest(byTotal).map(([name, totalMs]) => ({ name, totalMs })),
  };
}

function isProjectFile(url: string): boolean {
  const file = fileOf(url);
  return file !== "" && !file.startsWith("npm:") && !file.startsWith("node:") && !file.startsWith("..");
}

/** A project file relative to the root, a dependency as its package, Node's own as `node:…`. */
export function fileOf(url: string): string {
  if (!url) return "";
  const path = url.startsWith("file://") ? new URL(url).pathname : url;
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (dependency) return `npm:${dependency[1]}`;
  return path.startsWith("/") ? relative(projectRoot, path) : path;
}

/** The summary as report rows: busy time, then the `top` largest files and functions by self time. */
export function profileRows(summary: ProfileSummary, top = 15): Record<string, string> {
  const share = (ms: number) => `${ms.toFixed(0)} ms (${((ms / summary.busyMs) * 100).toFixed(1)}%)`;
  const rows: Record<string, string> = {
    "main thread busy": `${(summary.busyMs / 1000).toFixed(2)} s of ${(summary.wallMs / 1000).toFixed(1)} s`,
  };
  for (const { file, selfMs } of summary.files.slice(0, top)) rows[`file ${file}`] = share(selfMs);
  for (const { name, selfMs } of summary.functions.slice(0, top)) rows[`fn ${name}`] = share(selfMs);
  for (const { name, totalMs } of summary.totals.slice(0, top)) rows[`total ${name}`] = share(totalMs);
  return rows;
}

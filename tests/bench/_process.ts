import { readdirSync, readFileSync } from "node:fs";

// What a benchmark reads of a process it started, from Linux's /proc.

/**
 * The name and CPU seconds of a process or thread from its `stat` line: utime and stime, fields 14 and 15,
 * in ticks of 1/100 s. The name is cut at the last `") "`, since a name may itself hold one.
 */
function cpuOfStat(stat: string): { name: string; user: number; system: number } {
  const nameEnd = stat.lastIndexOf(") ");
  const fields = stat.slice(nameEnd + 2).split(" ");
  return {
    name: stat.slice(stat.indexOf("(") + 1, nameEnd),
    user: Number(fields[11]) / 100,
    system: Number(fields[12]) / 100,
  };
}

/** CPU seconds (user + system) a process has used. */
export function cpuSeconds(pid: number | undefined): number {
  const { user, system } = cpuOfStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
  return user + system;
}

/**
 * CPU seconds of each thread of a process by thread id, with its name (V8's GC and compiler helpers are
 * `V8 DefaultWorke`, libuv's pool `libuv-worker`, the main thread the program's name), user and system apart.
 */
export function threadCpuSeconds(
  pid: number | undefined,
): Map<string, { name: string; user: number; system: number }> {
  const threads = new Map<string, { name: string; user: number; system: number }>();
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads;
  }
  for (const task of tasks) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${task}/stat`, "utf8");
    } catch {
      continue; // ended meanwhile
    }
    threads.set(task, cpuOfStat(stat));
  }
  return threads;
}

/**
 * VmHWM: the peak resident set so far; VmRSS: the resident set now, which is RssAnon (heaps: V8's and
 * malloc's) plus RssFile (mapped files: the binary's code, shared libraries) plus RssShmem.
 */
export function rssMiB(
  pid: number | undefined,
  field: "VmHWM" | "VmRSS" | "RssAnon" | "RssFile" = "VmHWM",
): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024;
}

/**
 * The resident part of a process's `[heap]` mapping: glibc malloc's main arena (the main thread's native
 * allocations: zlib's state, Node's buffers, V8's own bookkeeping). V8's JavaScript heap is not in it (its
 * pages are mappings of their own), nor other threads' arenas.
 */
export function mallocHeapMiB(pid: number | undefined): number {
  const smaps = readFileSync(`/proc/${pid}/smaps`, "utf8");
  const start = smaps.indexOf(" [heap]\n");
  if (start < 0) return 0;
  return Number(/\nRss:\s+(\d+) kB/.exec(smaps.slice(start))?.[1] ?? 0) / 1024;
}

/** Open file descriptors (files, sockets, pipes) of a process. */
export function openFiles(pid: number | undefined): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** A process's children, grandchildren and so on (from each thread's `children` list). */
export function descendants(pid: number | undefined): number[] {
  const found: number[] = [];
  const visit = (parent: number | undefined) => {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${parent}/task`);
    } catch {
      return; // it has ended
    }
    for (const task of tasks) {
      let children = "";
      try {
        children = readFileSync(`/proc/${parent}/task/${task}/children`, "utf8");
      } catch {
        continue;
      }
      for (const child of children.split(" ").filter(Boolean).map(Number)) {
        found.push(child);
        visit(child);
      }
    }
  };
  visit(pid);
  return found;
}

/** A process's command line, its arguments joined by spaces ("" once it has ended). */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

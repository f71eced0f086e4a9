import { readdirSync, readFileSync } from "node:fs";

// What a benchmark reads of a process it started, from Linux's /proc.

/** CPU seconds (user + system) a process has used: utime and stime, fields 14 and 15 of stat, in ticks of 1/100 s. */
export function cpuSeconds(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** VmHWM: the peak resident set so far; VmRSS: the resident set now. */
export function rssMiB(pid: number | undefined, field: "VmHWM" | "VmRSS" = "VmHWM"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024;
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

import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";

// Loaded into a process with `--import` (see allocationProfileEnv in _allocations.ts): V8's sampling heap
// profiler, told to keep the samples of objects the collector has freed, so the profile written on exit is
// where the process allocated, not what it still held. `node --heap-prof` keeps only what is still live.

const dir = process.env.GOVHOST_ALLOCATION_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("HeapProfiler.enable");
  session.post("HeapProfiler.startSampling", {
    samplingInterval: 16 * 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  // The main thread's session answers synchronously, so the profile is written before the process ends.
  process.on("exit", () => {
    session.post("HeapProfiler.stopSampling", (error, result) => {
      if (error) return;
      writeFileSync(join(dir, `${process.pid}.heapprofile`), JSON.stringify(result.profile));
    });
  });
}

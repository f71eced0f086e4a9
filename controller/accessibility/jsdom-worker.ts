import { getHeapStatistics } from "node:v8";
import {
  type JsdomResult,
  type JsdomWorkerArgs,
  scanWithJsdom,
  type WorkerReply,
  type WorkerRequest,
} from "./jsdom-tier.ts";

// Worker process of JsdomWorkers: one page per message, one reply per page (with the memory it holds after).

// Each page's jsdom window is a whole JavaScript context (axe included, about 3.5 MiB). V8 frees a closed
// one only in a full collection, which a worker never short of memory rarely runs: scanning one small page
// 60 times left 61 contexts and 236 MiB of heap in use. A full collection once the heap in use passes
// `collectAboveBytes` keeps it near what one page needs (68 MiB over the same 60 pages, collecting after
// each). `gc` is V8's own, there because the worker starts with --expose-gc.
const collect = (globalThis as { gc?: () => void }).gc;
const { collectAboveBytes } = JSON.parse(process.argv[2] ?? "{}") as JsdomWorkerArgs;

process.on("message", async (request: WorkerRequest) => {
  let outcome: { ok: true; result: JsdomResult } | { ok: false; message: string };
  try {
    outcome = { ok: true, result: await scanWithJsdom(request.page, request.options) };
  } catch (error) {
    outcome = { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  if (collect && getHeapStatistics().used_heap_size > collectAboveBytes) collect();
  const heap = getHeapStatistics();
  const reply: WorkerReply = {
    id: request.id,
    heap: {
      usedBytes: heap.used_heap_size,
      totalBytes: heap.total_heap_size,
      rssBytes: process.memoryUsage.rss(),
    },
    ...outcome,
  };
  process.send?.(reply);
});

// The controller is gone (or closed the channel): nothing more will come.
process.on("disconnect", () => process.exit(0));

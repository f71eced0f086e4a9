import { parentPort, workerData } from "node:worker_threads";
import { type JsdomOptions, type JsdomPage, scanWithJsdom } from "./jsdom-tier.ts";

// Worker entry of scanWithJsdomInWorker: one page, one reply, then the thread ends.
const { page, options } = workerData as { page: JsdomPage; options: JsdomOptions };
try {
  parentPort?.postMessage({ ok: true, result: await scanWithJsdom(page, options) });
} catch (error) {
  parentPort?.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) });
}

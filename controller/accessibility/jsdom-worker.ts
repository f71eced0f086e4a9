import { parentPort } from "node:worker_threads";
import { scanWithJsdom, type WorkerReply, type WorkerRequest } from "./jsdom-tier.ts";

// Worker entry of JsdomWorkers: one page per message, one reply per page.
parentPort?.on("message", async (request: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    reply = { id: request.id, ok: true, result: await scanWithJsdom(request.page, request.options) };
  } catch (error) {
    reply = { id: request.id, ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  parentPort?.postMessage(reply);
});

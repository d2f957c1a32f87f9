// Web Worker entry point of the booth (a module worker):
//   new Worker(new URL("./worker.js", import.meta.url), {type: "module"})
// Encryption and proofs run here so that the page never blocks; see service.js for the messages.

import { createService } from "./service.js";

const service = createService();

self.addEventListener("message", async (event) => {
  self.postMessage(await service.handle(event.data));
});

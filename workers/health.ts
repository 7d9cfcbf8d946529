// Entry point of the health worker thread: connects its Port to src/health.
import { createHealthModule } from "../src/health/module.ts";
import { runWorker } from "../src/runtime/worker.ts";

runWorker(createHealthModule());

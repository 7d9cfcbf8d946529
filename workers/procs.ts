// Entry point of the procs worker thread: connects its Port to src/procs.
import { createProcsModule } from "../src/procs/module.ts";
import { runWorker } from "../src/runtime/worker.ts";

runWorker(createProcsModule());

// Entry point of the scaler worker thread: connects its Port to src/scaler.
import { createScalerModule } from "../src/scaler/module.ts";
import { runWorker } from "../src/runtime/worker.ts";

runWorker(createScalerModule());

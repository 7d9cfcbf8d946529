// Entry point of the cluster worker thread: connects its Port to src/cluster.
import { createClusterModule } from "../src/cluster/module.ts";
import { runWorker } from "../src/runtime/worker.ts";

runWorker(createClusterModule());

// Entry point of the balancer worker thread: connects its Port to src/balancer.
import { createBalancerModule } from "../src/balancer/module.ts";
import { runWorker } from "../src/runtime/worker.ts";

runWorker(createBalancerModule());

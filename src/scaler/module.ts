// The scaler worker's message handling: evaluates every app each interval and reports decisions (wired by workers/scaler.ts).
import { wallClock } from "../core/time.ts";
import type { Decision, FromScaler, ScalerInit, ScalerRequests, ToScaler } from "../protocol/scaler.ts";
import type { ModulePort, WorkerModule } from "../runtime/worker.ts";
import { createScaler, type Scaler } from "./scaler.ts";
import { simulate } from "./simulate.ts";

/** Decisions that do nothing are still sent, but only every this many evaluations per app (the API shows the latest). */
const LATEST_EVERY = 5;

export function createScalerModule(): WorkerModule<ToScaler, FromScaler, ScalerRequests> {
  let port: ModulePort<ToScaler, FromScaler, ScalerRequests>;
  let scaler: Scaler;
  let timer: ReturnType<typeof setInterval> | undefined;
  let intervalMs = 1000;
  let ticks = 0;
  let known = new Set<string>();

  const setPolicies = (init: ScalerInit) => {
    const next = new Set<string>();
    for (const { app, policy } of init.policies) {
      scaler.setPolicy(app, policy);
      next.add(app);
    }
    for (const app of known) if (!next.has(app)) scaler.removeApp(app);
    known = next;
    if (init.intervalMs !== intervalMs || !timer) {
      intervalMs = init.intervalMs;
      if (timer) clearInterval(timer);
      timer = setInterval(evaluate, intervalMs);
    }
  };

  const evaluate = () => {
    ticks++;
    let decisions: Decision[];
    try {
      decisions = scaler.evaluate();
    } catch (e) {
      port.send({ t: "log", level: "error", msg: `scaler evaluation failed: ${(e as Error).message}` });
      return;
    }
    for (const d of decisions) if (d.action !== "none") port.send({ t: "scaler.decision", decision: d });
    if (ticks % LATEST_EVERY === 0 && decisions.length > 0) port.queue({ t: "scaler.latest", decisions });
  };

  return {
    start(state, p) {
      port = p;
      scaler = createScaler({ clock: wallClock });
      setPolicies(state);
    },
    reinit(state) {
      setPolicies(state);
    },
    handle(msg) {
      switch (msg.t) {
        case "scaler.policies":
          setPolicies(msg);
          return;
        case "scaler.replicas":
          scaler.setReplicas(msg.app, msg.current, msg.replicas);
          return;
        case "scaler.samples":
          scaler.ingest(msg.samples);
          return;
      }
    },
    requests: {
      "scaler.forecast": (msg) => scaler.forecast(msg.app),
      "scaler.simulate": (msg) => simulate(msg.policy, msg.points, msg.initialReplicas !== undefined ? { initialReplicas: msg.initialReplicas } : {}),
    },
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}

// The health worker's message handling: a Checker reconciled to the supervisor's desired set (wired by workers/health.ts).
import type { FromHealth, HealthRequests, ToHealth } from "../protocol/health.ts";
import type { ModulePort, WorkerModule } from "../runtime/worker.ts";
import { type Checker, createChecker } from "./checker.ts";
import type { CheckSpec } from "./check-spec.ts";

export function createHealthModule(): WorkerModule<ToHealth, FromHealth, HealthRequests> {
  let port: ModulePort<ToHealth, FromHealth, HealthRequests>;
  let checker: Checker;
  let known = new Set<string>();

  const reconcile = (checks: readonly CheckSpec[]) => {
    const next = new Set<string>();
    for (const spec of checks) {
      next.add(spec.id);
      const r = checker.add(spec);
      if (!r.ok) port.send({ t: "health.invalid", checkId: spec.id, errors: r.errors.map((e) => ({ field: e.field, message: e.message })) });
    }
    for (const id of known) if (!next.has(id)) checker.remove(id);
    known = next;
  };

  return {
    start(state, p) {
      port = p;
      checker = createChecker({
        onTransition: (checkId, from, to, result, flapping) =>
          port.send({ t: "health.changed", checkId, from, to, output: result.output, latencyMs: result.latencyMs, flapping }),
        onResult: (checkId, result) => port.queue({ t: "health.result", checkId, status: result.status, latencyMs: result.latencyMs }),
        onSummary: (summaries) => port.queue({ t: "health.summary", states: summaries }),
        summaryIntervalMs: 10_000,
        log: (m) => port.send({ t: "log", level: "warn", msg: m }),
      });
      reconcile(state.checks);
      checker.start();
    },
    reinit(state) {
      reconcile(state.checks);
    },
    handle(msg) {
      if (msg.t === "health.set") reconcile(msg.checks);
    },
    requests: {
      "health.ttl": (msg) => {
        const r = checker.pushTtl(msg.checkId, msg.status, msg.note);
        if (!r.ok) throw Object.assign(new Error(r.errors.map((e) => `${e.field}: ${e.message}`).join("; ")), { code: "invalid" });
        return checker.status(msg.checkId) ?? null;
      },
      "health.states": () => checker.summaries(),
      "health.history": (msg) => {
        const h = checker.history(msg.checkId);
        if (!h) throw Object.assign(new Error(`no check ${msg.checkId}`), { code: "not_found" });
        return h;
      },
    },
    stop() {
      checker?.stop();
    },
  };
}

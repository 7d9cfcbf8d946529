// The self-healing runner: every `healing.interval` it takes each replica's health verdict (core/healing/verdict.ts),
// feeds the pure recovery ladder (core/healing/ladder.ts), writes the decision to the store before acting on it, then
// acts through the supervisor (procs restart and replace, app scale, balancer failover, alerts) and records each
// outcome in the target's history and as a `healing.*` event. One action in flight per target; a rung that does not
// apply (no scaling room, no backup endpoints) is skipped with its reason and the next one is taken at once.
//
//   created --start()--> running --stop()--> stopped      (stop is idempotent; a decision in flight finishes)
import { DEFAULT_LADDER, decide, initialLadder, type LadderAction, type LadderConfig, type LadderDecision, type LadderEvent, type Rung } from "../core/healing/ladder.ts";
import { type VerdictInput, verdictOf } from "../core/healing/verdict.ts";
import type { HealingConfig } from "../config/schema.ts";
import type { EventInput } from "../state/event-bus.ts";
import { HISTORY_LIMIT, type HealingStep, type HealingStore, type LadderRecord } from "../state/healing-store.ts";
import type { Logger } from "../telemetry/logger.ts";

export interface HealingTarget extends VerdictInput {
  readonly app: string;
  readonly replica: number;
}

/** A rung's outcome: done (with what it did), or skipped because it does not apply here. */
export type RungOutcome = { readonly outcome: "done"; readonly detail: string } | { readonly outcome: "skipped"; readonly detail: string };

/** What the ladder's actions call. Each may throw; the error becomes the step's outcome and the ladder goes on. */
export interface HealingEffects {
  restart(app: string, replica: number): Promise<RungOutcome>;
  /** A fresh slot; resolves with the new replica (the ladder follows it). */
  replace(app: string, replica: number): Promise<{ replica: number; detail: string } | RungOutcome>;
  scaleOut(app: string): Promise<({ from: number } & RungOutcome) | RungOutcome>;
  scaleIn(app: string, from: number): Promise<string>;
  /** The balancers routing to the app that have backups, now failed over; skipped when none has any. */
  failover(app: string, balancers: readonly string[]): RungOutcome & { balancers?: string[] };
  failback(balancers: readonly string[]): void;
  alert(input: { target: string; app: string; severity: "info" | "warning" | "critical"; summary: string }): string;
  resolveAlert(id: string): void;
}

export interface HealingRunnerDeps {
  config(): HealingConfig;
  targets(): Promise<HealingTarget[]>;
  readonly effects: HealingEffects;
  readonly store: HealingStore;
  publish(e: EventInput): void;
  readonly log: Logger;
  now?: () => number;
}

export interface HealingView {
  readonly target: string;
  readonly app: string;
  readonly replica: number;
  readonly phase: "healthy" | "climbing" | "exhausted";
  /** The rung being tried (absent when healthy). */
  readonly rung?: Rung;
  readonly attempt: number;
  /** When the next attempt or rung is due while climbing; when recovery completes while recovering. */
  readonly next?: { readonly at: number; readonly step: string };
  readonly since: number;
  readonly recoveringSince?: number;
  readonly verdict?: { readonly healthy: boolean | null; readonly reason: string; readonly at: number };
  readonly scaledOut: boolean;
  readonly failedOver: readonly string[];
  readonly alert?: string;
  readonly history: readonly HealingStep[];
}

export function ladderOf(c: HealingConfig): LadderConfig {
  return {
    rungs: c.rungs ? c.rungs.map((r) => ({ rung: r.rung, attempts: r.attempts, backoffMs: r.backoff })) : DEFAULT_LADDER.rungs,
    recoverAfterMs: c.recover_after,
    maxBackoffMs: c.max_backoff,
  };
}

const targetId = (app: string, replica: number) => `${app}-${replica}`;

export function createHealingRunner(deps: HealingRunnerDeps) {
  const now = deps.now ?? Date.now;
  const records = new Map<string, LadderRecord>();
  for (const r of deps.store.all()) records.set(r.target, r);
  const busy = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  let ticking = false;
  let lastEvaluation: number | undefined;

  const persist = (r: LadderRecord) => {
    try {
      deps.store.put(r);
      return true;
    } catch (e) {
      deps.log.error("healing decision not acted on: the store could not be written", { target: r.target, error: e });
      return false;
    }
  };

  const push = (r: LadderRecord, step: HealingStep) => {
    r.history.push(step);
    // The episode's first steps and the newest are kept.
    if (r.history.length > HISTORY_LIMIT) r.history.splice(10, r.history.length - HISTORY_LIMIT);
  };

  const announce = (r: LadderRecord, step: HealingStep) => {
    const failed = step.outcome === "failed";
    const type = step.action === "alert" ? "healing.exhausted" : step.action === "recovered" ? "healing.recovered" : failed ? "healing.action_failed" : "healing.action";
    deps.publish({
      type,
      source: "healing",
      target: r.target,
      severity: failed || step.action === "alert" ? "warning" : "info",
      message: `${r.target}: ${step.action}${step.attempt !== undefined ? ` #${step.attempt}` : ""} (${step.reason}) ${step.outcome}${step.detail ? `: ${step.detail}` : ""}`,
      data: { app: r.app, replica: r.replica, action: step.action, reason: step.reason, outcome: step.outcome, ...(step.attempt !== undefined ? { attempt: step.attempt } : {}) },
    });
  };

  /** Carries out one ladder action; returns the outcome and, for a skipped rung, the ladder moves on. */
  const perform = async (r: LadderRecord, a: LadderAction): Promise<{ outcome: string; detail?: string; skipped?: boolean }> => {
    const e = deps.effects;
    switch (a.type) {
      case "restart": {
        const o = await e.restart(r.app, r.replica);
        return { outcome: o.outcome, detail: o.detail, skipped: o.outcome === "skipped" };
      }
      case "replace": {
        const o = await e.replace(r.app, r.replica);
        if ("replica" in o) {
          // The ladder follows the target to its fresh slot: same episode, same rung.
          const old = r.target;
          records.delete(old);
          r.replica = o.replica;
          r.target = targetId(r.app, o.replica);
          records.set(r.target, r);
          try {
            deps.store.remove(old);
          } catch {
            // reported by the store; the next put writes the new row
          }
          return { outcome: "done", detail: o.detail };
        }
        return { outcome: o.outcome, detail: o.detail, skipped: o.outcome === "skipped" };
      }
      case "scale_out": {
        const o = await e.scaleOut(r.app);
        if (o.outcome === "done" && "from" in o) r.scaledFrom = o.from;
        return { outcome: o.outcome, detail: o.detail, skipped: o.outcome === "skipped" };
      }
      case "failover": {
        const o = e.failover(r.app, r.failedOver ?? []);
        if (o.outcome === "done") r.failedOver = o.balancers ?? [];
        return { outcome: o.outcome, detail: o.detail, skipped: o.outcome === "skipped" };
      }
      case "alert": {
        const c = deps.config();
        r.alert = e.alert({ target: r.target, app: r.app, severity: c.alert_severity, summary: `${r.target} is still unhealthy after every recovery step (${ladderOf(c).rungs.map((x) => x.rung).join(", ")})` });
        return { outcome: "done", detail: `alert ${r.alert}` };
      }
      case "scale_in": {
        if (r.scaledFrom === undefined) return { outcome: "skipped", detail: "nothing was scaled out" };
        const detail = await e.scaleIn(r.app, r.scaledFrom);
        delete r.scaledFrom;
        return { outcome: "done", detail };
      }
      case "failback": {
        const b = r.failedOver ?? [];
        // Forgotten first: the pools pushed after failback() read failedOver() from the records.
        delete r.failedOver;
        e.failback(b);
        return { outcome: "done", detail: b.length ? `traffic back on the primary endpoints of ${b.join(", ")}` : "nothing was failed over" };
      }
    }
  };

  /** Applies one decision: persisted with its steps pending, then each action done in order. */
  const apply = async (r: LadderRecord, d: LadderDecision, cfg: LadderConfig): Promise<void> => {
    let decision: LadderDecision | undefined = d;
    // A skipped rung feeds the ladder again at once; bounded by the number of rungs.
    for (let round = 0; decision && round <= cfg.rungs.length + 1; round++) {
      r.state = decision.state;
      const steps: HealingStep[] = decision.actions.map((a) => ({ at: now(), action: a.type, ...("attempt" in a ? { attempt: a.attempt } : {}), reason: decision!.reason, outcome: "pending" }));
      if (decision.reason === "recovered") steps.push({ at: now(), action: "recovered", reason: decision.reason, outcome: "done" });
      for (const s of steps) push(r, s);
      if (!persist(r)) return;
      let next: LadderDecision | undefined;
      for (let i = 0; i < decision.actions.length; i++) {
        const a = decision.actions[i]!;
        const step = steps[i]!;
        try {
          const o = await perform(r, a);
          step.outcome = o.outcome;
          if (o.detail !== undefined) step.detail = o.detail;
          if (o.skipped) next = decide(r.state, { type: "skipped" }, now(), cfg);
        } catch (e) {
          step.outcome = "failed";
          step.detail = (e as Error)?.message ?? String(e);
        }
        announce(r, step);
      }
      if (decision.reason === "recovered") {
        announce(r, steps[steps.length - 1]!);
        if (r.alert) {
          try {
            deps.effects.resolveAlert(r.alert);
          } catch {
            // already resolved by hand
          }
          delete r.alert;
        }
      }
      persist(r);
      decision = next;
    }
  };

  const step = (r: LadderRecord, e: LadderEvent, cfg: LadderConfig, t: number): LadderDecision => decide(r.state, e, t, cfg);

  const once = async (): Promise<void> => {
    const c = deps.config();
    const cfg = ladderOf(c);
    const t = now();
    const targets = await deps.targets();
    const excluded = new Set(c.exclude);
    const seen = new Set<string>();
    const work: Promise<void>[] = [];
    for (const x of targets) {
      if (excluded.has(x.app)) continue;
      const id = targetId(x.app, x.replica);
      seen.add(id);
      if (busy.has(id)) continue;
      let r = records.get(id);
      const v = verdictOf(x);
      if (!r) {
        if (v.healthy !== false) continue; // healthy targets keep no record
        r = { target: id, app: x.app, replica: x.replica, state: initialLadder(t), history: [] };
        records.set(id, r);
      }
      r.lastVerdict = { healthy: v.healthy, reason: v.reason, at: t };
      let d: LadderDecision | undefined;
      if (v.healthy === null) {
        // Starting or stopping: no verdict, but a recovery or a backoff still runs on time. A streak of unhealthy
        // verdicts before the ladder started belonged to the process procs just replaced: it starts over.
        if (r.state.phase === "healthy") delete r.unhealthySince;
        d = step(r, { type: "tick" }, cfg, t);
      } else if (v.healthy === false && r.state.phase === "healthy") {
        r.unhealthySince ??= t;
        if (t - r.unhealthySince < c.unhealthy_for) continue;
        d = step(r, { type: "verdict", healthy: false }, cfg, t);
        deps.publish({ type: "healing.started", source: "healing", target: id, severity: "warning", message: `${id}: unhealthy (${v.reason}) for ${Math.round((t - r.unhealthySince) / 1000)}s; the recovery ladder starts`, data: { app: x.app, replica: x.replica, reason: v.reason } });
        push(r, { at: t, action: "verdict", reason: v.reason, outcome: "unhealthy" });
      } else {
        if (v.healthy) delete r.unhealthySince;
        const first = step(r, { type: "verdict", healthy: v.healthy }, cfg, t);
        d = first.actions.length > 0 || first.reason === "recovered" ? first : step({ ...r, state: first.state }, { type: "tick" }, cfg, t);
      }
      if (r.state.phase === "healthy" && d.state.phase === "healthy" && d.actions.length === 0 && d.reason !== "recovered") {
        // A flap that never started the ladder: forget it once it is healthy again (an episode's history stays).
        if (v.healthy && r.history.length === 0) {
          records.delete(id);
          try {
            deps.store.remove(id);
          } catch {
            // reported by the store
          }
        }
        continue;
      }
      if (d.actions.length === 0 && d.reason !== "recovered") {
        r.state = d.state;
        continue;
      }
      const rec = r;
      busy.add(id);
      work.push(
        apply(rec, d, cfg)
          .catch((e) => deps.log.warn("healing step failed", { target: id, error: e }))
          .finally(() => busy.delete(id)),
      );
    }
    // Targets gone (scaled down, app removed): undo a failover they hold, then forget them.
    for (const [id, r] of [...records]) {
      if (seen.has(id) || busy.has(id)) continue;
      records.delete(id);
      if (r.failedOver?.length) deps.effects.failback(r.failedOver);
      try {
        deps.store.remove(id);
      } catch {
        // reported by the store
      }
    }
    lastEvaluation = t;
    // Not awaited by the schedule: a replace waits for readiness, and other targets must not wait for it.
    void Promise.all(work);
  };

  const schedule = () => {
    if (!running) return;
    timer = setTimeout(async () => {
      if (deps.config().enabled && !ticking) {
        ticking = true;
        try {
          await once();
        } catch (e) {
          deps.log.warn("healing evaluation failed", { error: e });
        } finally {
          ticking = false;
        }
      }
      schedule();
    }, deps.config().interval);
  };

  const view = (r: LadderRecord, cfg: LadderConfig): HealingView => {
    const s = r.state;
    const rung = s.phase === "climbing" ? cfg.rungs[s.rung] : undefined;
    let next: HealingView["next"];
    if (s.recoveringSince !== undefined) next = { at: s.recoveringSince + cfg.recoverAfterMs, step: "recovered (if it stays healthy)" };
    else if (s.phase === "climbing" && rung) next = { at: s.nextAt, step: s.attempt < rung.attempts ? `${rung.rung} #${s.attempt + 1}` : (cfg.rungs[s.rung + 1]?.rung ?? "alert") };
    return {
      target: r.target,
      app: r.app,
      replica: r.replica,
      phase: s.phase,
      ...(rung ? { rung: rung.rung } : {}),
      attempt: s.attempt,
      ...(next ? { next } : {}),
      since: s.since,
      ...(s.recoveringSince !== undefined ? { recoveringSince: s.recoveringSince } : {}),
      ...(r.lastVerdict ? { verdict: r.lastVerdict } : {}),
      scaledOut: r.scaledFrom !== undefined,
      failedOver: r.failedOver ?? [],
      ...(r.alert ? { alert: r.alert } : {}),
      history: r.history,
    };
  };

  return {
    start() {
      if (running) return;
      running = true;
      schedule();
    },
    stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
    /** The balancers some ladder failed over (the balancer link derives each pool's failover flag from this). */
    failedOver(balancer: string): boolean {
      for (const r of records.values()) if (r.failedOver?.includes(balancer)) return true;
      return false;
    },
    views(): HealingView[] {
      const cfg = ladderOf(deps.config());
      return [...records.values()].map((r) => view(r, cfg)).sort((a, b) => a.target.localeCompare(b.target));
    },
    ladder: () => ladderOf(deps.config()),
    lastEvaluation: () => lastEvaluation,
    /** One evaluation now (tests). */
    tick: once,
  };
}

export type HealingRunner = ReturnType<typeof createHealingRunner>;

// The health runner: scheduler + probes + thresholds + flap damping + history, for many checks at once.
//
// Lifecycle:  created ──start()──▶ running ──stop()──▶ stopped   (stop is idempotent; stop without start
// is fine; tick() works in any state, which is how tests drive it with a fake clock).
// Runs are never awaited one after another, so a slow target never delays the others. Nothing a probe or
// target does escapes as an exception: errors become critical results, and callback errors are caught
// and logged.
//
// Cost per run matters (10,000 checks a second is a normal load), so a run allocates little: no timer
// per run (runs wait in one FIFO per timeout value, and one timer sweeps the expired ones), no
// AbortController per run for probes that say they can share one (Probe.reusesSignal), and no promise
// race: the probe's promise settles the run directly, and a timeout or abort settles it first.
import { createFlapDamper, type FlapDamper } from "../core/health/flapping.ts";
import { createHistory, type History, type HistoryEntry, type HistorySummary } from "../core/health/history.ts";
import { createScheduler, stagger } from "../core/health/scheduler.ts";
import type { Status } from "../core/health/status.ts";
import { createThresholds, type Thresholds } from "../core/health/thresholds.ts";
import { systemClock, type Clock } from "../core/time.ts";
import { validateCheck, type CheckSpec, type FieldError } from "./check-spec.ts";
import { ProbeOptionsError, type ProbeResult } from "./probe.ts";
import { buildProbe, type BuiltProbe } from "./registry.ts";
import type { TtlPush } from "./probes/ttl.ts";

export type TransitionListener = (checkId: string, from: Status | null, to: Status, result: ProbeResult, flapping: boolean) => void;

export interface CheckSummary {
  checkId: string;
  status: Status | null;
  flapping: boolean;
  /** Phi of the TTL heartbeat detector (ttl checks only). */
  phi?: number;
  summary: HistorySummary;
}

export interface CheckerOptions {
  clock?: Clock;
  onTransition?: TransitionListener;
  onSummary?: (summaries: CheckSummary[]) => void;
  /** Every probe result (after the run, before thresholds): feeds per-result metrics. */
  onResult?: (checkId: string, result: ProbeResult) => void;
  /** Default 60 s; 0 disables periodic summaries. */
  summaryIntervalMs?: number;
  historySize?: number;
  /** Replaces buildProbe (tests inject fakes). */
  buildProbe?: (spec: CheckSpec, clock: Clock) => BuiltProbe;
  /** Wake-ups of the real-clock loop are rounded up to this many ms, so runs due close together share one
   *  wake-up (default 5: thousands of staggered checks would otherwise wake the loop for every due time). */
  wakeGranularityMs?: number;
  /** Called as each run starts with how late it is against its due time (schedule lag, for metrics). */
  onRunStart?: (checkId: string, lagMs: number) => void;
  /** Where callback errors go (default console.error). */
  log?: (message: string) => void;
}

export type AddResult = { ok: true } | { ok: false; errors: FieldError[] };

export interface Checker {
  /** Adds a check, or updates it when the id exists. Invalid specs change nothing. */
  add(spec: CheckSpec): AddResult;
  update(spec: CheckSpec): AddResult;
  remove(id: string): boolean;
  /** Records a TTL push and applies it at once. */
  pushTtl(id: string, status: TtlPush, note?: string): AddResult;
  /** Starts every due run and emits the summary when due; returns the number of runs started. */
  tick(now?: number): number;
  start(): void;
  stop(): void;
  /** Resolves once no run is in flight (for tests and shutdown). */
  idle(): Promise<void>;
  status(id: string): CheckSummary | undefined;
  summaries(): CheckSummary[];
  /** The last results of one check, oldest first. */
  history(id: string): HistoryEntry[] | undefined;
  readonly size: number;
}

interface Entry {
  spec: CheckSpec;
  built: BuiltProbe;
  thresholds: Thresholds;
  damper: FlapDamper;
  history: History;
  run?: Run;
  /** Controller kept between runs when the probe reuses its signal; dropped once aborted. */
  ac?: AbortController;
}

/** One run in flight. Settled exactly once: by the probe, by its timeout, or by an abort. */
interface Run {
  id: string;
  entry: Entry;
  ac: AbortController;
  /** performance.now() at start, and when the run times out (timeouts run on real time, like the probes). */
  started: number;
  deadline: number;
  timeoutMs: number;
  done: boolean;
}


/** Length of a timeout queue from which watch() drops its finished runs. */
const TRIM_MIN = 4096;

/** Longest the real-clock loop sleeps, so a clock jump or a missed wake-up costs at most this. */
const MAX_SLEEP_MS = 1000;

const sameProbe = (a: CheckSpec, b: CheckSpec) => a.kind === b.kind && a.target === b.target && JSON.stringify(a.options ?? {}) === JSON.stringify(b.options ?? {});

export function createChecker(options: CheckerOptions = {}): Checker {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? ((m: string) => console.error(m));
  const build = options.buildProbe ?? ((spec: CheckSpec, c: Clock) => buildProbe(spec.kind, spec.options, c));
  const summaryEvery = options.summaryIntervalMs ?? 60_000;
  const granularity = Math.max(0, options.wakeGranularityMs ?? 5);
  const scheduler = createScheduler(clock);
  const entries = new Map<string, Entry>();
  let active = 0;
  let idleWaiters: (() => void)[] = [];
  /** Runs by timeout value, each list in start order, so its deadlines are in order too. */
  const queues = new Map<number, Run[]>();
  /** Queue length at which watch() next drops finished runs (doubles with what stays, so trimming is O(1) a run). */
  const trimAt = new Map<Run[], number>();
  let sweepTimer: ReturnType<typeof setTimeout> | undefined;
  let sweepAt = Infinity;
  let sweeping = false;
  let nextSummaryAt = clock.now() + summaryEvery;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let started = false;
  let armedAt = Infinity;

  function safely(what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      log(`health: ${what} threw: ${(e as Error).message}`);
    }
  }

  function record(id: string, entry: Entry, r: ProbeResult): void {
    entry.history.push(clock.now(), r.status, r.latencyMs, r.output);
    if (options.onResult) {
      try {
        options.onResult(id, r);
      } catch (e) {
        log(`onResult callback failed: ${(e as Error).message}`);
      }
    }
    entry.thresholds.observe(r.status);
    const n = entry.damper.observe(r.status, entry.thresholds.current ?? r.status);
    if (n) safely("onTransition", () => options.onTransition?.(id, n.from, n.to, r, n.flapping));
  }

  function summaryOf(id: string, e: Entry): CheckSummary {
    const s: CheckSummary = { checkId: id, status: e.damper.notified, flapping: e.damper.flapping, summary: e.history.summary(clock.now()) };
    if (e.built.ttl) s.phi = e.built.ttl.phi();
    return s;
  }

  function startRun(id: string, entry: Entry): void {
    const { spec, built } = entry;
    const probe = built.probe;
    let ac = entry.ac;
    if (ac === undefined || ac.signal.aborted) {
      ac = new AbortController();
      entry.ac = probe.reusesSignal === true ? ac : undefined;
    }
    const started = performance.now();
    const run: Run = { id, entry, ac, started, deadline: started + spec.timeoutMs, timeoutMs: spec.timeoutMs, done: false };
    entry.run = run;
    active++;
    watch(run);
    let p: Promise<ProbeResult>;
    try {
      p = probe(spec.target, ac.signal);
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      (r) => settle(run, r),
      (e: unknown) => settle(run, { status: "critical", output: `probe failed: ${(e as Error)?.message ?? String(e)}`, latencyMs: performance.now() - run.started }),
    );
  }

  /** Ends a run with its result; a run that was aborted, replaced or removed meanwhile records nothing. */
  function settle(run: Run, r: ProbeResult): void {
    if (run.done) return;
    run.done = true;
    const { id, entry } = run;
    try {
      if (entries.get(id) !== entry || entry.run !== run) return;
      entry.run = undefined;
      record(id, entry, r);
      const next = scheduler.complete(id, r.status === "passing");
      if (next !== undefined) arm(next);
    } catch (e) {
      log(`health: run of ${id} failed: ${(e as Error).message}`);
    } finally {
      ended();
    }
  }

  /** Aborts a run in flight: the probe is told, and its result will be ignored. */
  function cancel(run: Run, why: string): void {
    if (run.done) return;
    run.done = true;
    if (run.entry.ac === run.ac) run.entry.ac = undefined;
    run.ac.abort(new Error(why));
    ended();
  }

  function ended(): void {
    if (--active > 0) return;
    // Nothing in flight: whatever the queues hold is done, and no timer should outlive the runs.
    if (!sweeping) {
      if (sweepTimer !== undefined) clearTimeout(sweepTimer);
      sweepTimer = undefined;
      sweepAt = Infinity;
      for (const q of queues.values()) q.length = 0;
    }
    if (idleWaiters.length === 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Queues a run for the timeout sweep. */
  function watch(run: Run): void {
    let q = queues.get(run.timeoutMs);
    if (q === undefined) queues.set(run.timeoutMs, (q = []));
    q.push(run);
    // The sweep may be armed for another queue's (longer) timeout: drop finished runs here too, so a
    // queue never holds much more than its own timeout's worth of runs.
    if (q.length >= (trimAt.get(q) ?? TRIM_MIN) && !sweeping) {
      dropDone(q);
      trimAt.set(q, Math.max(TRIM_MIN, 2 * q.length));
    }
    if (run.deadline < sweepAt) armSweep(run.deadline);
  }

  function dropDone(runs: Run[]): void {
    let h = 0;
    while (h < runs.length && runs[h].done) h++;
    runs.copyWithin(0, h);
    runs.length -= h;
  }

  function armSweep(at: number): void {
    if (sweepTimer !== undefined) clearTimeout(sweepTimer);
    sweepAt = at;
    sweepTimer = setTimeout(sweep, Math.max(0, at - performance.now()));
  }

  /** Times out every run past its deadline and drops finished runs from the queues' heads. */
  function sweep(): void {
    sweepTimer = undefined;
    sweepAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    sweeping = true;
    try {
      sweepQueues(now);
    } finally {
      sweeping = false;
    }
    for (const q of queues.values()) if (q.length > 0) next = Math.min(next, q[0].deadline);
    if (next < sweepAt) armSweep(next);
  }

  function sweepQueues(now: number): void {
    for (const runs of queues.values()) {
      let h = 0;
      while (h < runs.length) {
        const run = runs[h];
        if (!run.done) {
          if (run.deadline > now) break;
          timeOut(run);
        }
        h++;
      }
      trimAt.delete(runs);
      // Keep only the runs not yet swept (a few: most runs end long before their deadline).
      if (h > 0) {
        runs.copyWithin(0, h);
        runs.length -= h;
      }
    }
  }

  function timeOut(run: Run): void {
    if (run.entry.ac === run.ac) run.entry.ac = undefined;
    run.ac.abort(new DOMException(`timed out after ${run.timeoutMs} ms`, "TimeoutError"));
    settle(run, { status: "critical", output: `timed out after ${run.timeoutMs} ms`, latencyMs: performance.now() - run.started });
  }

  /** Wakes the loop at `at` unless it is already due to wake earlier. */
  function arm(at: number): void {
    if (!started) return;
    const rounded = granularity > 0 ? Math.ceil(at / granularity) * granularity : at;
    // Already due to wake no later (the common case, once per run): armedAt <= now + MAX_SLEEP_MS always.
    if (timer !== undefined && armedAt <= rounded) return;
    const now = clock.now();
    const wakeAt = Math.min(Math.max(now, rounded), now + MAX_SLEEP_MS);
    if (timer !== undefined && armedAt <= wakeAt) return;
    if (timer !== undefined) clearTimeout(timer);
    armedAt = wakeAt;
    timer = setTimeout(loop, wakeAt - now);
  }

  function loop(): void {
    timer = undefined;
    armedAt = Infinity;
    tick();
    const next = Math.min(scheduler.nextDueAt() ?? Infinity, summaryEvery > 0 ? nextSummaryAt : Infinity);
    arm(Number.isFinite(next) ? next : clock.now() + MAX_SLEEP_MS);
  }

  function tick(now = clock.now()): number {
    const due = scheduler.due(now);
    for (const id of due) {
      const entry = entries.get(id);
      if (!entry) continue;
      if (options.onRunStart) {
        const lag = clock.now() - (scheduler.dueAt(id) ?? now);
        try {
          options.onRunStart(id, lag);
        } catch (e) {
          log(`health: onRunStart threw: ${(e as Error).message}`);
        }
      }
      startRun(id, entry);
    }
    if (summaryEvery > 0 && now >= nextSummaryAt) {
      nextSummaryAt = now + summaryEvery;
      const list = [...entries].map(([id, e]) => summaryOf(id, e));
      safely("onSummary", () => options.onSummary?.(list));
    }
    return due.length;
  }

  function add(spec: CheckSpec): AddResult {
    const errors = validateCheck(spec);
    if (errors.length) return { ok: false, errors };
    const old = entries.get(spec.id);
    let built: BuiltProbe;
    if (old && sameProbe(old.spec, spec)) built = old.built;
    else {
      try {
        built = build(spec, clock);
      } catch (e) {
        const field = e instanceof ProbeOptionsError ? `options.${e.field}` : "options";
        return { ok: false, errors: [{ field, message: (e as Error).message }] };
      }
    }
    const keep = old && sameProbe(old.spec, spec) && JSON.stringify(old.spec.thresholds) === JSON.stringify(spec.thresholds) && JSON.stringify(old.spec.flapping) === JSON.stringify(spec.flapping);
    const entry: Entry = keep
      ? { ...old, spec, run: undefined, ac: undefined }
      : { spec, built, thresholds: createThresholds(spec.thresholds), damper: createFlapDamper(spec.flapping), history: createHistory({ size: options.historySize }) };
    if (old?.run) {
      cancel(old.run, "check updated");
      old.run = undefined;
    }
    entries.set(spec.id, entry);
    // The old entry's run was aborted and its result will be ignored, so free its scheduler slot now.
    if (scheduler.isRunning(spec.id)) scheduler.complete(spec.id, true);
    const now = clock.now();
    const first = old ? now + Math.min(spec.intervalMs, Math.max(0, (scheduler.dueAt(spec.id) ?? now) - now)) : spec.initialDelayMs !== undefined
        ? now + Math.max(0, spec.initialDelayMs)
        : stagger(spec.id, spec.intervalMs, now);
    scheduler.add(spec.id, first, { intervalMs: spec.intervalMs, unhealthyIntervalMs: spec.unhealthyIntervalMs });
    arm(first);
    return { ok: true };
  }

  return {
    get size() {
      return entries.size;
    },
    add,
    update: add,
    remove: function removeCheck(id) {
      const e = entries.get(id);
      if (!e) return false;
      if (e.run) cancel(e.run, "check removed");
      entries.delete(id);
      scheduler.remove(id);
      return true;
    },
    pushTtl: function pushTtl(id, status, note) {
      const e = entries.get(id);
      if (!e) return { ok: false, errors: [{ field: "id", message: "no such check", value: id }] };
      if (!e.built.ttl) return { ok: false, errors: [{ field: "kind", message: `check is "${e.spec.kind}", not "ttl"`, value: e.spec.kind }] };
      try {
        record(id, e, e.built.ttl.push(status, note));
      } catch (err) {
        const field = err instanceof ProbeOptionsError ? err.field : "status";
        return { ok: false, errors: [{ field, message: (err as Error).message, value: status }] };
      }
      return { ok: true };
    },
    tick,
    start: function start() {
      if (started) return;
      started = true;
      loop();
    },
    stop: function stop() {
      started = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      for (const [id, e] of entries) {
        if (!e.run) continue;
        cancel(e.run, "checker stopped");
        e.run = undefined;
        // Its result will be ignored, so free the slot here or the check would never be due again.
        scheduler.complete(id, true);
      }
    },
    idle: async function idle() {
      while (active > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    status: (id) => {
      const e = entries.get(id);
      return e ? summaryOf(id, e) : undefined;
    },
    summaries: () => [...entries].map(([id, e]) => summaryOf(id, e)),
    history: (id) => entries.get(id)?.history.entries(),
  };
}

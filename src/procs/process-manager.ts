// The host's process manager: spawns app replicas, restarts them by the pure decisions, stops them
// gracefully, rolls restarts, adopts survivors of an agent crash, and reports events and stats.
//
// Contract: no method throws and no hook failure escapes (they become `error` events); every
// operation on one app runs after the previous one finished (a per-app queue); stopAll() is
// idempotent, bounded by the apps' stop timeouts, and leaves no process group behind. Replicas are
// spawned detached (own process group), so signals go to -pid and reach grandchildren. Their output
// goes to files they hold, tailed here (output-tail.ts), so it survives our own death.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve as resolvePath } from "node:path";
import { type Clock, type Rng, systemClock, systemRng } from "../core/time.ts";
import { appInCrashLoop } from "../core/supervision/crash-loop.ts";
import { Reason, type RestartEvent, decide, initialRestartState } from "../core/supervision/restart-policy.ts";
import { findOrphans, revisionOfPid } from "./orphans.ts";
import { type Drivers, createDrivers } from "./drivers/index.ts";
import { removeScopes } from "./cgroups/replica-group.ts";
import { OutputTails } from "./output-tail.ts";
import { readProcStat } from "./proc-stat.ts";
import { settlesWithin, signalGroup, signalPid } from "./process-group.ts";
import { type App, Replica } from "./replica.ts";
import { ReplicaLifecycle } from "./replica-lifecycle.ts";
import { sampleStats } from "./stats-sampler.ts";
import { DRAIN_REPLY_MARGIN_MS } from "../protocol/balancer.ts";
import { type CrashLoopReason, type ReplaceResult, type RollingEndReason, StopReason } from "../protocol/procs.ts";
import { type ResolvedSpec, resolveSpec, underApp } from "./spec.ts";
import type {
  AdoptRecord,
  AppSnapshot,
  AppSpec,
  LogLine,
  ProcessManagerHooks,
  ProcsEvent,
  ProcsEventInput,
  ReplicaSnapshot,
} from "./types.ts";

export interface ProcessManagerOptions {
  readonly clock?: Clock;
  readonly rng?: Rng;
  /** Stats and enforcement tick (memory, watchdog, adopted liveness). */
  readonly statsIntervalMs?: number;
  /** How a hook's promise is awaited with its bound (tests observe the bound without waiting it out). */
  readonly settleHook?: (p: Promise<unknown>, boundMs: number) => Promise<boolean>;
  /** The task drivers; default: exec and oci over this host's cgroups as detected now. */
  readonly drivers?: Drivers;
}

export interface RollingHooks {
  /** The new replica is ready: route traffic to it. */
  onReady?(replica: ReplicaSnapshot): Promise<void> | void;
  /** Drain the old replica before it is stopped. */
  drain?(replica: ReplicaSnapshot): Promise<void> | void;
}

export type RollingResult = { ok: true; replaced: number } | { ok: false; replaced: number; reason: string };
export type { ReplaceResult } from "../protocol/procs.ts";




export class ProcessManager {
  private readonly apps = new Map<string, App>();
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly statsIntervalMs: number;
  private readonly settleHook: (p: Promise<unknown>, boundMs: number) => Promise<boolean>;
  private ticker: ReturnType<typeof setInterval> | null = null;
  private closed = false;
  private readonly life: ReplicaLifecycle;
  private applied = false;
  private readonly tails: OutputTails;
  readonly drivers: Drivers;
  /** Output files of specs without a log dir; created on first use, removed by stopAll(). */
  private privateLogDir: string | null = null;

  constructor(
    private readonly hooks: ProcessManagerHooks = {},
    opts: ProcessManagerOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.rng = opts.rng ?? systemRng;
    this.statsIntervalMs = opts.statsIntervalMs ?? 1_000;
    this.settleHook = opts.settleHook ?? settlesWithin;
    this.tails = new OutputTails((m) => this.error(m));
    this.drivers = opts.drivers ?? createDrivers();
    this.life = new ReplicaLifecycle({
      drivers: this.drivers,
      tails: this.tails,
      logDir: (spec) => spec.logs.dir ?? this.ownLogDir(),
      clock: this.clock,
      emit: (e) => this.emit(e),
      error: (m) => this.error(m),
      closed: () => this.closed,
      ended: (app, r, event) => this.afterEnd(app, r, event),
      portsTaken: (r) => {
        const taken = new Set<number>();
        for (const a of this.apps.values()) for (const o of a.replicas.values()) if (o !== r && o.port !== null) taken.add(o.port);
        return taken;
      },
    });
  }

  // ── operations ────────────────────────────────────────────────────────────────────────────

  /**
   * Reconcile to these specs: create, scale, and stop apps no longer listed. A replica keeps its revision's fields
   * (command, args, env, ...) and takes the app's other settings; new replicas run the spec's revision. Replacing
   * replicas of another revision is a rollout's work (launch / retire).
   */
  async apply(specs: readonly AppSpec[]): Promise<void> {
    if (this.closed) return;
    this.applied = true;
    this.startTicker();
    const names = new Set(specs.map((s) => s.name));
    const work: Promise<unknown>[] = [];
    for (const raw of specs) {
      const spec = resolveSpec(raw);
      const app = this.appFor(spec.name);
      const first = app.spec === null;
      app.spec = spec;
      // Replicas of ours that run without a record (a lost store): adopt them before anything starts, so a port
      // they hold is never taken twice; duplicates of a slot are stopped by adopt().
      if (first) this.adoptOrphans(app, spec);
      for (const r of app.replicas.values()) {
        // An adopted replica's fields were unknown (placeholder spec): the app's spec fills them, keeping its revision.
        r.spec = r.specKnown ? underApp(spec, r.spec) : { ...spec, revision: r.spec.revision };
        r.specKnown = r.specKnown || r.spec.revision === spec.revision;
        // Replicas adopted before their spec was known: now we know where their output goes.
        if (r.run) this.life.attachOutput(app, r, r.run);
      }
      work.push(this.enqueue(app, () => this.scaleTo(app, spec.replicas)));
    }
    for (const [name, app] of this.apps) {
      if (names.has(name)) continue;
      work.push(
        this.enqueue(app, async () => {
          await this.scaleTo(app, 0);
          this.apps.delete(name);
        }),
      );
    }
    await Promise.all(work);
  }

  async scale(appName: string, n: number): Promise<void> {
    const app = this.apps.get(appName);
    if (!app?.spec) return this.error(`scale: unknown app ${appName}`);
    const spec = app.spec;
    app.spec = { ...spec, replicas: Math.max(0, Math.floor(n)) };
    await this.enqueue(app, () => this.scaleTo(app, app.spec!.replicas));
  }

  /** Stop one replica gracefully and start it again in the same slot (same id and port). */
  async restartReplica(appName: string, id: number): Promise<void> {
    const app = this.apps.get(appName);
    const r = app?.replicas.get(id);
    if (!app?.spec || !r) return this.error(`restart: unknown replica ${appName}/${id}`);
    await this.enqueue(app, async () => {
      await this.stop(app, r, StopReason.OPERATOR_RESTART);
      if (this.closed) return;
      r.restart = initialRestartState(app.spec!.restart);
      r.restarts += 1;
      this.life.launch(app, r);
    });
  }

  /**
   * Replace each replica in turn: start a new one, wait until ready, let the caller route to it and
   * drain the old one, then stop the old one. Stops at the first new replica that never becomes
   * ready, leaving the remaining old ones serving.
   */
  async rollingRestart(appName: string, hooks: RollingHooks = {}): Promise<RollingResult> {
    const app = this.apps.get(appName);
    if (!app?.spec) {
      this.error(`rolling restart: unknown app ${appName}`);
      return { ok: false, replaced: 0, reason: "unknown-app" };
    }
    return this.enqueue(app, () => this.roll(app, hooks)) as Promise<RollingResult>;
  }

  /**
   * Replace one replica by a fresh slot (a new id and port): start it, wait until it is ready, let the caller route to
   * it and drain the old one, then stop the old one and free its slot. A fresh replica that never becomes ready is
   * stopped and the old one keeps its slot (the caller climbs on).
   */
  async replace(appName: string, id: number, hooks: RollingHooks = {}): Promise<ReplaceResult> {
    const app = this.apps.get(appName);
    if (!app?.spec || !app.replicas.has(id)) return { ok: false, reason: `no replica ${appName}/${id}` };
    const r = await this.enqueue(app, async (): Promise<ReplaceResult> => {
      const old = app.replicas.get(id);
      if (!old || !app.spec) return { ok: false, reason: `no replica ${appName}/${id}` };
      if (this.closed) return { ok: false, reason: "shutting down" };
      return this.replaceOne(app, app.spec, old, hooks, StopReason.REPLACED);
    });
    return r ?? { ok: false, reason: "the replace failed" };
  }

  /** A rollout's new replica: a fresh slot running `raw`'s revision beside the others. Null when the app is unknown. */
  async launch(appName: string, raw: AppSpec): Promise<number | null> {
    const app = this.apps.get(appName);
    if (!app?.spec) {
      this.error(`launch: unknown app ${appName}`);
      return null;
    }
    const r = await this.enqueue(app, async () => {
      if (this.closed || !app.spec) return null;
      const r = this.createReplica(app, underApp(app.spec, resolveSpec(raw)));
      this.life.launch(app, r);
      return r.id;
    });
    return r ?? null;
  }

  /** A rollout's retirement: drain (beforeStop hook), stop, and free the slot. False when there is no such replica. */
  async retire(appName: string, id: number): Promise<boolean> {
    const app = this.apps.get(appName);
    if (!app?.replicas.has(id)) return false;
    const done = await this.enqueue(app, async () => {
      const r = app.replicas.get(id);
      if (!r) return false;
      await this.callHook(() => this.hooks.beforeStop?.(r.snapshot()), "beforeStop", app.spec?.hookTimeoutMs);
      await this.stop(app, r, StopReason.ROLLOUT);
      app.replicas.delete(id);
      this.updateVerdict(app, "scaled");
      return true;
    });
    return done ?? false;
  }

  /** Leave crash-loop now and start every replica it held. */
  async resetCrashLoop(appName: string): Promise<void> {
    const app = this.apps.get(appName);
    if (!app) return this.error(`reset: unknown app ${appName}`);
    await this.enqueue(app, async () => {
      for (const r of app.replicas.values()) {
        if (r.state === "crash-loop") this.clearSlot(app, r, Reason.OPERATOR_RESET);
        else if (app.spec) r.restart = decide({ ...r.restart, policy: app.spec.restart }, { type: "reset" }, this.clock.now(), this.rng).next;
      }
      this.updateVerdict(app, Reason.OPERATOR_RESET);
    });
  }

  /** Last `tail` lines of one replica, or of all the app's replicas merged by time. */
  logs(appName: string, replicaId?: number, tail = 100): LogLine[] {
    const app = this.apps.get(appName);
    if (!app) return [];
    const rs = replicaId === undefined ? [...app.replicas.values()] : [app.replicas.get(replicaId)].filter((r) => r !== undefined);
    const lines = rs.flatMap((r) => r.sink.tail(tail).map((e) => ({ app: appName, id: r.id, ...e })));
    lines.sort((a, b) => a.at - b.at);
    return lines.slice(-tail);
  }

  followLogs(appName: string, cb: (line: LogLine) => void): () => void {
    const app = this.appFor(appName);
    app.followers.add(cb);
    return function unsubscribe() {
      app.followers.delete(cb);
    };
  }

  snapshot(): AppSnapshot[] {
    return [...this.apps.entries()].map(([name, app]) => ({
      name,
      desired: app.spec?.replicas ?? app.replicas.size,
      crashLoop: app.inCrashLoop,
      replicas: [...app.replicas.values()].sort((a, b) => a.id - b.id).map((r) => r.snapshot()),
    }));
  }

  /** Stop every replica of every app (graceful, then SIGKILL), in parallel; idempotent. */
  async stopAll(): Promise<void> {
    this.closed = true;
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    const work: Promise<void>[] = [];
    for (const app of this.apps.values()) {
      for (const r of app.replicas.values()) work.push(this.stop(app, r, StopReason.SHUTDOWN));
    }
    await Promise.all(work);
    removeScopes();
    this.tails.stop();
    if (this.privateLogDir) rmSync(this.privateLogDir, { recursive: true, force: true });
    this.privateLogDir = null;
  }

  /**
   * Hand every replica to a successor agent (a takeover): stop supervising without signalling any process. Their
   * records stay where the supervisor keeps them, for the successor to adopt; their output files stay open in them.
   * Afterwards the manager is closed (no restart, no stats, no tails) and stopAll() has nothing left to stop. A stop
   * already under way finishes; a replica waiting out a backoff is left unstarted (the successor starts it).
   * Returns how many replicas were running when they were let go.
   */
  release(): number {
    this.closed = true;
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    let running = 0;
    for (const app of this.apps.values()) {
      for (const r of app.replicas.values()) {
        // Also ends a looping slot's cooldown timer.
        r.clearTimer();
        if (r.run && !r.run.stopping) running++;
      }
    }
    this.apps.clear();
    this.tails.stop();
    // Released replicas may still write into a private log dir: it is theirs now, not ours to remove.
    this.privateLogDir = null;
    return running;
  }

  /**
   * Take back replicas recorded before an agent crash. A record whose pid is alive with the same
   * start time is supervised again (polled, since it is not our child). A dead one is reported gone.
   * A live pid with another start time is someone else's process now: reported, never killed.
   * Call before the first apply(); apply() then kills what the specs no longer want.
   */
  adopt(records: readonly AdoptRecord[]): void {
    if (this.closed) return;
    this.startTicker();
    for (const rec of records) {
      const st = readProcStat(rec.pid);
      const base = { app: rec.app, id: rec.id, pid: rec.pid };
      if (!st || st.state === "Z") {
        this.emit({ type: "adopt-rejected", ...base, reason: "gone", killed: false });
        continue;
      }
      if (st.startTime !== rec.startTime) {
        this.emit({ type: "adopt-rejected", ...base, reason: "pid-reused", killed: false });
        continue;
      }
      const known = this.apps.get(rec.app);
      const unwanted = this.applied && !known?.spec ? "unknown-app" : known?.replicas.has(rec.id) ? "duplicate" : null;
      if (unwanted) {
        if (!signalGroup(rec.pid, "SIGKILL")) signalPid(rec.pid, "SIGKILL");
        this.emit({ type: "adopt-rejected", ...base, reason: unwanted, killed: true });
        continue;
      }
      const app = this.appFor(rec.app);
      const revision = revisionOfPid(rec.pid);
      const fallback = app.spec ?? resolveSpec({ name: rec.app, command: "", replicas: 0 });
      const r = new Replica(rec.app, rec.id, rec.port, initialRestartState(fallback.restart), { ...fallback, revision });
      // Its own fields are known only when it runs the app's revision; otherwise a restart runs the app's spec.
      r.specKnown = app.spec !== null && revision === app.spec.revision;
      r.adopted = true;
      const run = this.life.newRun(rec.pid, null, rec.startTime);
      run.isReady = true;
      run.ready.resolve({ ok: true });
      r.run = run;
      r.state = "ready";
      app.replicas.set(rec.id, r);
      this.life.attachOutput(app, r, run);
      this.emit({ type: "adopted", app: rec.app, id: rec.id, pid: rec.pid, port: rec.port, revision });
    }
  }

  private adoptOrphans(app: App, spec: ResolvedSpec): void {
    const known = new Set<number>();
    for (const r of app.replicas.values()) if (r.run) known.add(r.run.pid);
    const orphans = findOrphans(ownerOf(this.life.logDirOf(spec)), spec.name, spec.portEnv, known);
    if (orphans.length > 0) this.adopt(orphans);
  }

  /** Every stop goes through here: mark it requested (so its exit never restarts), then stop. */
  private stop(app: App, r: Replica, reason: StopReason): Promise<void> {
    r.restart = decide(r.restart, { type: "stop-requested" }, this.clock.now(), this.rng).next;
    return this.life.stopReplica(app, r, reason);
  }

  // ── decisions after an end of life ───────────────────────────────────────────────────────

  /** Ask the pure policy what follows an end of life, and do it. The app's current policy is the one in force. */
  private afterEnd(app: App, r: Replica, event: RestartEvent): void {
    if (this.closed) return;
    if (!app.spec) {
      // An adopted replica of an app with no spec yet: forget the slot so apply() starts a fresh one.
      r.state = "stopped";
      app.replicas.delete(r.id);
      return;
    }
    const policy = app.spec.restart;
    const d = decide({ ...r.restart, policy }, event, this.clock.now(), this.rng);
    r.restart = d.next;
    switch (d.action) {
      case "restart":
        r.state = "backoff";
        r.restarts += 1;
        this.emit({ type: "restarting", app: r.app, id: r.id, delayMs: d.delayMs, reason: d.reason });
        if (d.delayMs <= 0) {
          // An immediate restart skips the timer queue (a 0 ms timer still waits for the next timer phase, ~1 ms);
          // a microtask lets the exit handling that called us finish first.
          queueMicrotask(() => {
            if (r.state === "backoff") this.life.launch(app, r);
          });
        } else r.timer = setTimeout(() => this.life.launch(app, r), d.delayMs);
        return;
      case "crash-loop": {
        r.state = "crash-loop";
        if (d.reason === Reason.CRASH_LOOP || !r.timer) {
          const opts = policy.crashLoop;
          this.emit({ type: "replica-crash-loop", app: r.app, id: r.id, restarts: r.restart.crashLoop.restarts.length, windowMs: opts.windowMs, cooldownMs: opts.cooldownMs, reason: d.reason });
          r.clearTimer();
          r.timer = setTimeout(() => {
            r.timer = null;
            void this.enqueue(app, async () => this.clearSlot(app, r, Reason.COOLDOWN_ELAPSED));
          }, d.delayMs);
        }
        this.updateVerdict(app, d.reason);
        return;
      }
      case "stop":
        r.state = r.lastExit && r.lastExit.code === 0 && r.lastExit.signal === null ? "exited" : "failed";
        this.emit({ type: "stopped", app: r.app, id: r.id, pid: null, forced: false, reason: d.reason });
        return;
      case "none":
        return;
    }
  }

  /** A looping slot's cooldown is over (or an operator reset it): a fresh budget and a new process. */
  private clearSlot(app: App, r: Replica, reason: Reason): void {
    if (app.replicas.get(r.id) !== r || r.state !== "crash-loop" || !app.spec) return;
    r.clearTimer();
    r.restart = decide({ ...r.restart, policy: app.spec.restart }, { type: "reset" }, this.clock.now(), this.rng).next;
    this.life.launch(app, r);
    this.updateVerdict(app, reason);
  }

  /** The app-level verdict follows its slots: reported once when most are looping, and once when that ends. */
  private updateVerdict(app: App, reason: CrashLoopReason): void {
    const spec = app.spec;
    if (!spec) return;
    let looping = 0;
    for (const r of app.replicas.values()) if (r.state === "crash-loop") looping++;
    const verdict = appInCrashLoop(looping, spec.replicas);
    if (verdict === app.inCrashLoop) return;
    app.inCrashLoop = verdict;
    if (verdict) {
      const opts = spec.restart.crashLoop;
      this.emit({ type: "crash-loop", app: spec.name, looping, slots: spec.replicas, restarts: opts.maxRestarts + 1, windowMs: opts.windowMs, cooldownMs: opts.cooldownMs, reason });
    } else this.emit({ type: "crash-loop-cleared", app: spec.name, reason });
  }

  // ── scaling and rolling ──────────────────────────────────────────────────────────────────

  private async scaleTo(app: App, n: number): Promise<void> {
    if (this.closed) return;
    const current = [...app.replicas.values()].sort((a, b) => a.id - b.id);
    if (current.length < n && app.spec) {
      for (let k = current.length; k < n; k++) {
        const r = this.createReplica(app, app.spec);
        this.life.launch(app, r);
      }
      return;
    }
    // A rollout in progress holds up to `surge` slots beyond the count and retires them itself: trim only above.
    const keep = n + (app.spec?.surge ?? 0);
    if (current.length <= keep) return;
    // Replicas of another revision go first (a rollout left them), then the newest.
    const target = app.spec?.revision ?? 0;
    const order = [...current].sort((a, b) => Number(a.spec.revision !== target) - Number(b.spec.revision !== target) || a.id - b.id);
    const victims = order.slice(keep).reverse();
    await Promise.all(
      victims.map(async (r) => {
        await this.callHook(() => this.hooks.beforeStop?.(r.snapshot()), "beforeStop", app.spec?.hookTimeoutMs);
        await this.stop(app, r, StopReason.SCALE_DOWN);
        app.replicas.delete(r.id);
      }),
    );
    // Fewer slots wanted: the verdict is over fewer of them.
    this.updateVerdict(app, "scaled");
  }

  private createReplica(app: App, spec: ResolvedSpec): Replica {
    let id = 0;
    while (app.replicas.has(id)) id++;
    const r = new Replica(spec.name, id, null, initialRestartState(spec.restart), spec);
    app.replicas.set(id, r);
    return r;
  }

  private async roll(app: App, hooks: RollingHooks): Promise<RollingResult> {
    const spec = app.spec!;
    const olds = [...app.replicas.values()].sort((a, b) => a.id - b.id);
    let replaced = 0;
    const abort = (reason: RollingEndReason, message: string): RollingResult => {
      this.emit({ type: "rolling-restart", app: spec.name, status: "aborted", replaced, reason, message });
      return { ok: false, replaced, reason: message };
    };
    for (const old of olds) {
      if (this.closed) return abort("shutting-down", "shutting down");
      if (!app.replicas.has(old.id)) continue;
      const r = await this.replaceOne(app, spec, old, hooks, StopReason.ROLLING_RESTART);
      if (!r.ok) return abort("replica-not-ready", r.reason);
      replaced++;
    }
    this.emit({ type: "rolling-restart", app: spec.name, status: "done", replaced, reason: "all-replaced", message: "all replicas replaced" });
    return { ok: true, replaced };
  }

  /** One replacement: the fresh replica (next id, so a new port) ready before the old one is drained and stopped. */
  private async replaceOne(app: App, spec: ResolvedSpec, old: Replica, hooks: RollingHooks, reason: StopReason): Promise<ReplaceResult> {
    const id = Math.max(...app.replicas.keys()) + 1;
    const fresh = new Replica(spec.name, id, null, initialRestartState(spec.restart), underApp(spec, old.spec));
    app.replicas.set(id, fresh);
    this.life.launch(app, fresh);
    const outcome = fresh.run ? await fresh.run.ready.promise : { ok: false as const, reason: fresh.lastExit?.reason ?? "spawn failed" };
    if (!outcome.ok) {
      await this.stop(app, fresh, StopReason.ROLLING_RESTART_ABORTED);
      app.replicas.delete(id);
      return { ok: false, reason: `replica ${id} did not become ready: ${outcome.reason}` };
    }
    await this.callHook(() => hooks.onReady?.(fresh.snapshot()), "onReady", spec.hookTimeoutMs);
    await this.callHook(() => hooks.drain?.(old.snapshot()), "drain", spec.hookTimeoutMs);
    await this.stop(app, old, reason);
    app.replicas.delete(old.id);
    return { ok: true, replica: id, port: fresh.snapshot().port };
  }

  // ── periodic work ────────────────────────────────────────────────────────────────────────

  private startTicker(): void {
    if (this.ticker || this.closed) return;
    this.ticker = setInterval(() => {
      try {
        this.tick();
      } catch (e) {
        this.error(`tick: ${String(e)}`);
      }
    }, this.statsIntervalMs);
  }

  private tick(): void {
    const now = this.clock.now();
    const batch = sampleStats(this.apps.values(), now);
    if (batch.length > 0) this.callSync(() => this.hooks.onStats?.(batch), "onStats");
    for (const app of this.apps.values()) {
      const spec = app.spec;
      for (const r of app.replicas.values()) {
        const run = r.run;
        if (!run || run.stopping || run.cause) continue;
        if (run.proc === null && !this.life.adoptedAlive(run)) {
          run.cause = "vanished";
          void this.life.onExit(app, r, run, null, null);
          continue;
        }
        if (!spec) continue;
        if (spec.maxMemoryBytes !== null && r.rssBytes > spec.maxMemoryBytes) {
          this.life.terminate(app, r, run, "memory-limit");
        } else if (spec.watchdog && run.isReady && run.output !== null && now - run.lastBeatMono > spec.watchdog.timeoutMs) {
          this.life.terminate(app, r, run, "watchdog-timeout");
        }
      }
    }
  }

  // ── plumbing ─────────────────────────────────────────────────────────────────────────────

  private appFor(name: string): App {
    let app = this.apps.get(name);
    if (!app) {
      app = { spec: null, replicas: new Map(), inCrashLoop: false, queue: Promise.resolve(), followers: new Set() };
      this.apps.set(name, app);
    }
    return app;
  }

  private ownLogDir(): string {
    this.privateLogDir ??= mkdtempSync(join(tmpdir(), "polis-procs-"));
    return this.privateLogDir;
  }

  private enqueue<T>(app: App, op: () => Promise<T>): Promise<T | undefined> {
    const next = app.queue.then(op).catch((e) => {
      this.error(`operation failed: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    });
    app.queue = next;
    return next;
  }

  /** A hook that never answers must not wedge an app's queue: it is bounded by the app's drain bound (hookTimeoutMs). */
  private async callHook(fn: () => unknown, name: string, boundMs = DRAIN_REPLY_MARGIN_MS): Promise<void> {
    const p = Promise.resolve()
      .then(fn)
      .catch((e) => this.error(`${name} hook threw: ${String(e)}`));
    if (!(await this.settleHook(p, boundMs))) this.error(`${name} hook did not settle in ${boundMs} ms; going on`);
  }

  private callSync(fn: () => unknown, name: string): void {
    try {
      fn();
    } catch (e) {
      this.error(`${name} hook threw: ${String(e)}`);
    }
  }

  private emit(e: ProcsEventInput): void {
    try {
      this.hooks.onEvent?.({ ...e, at: Date.now() } as ProcsEvent);
    } catch {
      // The event hook itself failed: nowhere left to report it, and it must not break supervision.
    }
  }

  private error(message: string): void {
    this.emit({ type: "error", app: "", message });
  }
}

/** The owner a replica's environment names: its agent's log dir, absolute (stable across restarts, unique per data dir). */
export function ownerOf(logDir: string): string {
  return resolvePath(logDir);
}

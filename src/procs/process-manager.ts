// The host's process manager: spawns app replicas, restarts them by the pure decisions, stops them
// gracefully, rolls restarts, adopts survivors of an agent crash, and reports events and stats.
//
// Contract: no method throws and no hook failure escapes (they become `error` events); every
// operation on one app runs after the previous one finished (a per-app queue); stopAll() is
// idempotent, bounded by the apps' stop timeouts, and leaves no process group behind. Replicas are
// spawned detached (own process group), so signals go to -pid and reach grandchildren.
import { type Clock, type Rng, systemClock, systemRng } from "../core/time.ts";
import { INITIAL_CRASH_LOOP, type CrashLoopState, isTripped } from "../core/supervision/crash-loop.ts";
import {
  Reason,
  type RestartEvent,
  type KillCause,
  decide,
  initialRestartState,
} from "../core/supervision/restart-policy.ts";
import { pickFreePort, listeningPorts } from "./listening-ports.ts";
import { readProcStat } from "./proc-stat.ts";
import { groupAlive, signalGroup, signalPid, waitGone } from "./process-group.ts";
import { waitForPort } from "./readiness.ts";
import { Replica, type Run, deferred } from "./replica.ts";
import { readLines } from "./line-reader.ts";
import { sampleStats } from "./stats-sampler.ts";
import { type ResolvedSpec, resolveSpec } from "./spec.ts";
import type {
  AdoptRecord,
  AppSnapshot,
  AppSpec,
  LogLine,
  ProcessManagerHooks,
  ProcsEvent,
  ReplicaSnapshot,
} from "./types.ts";

export interface ProcessManagerOptions {
  readonly clock?: Clock;
  readonly rng?: Rng;
  /** Stats and enforcement tick (memory, watchdog, adopted liveness). */
  readonly statsIntervalMs?: number;
}

export interface RollingHooks {
  /** The new replica is ready: route traffic to it. */
  onReady?(replica: ReplicaSnapshot): Promise<void> | void;
  /** Drain the old replica before it is stopped. */
  drain?(replica: ReplicaSnapshot): Promise<void> | void;
}

export type RollingResult = { ok: true; replaced: number } | { ok: false; replaced: number; reason: string };

/** A hook that never answers must not wedge an app's queue forever. */
const HOOK_TIMEOUT_MS = 60_000;
/** After SIGKILL a process is gone within milliseconds unless stuck in the kernel (D state). */
const KILL_GRACE_MS = 5_000;
/** Output left in the pipes after an exit is read for at most this long. */
const DRAIN_OUTPUT_MS = 1_000;

interface App {
  spec: ResolvedSpec | null;
  readonly replicas: Map<number, Replica>;
  crashLoop: CrashLoopState;
  cooldownTimer: ReturnType<typeof setTimeout> | null;
  queue: Promise<unknown>;
  readonly followers: Set<(line: LogLine) => void>;
}

type Emit = ProcsEvent extends infer E ? (E extends ProcsEvent ? Omit<E, "at"> : never) : never;

export class ProcessManager {
  private readonly apps = new Map<string, App>();
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly statsIntervalMs: number;
  private ticker: ReturnType<typeof setInterval> | null = null;
  private closed = false;
  private applied = false;

  constructor(
    private readonly hooks: ProcessManagerHooks = {},
    opts: ProcessManagerOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.rng = opts.rng ?? systemRng;
    this.statsIntervalMs = opts.statsIntervalMs ?? 1_000;
  }

  // ── operations ────────────────────────────────────────────────────────────────────────────

  /** Reconcile to these specs: create, scale, and stop apps no longer listed. New specs apply at each replica's next spawn. */
  async apply(specs: readonly AppSpec[]): Promise<void> {
    if (this.closed) return;
    this.applied = true;
    this.startTicker();
    const names = new Set(specs.map((s) => s.name));
    const work: Promise<unknown>[] = [];
    for (const raw of specs) {
      const spec = resolveSpec(raw);
      const app = this.appFor(spec.name);
      app.spec = spec;
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
      await this.stopReplica(app, r, "operator-restart");
      if (this.closed) return;
      r.restart = initialRestartState(app.spec!.restart);
      r.restarts += 1;
      this.launch(app, r);
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

  /** Leave crash-loop now and start every replica it held. */
  async resetCrashLoop(appName: string): Promise<void> {
    const app = this.apps.get(appName);
    if (!app) return this.error(`reset: unknown app ${appName}`);
    await this.enqueue(app, async () => this.clearCrashLoop(app, Reason.OPERATOR_RESET));
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
      crashLoop: isTripped(app.crashLoop),
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
      if (app.cooldownTimer) clearTimeout(app.cooldownTimer);
      for (const r of app.replicas.values()) work.push(this.stopReplica(app, r, "shutdown"));
    }
    await Promise.all(work);
    for (const app of this.apps.values()) for (const r of app.replicas.values()) r.sink.close();
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
      const spec = app.spec ?? resolveSpec({ name: rec.app, command: "", replicas: 0 });
      const r = new Replica(rec.app, rec.id, rec.port, initialRestartState(spec.restart), spec);
      r.adopted = true;
      r.run = this.newRun(rec.pid, null, rec.startTime);
      r.run.isReady = true;
      r.run.ready.resolve({ ok: true });
      r.state = "ready";
      app.replicas.set(rec.id, r);
      this.emit({ type: "adopted", app: rec.app, id: rec.id, pid: rec.pid, port: rec.port });
    }
  }

  // ── lifecycle of one replica ─────────────────────────────────────────────────────────────

  private newRun(pid: number, proc: Run["proc"], startTime: number | null): Run {
    return {
      pid,
      proc,
      startTime,
      startedAtWall: Date.now(),
      startedAtMono: this.clock.now(),
      ended: deferred<void>(),
      ready: deferred(),
      readers: [],
      isReady: false,
      cause: null,
      stopping: false,
      lastBeatMono: this.clock.now(),
      prevTicks: null,
      prevTicksAt: 0,
    };
  }

  /** Spawn the replica's process now (or park it if the app is in crash-loop). */
  private launch(app: App, r: Replica): void {
    r.clearTimer();
    const spec = app.spec;
    if (this.closed || !spec) return;
    if (isTripped(app.crashLoop)) {
      r.state = "crash-loop";
      return;
    }
    r.adopted = false;
    r.state = "starting";
    this.assignPort(app, r, spec);
    this.emit({ type: "starting", app: spec.name, id: r.id, port: r.port, attempt: r.restarts });
    if (spec.port.kind === "range" && r.port === null) {
      return this.onSpawnFailed(app, r, `no free port in ${spec.port.from}-${spec.port.to}`);
    }
    let proc: Run["proc"];
    try {
      proc = Bun.spawn([spec.command, ...spec.args], {
        cwd: spec.cwd,
        env: this.envFor(spec, r),
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
        detached: true,
      });
    } catch (e) {
      return this.onSpawnFailed(app, r, e instanceof Error ? e.message : String(e));
    }
    const run = this.newRun(proc!.pid, proc!, readProcStat(proc!.pid)?.startTime ?? null);
    r.run = run;
    this.emit({ type: "spawned", app: spec.name, id: r.id, pid: run.pid, startTime: run.startTime });
    run.readers.push(readLines(proc!.stdout, (l) => this.onLine(app, r, run, "stdout", l)));
    run.readers.push(readLines(proc!.stderr, (l) => this.onLine(app, r, run, "stderr", l)));
    proc!.exited.then(
      () => this.onExit(app, r, run, proc!.exitCode, signalName(proc!.signalCode)),
      () => this.onExit(app, r, run, null, null),
    );
    void this.awaitReadiness(app, r, run, spec);
  }

  private assignPort(app: App, r: Replica, spec: ResolvedSpec): void {
    if (spec.port.kind === "shared") r.port = spec.port.port;
    else if (spec.port.kind === "none") r.port = null;
    else {
      const listening = listeningPorts();
      const inRange = r.port !== null && r.port >= spec.port.from && r.port <= spec.port.to;
      // Our previous process in this slot is dead and its group killed: a listener now is a stranger.
      if (inRange && !listening.has(r.port!)) return;
      const taken = new Set([...app.replicas.values()].filter((o) => o !== r && o.port !== null).map((o) => o.port!));
      r.port = pickFreePort(spec.port.from, spec.port.to, taken, listening);
    }
  }

  private envFor(spec: ResolvedSpec, r: Replica): Record<string, string> {
    const env: Record<string, string> = { ...(process.env as Record<string, string>), ...spec.env };
    if (r.port !== null) env[spec.portEnv] = String(r.port);
    env.POLIS_APP = spec.name;
    env.POLIS_REPLICA = String(r.id);
    return env;
  }

  private async awaitReadiness(app: App, r: Replica, run: Run, spec: ResolvedSpec): Promise<void> {
    const { kind, timeoutMs } = spec.readiness;
    if (kind === "none") return this.markReady(app, r, run);
    if (kind === "port" && r.port !== null) {
      const ok = await waitForPort(r.port, timeoutMs, () => r.run !== run || run.isReady || run.stopping);
      if (ok && r.run === run) return this.markReady(app, r, run);
    } else if (kind === "stdout") {
      const expired = deferred<void>();
      const timer = setTimeout(() => expired.resolve(), timeoutMs);
      await Promise.race([run.ready.promise, run.ended.promise, expired.promise]);
      clearTimeout(timer);
    }
    if (run.isReady || r.run !== run || run.stopping || run.cause) return;
    const message = `not ready after ${timeoutMs} ms (readiness ${kind}${kind === "stdout" ? ` /${spec.readiness.pattern?.source ?? ""}/` : ` on port ${r.port}`})`;
    run.ready.resolve({ ok: false, reason: message });
    this.emit({ type: "not-ready", app: r.app, id: r.id, pid: run.pid, reason: Reason.READINESS_TIMEOUT, message });
    this.terminate(app, r, run, "readiness-timeout");
  }

  private markReady(app: App, r: Replica, run: Run): void {
    if (run.isReady || r.run !== run) return;
    run.isReady = true;
    run.lastBeatMono = this.clock.now();
    r.state = "ready";
    run.ready.resolve({ ok: true });
    this.emit({
      type: "ready",
      app: r.app,
      id: r.id,
      pid: run.pid,
      port: r.port,
      afterMs: Math.round(this.clock.now() - run.startedAtMono),
    });
  }

  private onLine(app: App, r: Replica, run: Run, stream: "stdout" | "stderr", line: string): void {
    const entry = r.sink.write(stream, line, Date.now());
    const spec = app.spec;
    if (stream === "stdout" && spec) {
      if (!run.isReady && spec.readiness.kind === "stdout" && spec.readiness.pattern?.test(line)) this.markReady(app, r, run);
      if (spec.watchdog?.pattern.test(line)) run.lastBeatMono = this.clock.now();
    }
    if (app.followers.size === 0) return;
    const out: LogLine = { app: r.app, id: r.id, ...entry };
    for (const cb of app.followers) {
      try {
        cb(out);
      } catch (e) {
        this.error(`log follower threw: ${String(e)}`);
      }
    }
  }

  /** Our own kill (memory, watchdog, readiness): graceful signal to the group, SIGKILL after the stop timeout. */
  private terminate(app: App, r: Replica, run: Run, cause: KillCause): void {
    if (run.cause || run.stopping) return;
    run.cause = cause;
    const spec = app.spec;
    const signal = spec?.stopSignal ?? "SIGTERM";
    r.state = "stopping";
    this.emit({ type: "stopping", app: r.app, id: r.id, pid: run.pid, signal, reason: cause });
    this.signal(run, signal);
    const timer = setTimeout(() => this.signal(run, "SIGKILL"), spec?.stopTimeoutMs ?? 10_000);
    void run.ended.promise.then(() => clearTimeout(timer));
  }

  private signal(run: Run, sig: NodeJS.Signals): void {
    if (!signalGroup(run.pid, sig)) signalPid(run.pid, sig);
  }

  private async onExit(app: App, r: Replica, run: Run, code: number | null, signal: string | null): Promise<void> {
    try {
      // Leftovers of the group (grandchildren) must not outlive the leader nor hold its port.
      if (!run.stopping) signalGroup(run.pid, "SIGKILL");
      await Promise.race([Promise.all(run.readers), Bun.sleep(DRAIN_OUTPUT_MS)]);
      const upMs = Math.max(0, this.clock.now() - run.startedAtMono);
      const event: RestartEvent = { type: "exited", code, signal, upMs, ...(run.cause ? { cause: run.cause } : {}) };
      const reason = run.cause ?? (signal ? Reason.KILLED_BY_SIGNAL : code === 0 ? Reason.CLEAN_EXIT : Reason.EXIT_FAILURE);
      r.lastExit = { code, signal, reason: run.stopping ? Reason.STOP_REQUESTED : reason, at: Date.now() };
      r.cpuPercent = 0;
      r.rssBytes = 0;
      if (r.run === run) r.run = null;
      if (!run.isReady) run.ready.resolve({ ok: false, reason: `exited before ready (code ${code}, signal ${signal})` });
      this.emit({ type: "exited", app: r.app, id: r.id, pid: run.pid, code, signal, reason: r.lastExit.reason, upMs: Math.round(upMs) });
      if (!run.stopping) this.afterEnd(app, r, event);
    } catch (e) {
      this.error(`exit handling for ${r.app}/${r.id}: ${String(e)}`);
    } finally {
      run.ended.resolve();
    }
  }

  private onSpawnFailed(app: App, r: Replica, message: string): void {
    this.emit({ type: "spawn-failed", app: r.app, id: r.id, message });
    r.lastExit = { code: null, signal: null, reason: Reason.SPAWN_FAILED, at: Date.now() };
    this.afterEnd(app, r, { type: "spawn-failed", message });
  }

  /** Ask the pure policy what follows an end of life, and do it. */
  private afterEnd(app: App, r: Replica, event: RestartEvent): void {
    if (this.closed) return;
    if (!app.spec) {
      // An adopted replica of an app with no spec yet: forget the slot so apply() starts a fresh one.
      r.state = "stopped";
      r.sink.close();
      app.replicas.delete(r.id);
      return;
    }
    const wasTripped = isTripped(app.crashLoop);
    const d = decide({ ...r.restart, crashLoop: app.crashLoop }, event, this.clock.now(), this.rng);
    r.restart = d.next;
    app.crashLoop = d.next.crashLoop;
    switch (d.action) {
      case "restart":
        r.state = "backoff";
        r.restarts += 1;
        this.emit({ type: "restarting", app: r.app, id: r.id, delayMs: d.delayMs, reason: d.reason });
        r.timer = setTimeout(() => this.launch(app, r), d.delayMs);
        return;
      case "crash-loop": {
        r.state = "crash-loop";
        if (!wasTripped) {
          const opts = app.spec.restart.crashLoop;
          this.emit({
            type: "crash-loop",
            app: r.app,
            restarts: app.crashLoop.restarts.length,
            windowMs: opts.windowMs,
            cooldownMs: opts.cooldownMs,
            reason: d.reason,
          });
          this.armCooldown(app, d.delayMs);
        }
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

  private armCooldown(app: App, delayMs: number): void {
    if (app.cooldownTimer) clearTimeout(app.cooldownTimer);
    app.cooldownTimer = setTimeout(() => {
      app.cooldownTimer = null;
      void this.enqueue(app, async () => this.clearCrashLoop(app, Reason.COOLDOWN_ELAPSED));
    }, delayMs);
  }

  private clearCrashLoop(app: App, reason: string): void {
    if (app.cooldownTimer) clearTimeout(app.cooldownTimer);
    app.cooldownTimer = null;
    const wasTripped = isTripped(app.crashLoop);
    app.crashLoop = INITIAL_CRASH_LOOP;
    if (wasTripped && app.spec) this.emit({ type: "crash-loop-cleared", app: app.spec.name, reason });
    for (const r of app.replicas.values()) {
      if (r.state !== "crash-loop") continue;
      r.restart = decide({ ...r.restart, crashLoop: INITIAL_CRASH_LOOP }, { type: "reset" }, this.clock.now(), this.rng).next;
      this.launch(app, r);
    }
  }

  /** Graceful stop of one replica, whatever its state; resolves when its whole group is gone. */
  private async stopReplica(app: App, r: Replica, reason: string): Promise<void> {
    r.clearTimer();
    r.restart = decide(r.restart, { type: "stop-requested" }, this.clock.now(), this.rng).next;
    const run = r.run;
    if (!run) {
      if (r.state !== "stopped") {
        r.state = "stopped";
        this.emit({ type: "stopped", app: r.app, id: r.id, pid: null, forced: false, reason });
      }
      return;
    }
    if (run.stopping) return run.ended.promise;
    run.stopping = true;
    const signal = app.spec?.stopSignal ?? "SIGTERM";
    const timeoutMs = app.spec?.stopTimeoutMs ?? 10_000;
    r.state = "stopping";
    this.emit({ type: "stopping", app: r.app, id: r.id, pid: run.pid, signal, reason });
    const deadline = performance.now() + timeoutMs;
    this.signal(run, signal);
    if (run.proc === null) void this.watchAdopted(app, r, run, deadline);
    let forced = !(await Promise.race([run.ended.promise.then(() => true), Bun.sleep(timeoutMs).then(() => false)]));
    // The leader is gone; give the rest of its group what is left of the timeout, then kill it.
    if (!forced) forced = !(await waitGone(() => groupAlive(run.pid), Math.max(0, deadline - performance.now())));
    if (forced) {
      this.signal(run, "SIGKILL");
      await Promise.race([run.ended.promise, Bun.sleep(KILL_GRACE_MS)]);
      await waitGone(() => groupAlive(run.pid), KILL_GRACE_MS);
    }
    r.state = "stopped";
    this.emit({ type: "stopped", app: r.app, id: r.id, pid: run.pid, forced, reason });
  }

  /** Adopted processes are not our children: their exit is observed by polling /proc. */
  private async watchAdopted(app: App, r: Replica, run: Run, deadline: number): Promise<void> {
    await waitGone(() => this.adoptedAlive(run), Math.max(0, deadline - performance.now()) + KILL_GRACE_MS);
    if (!this.adoptedAlive(run)) await this.onExit(app, r, run, null, null);
  }

  private adoptedAlive(run: Run): boolean {
    const st = readProcStat(run.pid);
    return st !== null && st.state !== "Z" && st.startTime === run.startTime;
  }

  // ── scaling and rolling ──────────────────────────────────────────────────────────────────

  private async scaleTo(app: App, n: number): Promise<void> {
    if (this.closed) return;
    const current = [...app.replicas.values()].sort((a, b) => a.id - b.id);
    if (current.length < n && app.spec) {
      for (let k = current.length; k < n; k++) {
        const r = this.createReplica(app, app.spec);
        this.launch(app, r);
      }
      return;
    }
    const victims = current.slice(n).reverse();
    await Promise.all(
      victims.map(async (r) => {
        await this.callHook(() => this.hooks.beforeStop?.(r.snapshot()), "beforeStop");
        await this.stopReplica(app, r, "scale-down");
        r.sink.close();
        app.replicas.delete(r.id);
      }),
    );
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
    const abort = (reason: string): RollingResult => {
      this.emit({ type: "rolling-restart", app: spec.name, status: "aborted", replaced, reason });
      return { ok: false, replaced, reason };
    };
    for (const old of olds) {
      if (this.closed) return abort("shutting down");
      if (!app.replicas.has(old.id)) continue;
      const id = Math.max(...app.replicas.keys()) + 1;
      const fresh = new Replica(spec.name, id, null, initialRestartState(spec.restart), spec);
      app.replicas.set(id, fresh);
      this.launch(app, fresh);
      const outcome = fresh.run ? await fresh.run.ready.promise : { ok: false as const, reason: fresh.lastExit?.reason ?? "spawn failed" };
      if (!outcome.ok) {
        await this.stopReplica(app, fresh, "rolling-restart-aborted");
        fresh.sink.close();
        app.replicas.delete(id);
        return abort(`replica ${id} did not become ready: ${outcome.reason}`);
      }
      await this.callHook(() => hooks.onReady?.(fresh.snapshot()), "onReady");
      await this.callHook(() => hooks.drain?.(old.snapshot()), "drain");
      await this.stopReplica(app, old, "rolling-restart");
      old.sink.close();
      app.replicas.delete(old.id);
      replaced++;
    }
    this.emit({ type: "rolling-restart", app: spec.name, status: "done", replaced, reason: "all replicas replaced" });
    return { ok: true, replaced };
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
        if (run.proc === null && !this.adoptedAlive(run)) {
          run.cause = "vanished";
          void this.onExit(app, r, run, null, null);
          continue;
        }
        if (!spec) continue;
        if (spec.maxMemoryBytes !== null && r.rssBytes > spec.maxMemoryBytes) {
          this.terminate(app, r, run, "memory-limit");
        } else if (spec.watchdog && run.isReady && run.proc !== null && now - run.lastBeatMono > spec.watchdog.timeoutMs) {
          this.terminate(app, r, run, "watchdog-timeout");
        }
      }
    }
  }

  // ── plumbing ─────────────────────────────────────────────────────────────────────────────

  private appFor(name: string): App {
    let app = this.apps.get(name);
    if (!app) {
      app = { spec: null, replicas: new Map(), crashLoop: INITIAL_CRASH_LOOP, cooldownTimer: null, queue: Promise.resolve(), followers: new Set() };
      this.apps.set(name, app);
    }
    return app;
  }

  private enqueue<T>(app: App, op: () => Promise<T>): Promise<T | undefined> {
    const next = app.queue.then(op).catch((e) => {
      this.error(`operation failed: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    });
    app.queue = next;
    return next;
  }

  private async callHook(fn: () => unknown, name: string): Promise<void> {
    try {
      await Promise.race([Promise.resolve(fn()), Bun.sleep(HOOK_TIMEOUT_MS)]);
    } catch (e) {
      this.error(`${name} hook threw: ${String(e)}`);
    }
  }

  private callSync(fn: () => unknown, name: string): void {
    try {
      fn();
    } catch (e) {
      this.error(`${name} hook threw: ${String(e)}`);
    }
  }

  private emit(e: Emit): void {
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

function signalName(sig: NodeJS.Signals | number | null | undefined): string | null {
  return sig === null || sig === undefined ? null : String(sig);
}

export function createProcessManager(hooks: ProcessManagerHooks = {}, opts: ProcessManagerOptions = {}): ProcessManager {
  return new ProcessManager(hooks, opts);
}

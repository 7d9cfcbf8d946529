// One replica's process lifetimes: spawn, output, readiness, our own kills, exit handling, graceful stop.
//
// Output: stdout and stderr go to files the replica holds itself, which we tail (output-tail.ts
// says why and how); every line read feeds the ring, stdout readiness, the watchdog and followers.
//
// Stop contract: the stop signal goes to the process group; after the leader exits the rest of the
// group gets what is left of the stop timeout, then SIGKILL; an unexpected exit SIGKILLs leftovers at
// once (grandchildren must not hold the port the replacement needs). Nothing here decides restarts:
// an end of life the operator did not ask for is handed to `ctx.ended`.
import { resolve } from "node:path";
import type { Clock } from "../core/time.ts";
import { isTripped } from "../core/supervision/crash-loop.ts";
import { Reason, type KillCause, type RestartEvent } from "../core/supervision/restart-policy.ts";
import { type Drivers, DriverError } from "./drivers/index.ts";
import { busyPorts, pickFreePort } from "./listening-ports.ts";
import { FileTail, type OutputTails, type Stream, outputPaths, sizeOf } from "./output-tail.ts";
import { OWNER_ENV, REVISION_ENV } from "./orphans.ts";
import { readProcStat, startedAtWall } from "./proc-stat.ts";
import { groupAlive, settlesWithin, signalGroup, signalPid, waitGone } from "./process-group.ts";
import { waitForPort } from "./readiness.ts";
import { type Spawned, spawnDetached } from "./spawn.ts";
import { type App, type Replica, type Run, deferred } from "./replica.ts";
import type { ResolvedSpec } from "./spec.ts";
import type { LogLine, ProcsEventInput } from "./types.ts";
import type { StopReason } from "../protocol/procs.ts";

/** After SIGKILL a process is gone within milliseconds unless stuck in the kernel (D state). */
const KILL_GRACE_MS = 5_000;

export interface LifecycleContext {
  readonly clock: Clock;
  emit(e: ProcsEventInput): void;
  error(message: string): void;
  closed(): boolean;
  /** Tails every replica's output files. */
  readonly tails: OutputTails;
  /** Where a replica of this spec writes its output files. */
  logDir(spec: ResolvedSpec): string;
  /** An end of life nobody asked for (exit, failed spawn): the manager decides what follows. */
  ended(app: App, r: Replica, event: RestartEvent): void;
  /** Every port held by a replica of any app other than `r`: a port is never handed to two replicas, whatever their apps. */
  portsTaken(r: Replica): Set<number>;
  /** The task drivers (exec, oci) and what this host lets them enforce. */
  readonly drivers: Drivers;
}

export class ReplicaLifecycle {
  constructor(private readonly ctx: LifecycleContext) {}

  newRun(pid: number, proc: Run["proc"], startTime: number | null): Run {
    const now = Date.now();
    // An adopted process started before us: its age (for uptime, and for whether it ran stably before an exit)
    // comes from /proc, not from the moment we found it.
    const since = proc === null && startTime !== null ? Math.min(now, startedAtWall(startTime) ?? now) : now;
    return {
      pid,
      proc,
      startTime,
      startedAtWall: since,
      startedAtMono: this.ctx.clock.now() - (now - since),
      ended: deferred<void>(),
      ready: deferred(),
      output: null,
      driver: null,
      isReady: false,
      cause: null,
      stopping: false,
      lastBeatMono: this.ctx.clock.now(),
      prevTicks: null,
      prevTicksAt: 0,
    };
  }

  /** Spawn the replica's process now (or park it if the app is in crash-loop). */
  launch(app: App, r: Replica): void {
    r.clearTimer();
    if (this.ctx.closed() || !app.spec) return;
    // An adopted replica of a revision whose fields we never saw cannot be run again as itself: it becomes the app's.
    if (!r.specKnown) {
      r.spec = app.spec;
      r.specKnown = true;
    }
    const spec = r.spec;
    if (isTripped(r.restart.crashLoop)) {
      r.state = "crash-loop";
      return;
    }
    r.adopted = false;
    r.state = "starting";
    this.assignPort(r, spec);
    this.ctx.emit({ type: "starting", app: spec.name, id: r.id, port: r.port, attempt: r.restarts, revision: spec.revision });
    if (spec.port.kind === "range" && r.port === null) {
      return this.onSpawnFailed(app, r, `no free port in ${spec.port.from}-${spec.port.to}`);
    }
    let spawned: Spawned;
    let driver: NonNullable<Run["driver"]> | null = null;
    try {
      const dir = this.ctx.logDir(spec);
      driver = this.ctx.drivers.get(spec.driver.kind).start({ spec, id: r.id, env: this.envFor(spec, r), owner: resolve(dir) });
      const { argv, env, cwd } = driver.launch;
      // Everything before the spawn is an earlier run's: this run's lines start at the files' current ends.
      spawned = spawnDetached({ command: argv[0]!, args: argv.slice(1), ...(cwd !== undefined ? { cwd } : {}), env, dir, paths: outputPaths(dir, spec.name, r.id) });
    } catch (e) {
      void driver?.release();
      return this.onSpawnFailed(app, r, e instanceof DriverError || e instanceof Error ? e.message : String(e));
    }
    const proc = spawned.proc;
    const from = spawned.from;
    const run = this.newRun(spawned.pid, proc, spawned.startTime);
    run.driver = driver;
    r.run = run;
    this.ctx.emit({ type: "spawned", app: spec.name, id: r.id, pid: run.pid, startTime: run.startTime });
    this.tailOutput(app, r, run, spec, from);
    proc.exited.then(
      () => this.onExit(app, r, run, proc.exitCode, signalName(proc.signalCode)),
      () => this.onExit(app, r, run, null, null),
    );
    void this.awaitReadiness(app, r, run, spec);
  }

  /** Where this spec's replicas write their output (the private temp dir when the spec names none). */
  logDirOf(spec: ResolvedSpec): string {
    return this.ctx.logDir(spec);
  }

  /** Follow an adopted run's output from the files' current ends (needs the app's spec for the log dir). */
  attachOutput(app: App, r: Replica, run: Run): void {
    const spec = app.spec;
    if (run.output || !spec || r.run !== run) return;
    const paths = outputPaths(this.ctx.logDir(spec), spec.name, r.id);
    // Its driver now knows where its cgroup (and container) are.
    run.driver ??= this.ctx.drivers.get(spec.driver.kind).adopt({ spec, id: r.id, env: {}, owner: resolve(this.ctx.logDir(spec)) });
    // Heartbeats can be seen from now on: the watchdog's clock starts here.
    run.lastBeatMono = this.ctx.clock.now();
    this.tailOutput(app, r, run, spec, { stdout: sizeOf(paths.stdout), stderr: sizeOf(paths.stderr) });
  }

  private tailOutput(app: App, r: Replica, run: Run, spec: ResolvedSpec, from: { stdout: number; stderr: number }): void {
    const paths = outputPaths(this.ctx.logDir(spec), spec.name, r.id);
    const rotation = { maxBytes: spec.logs.maxBytes, files: spec.logs.files };
    const tail = (stream: Stream) => new FileTail(paths[stream], rotation, (l) => this.onLine(app, r, run, stream, l), from[stream]);
    run.output = { stdout: tail("stdout"), stderr: tail("stderr") };
    const eager = () => !run.isReady && r.spec.readiness.kind === "stdout";
    this.ctx.tails.add(run.output.stdout, eager);
    this.ctx.tails.add(run.output.stderr);
  }

  /** The run is over: read what it left (bounded) and stop following its files. */
  private finishOutput(run: Run): void {
    if (!run.output) return;
    this.ctx.tails.finish(run.output.stdout);
    this.ctx.tails.finish(run.output.stderr);
  }

  private assignPort(r: Replica, spec: ResolvedSpec): void {
    if (spec.port.kind === "shared") r.port = spec.port.port;
    else if (spec.port.kind === "none") r.port = null;
    else {
      const inRange = r.port !== null && r.port >= spec.port.from && r.port <= spec.port.to;
      // The previous process in this slot listened on this port and is dead, its group killed: take the port back
      // at once. Scanning /proc/net/tcp costs ~10 ms under load, which is most of a restart. If a stranger took
      // the port meanwhile, the bind fails, the run never becomes ready, and the next launch scans.
      if (inRange && r.portProven) {
        r.portProven = false;
        return;
      }
      const busy = busyPorts();
      // Our previous process in this slot is dead and its group killed: a listener now is a stranger.
      const taken = this.ctx.portsTaken(r);
      if (inRange && !busy.has(r.port!) && !taken.has(r.port!)) return;
      r.port = pickFreePort(spec.port.from, spec.port.to, taken, busy);
    }
  }

  private envFor(spec: ResolvedSpec, r: Replica): Record<string, string> {
    const env: Record<string, string> = { ...(process.env as Record<string, string>), ...spec.env };
    if (r.port !== null) env[spec.portEnv] = String(r.port);
    env.HOST = spec.host;
    env.POLIS_APP = spec.name;
    env.POLIS_REPLICA = String(r.id);
    // Lets a restarted agent tell which revision an orphan it finds runs.
    if (spec.revision > 0) env[REVISION_ENV] = String(spec.revision);
    // Ties the replica to this agent (its data dir) so a restarted agent that lost its records can find it.
    env[OWNER_ENV] = resolve(this.ctx.logDir(spec));
    return env;
  }

  private async awaitReadiness(app: App, r: Replica, run: Run, spec: ResolvedSpec): Promise<void> {
    const { kind, timeoutMs } = spec.readiness;
    if (kind === "none") return this.markReady(app, r, run);
    if (kind === "port" && r.port !== null) {
      const ok = await waitForPort(r.port, timeoutMs, spec.host, () => r.run !== run || run.isReady || run.stopping);
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
    this.ctx.emit({ type: "not-ready", app: r.app, id: r.id, pid: run.pid, reason: Reason.READINESS_TIMEOUT, message });
    this.terminate(app, r, run, "readiness-timeout");
  }

  private markReady(app: App, r: Replica, run: Run): void {
    if (run.isReady || r.run !== run) return;
    r.portProven = r.port !== null && app.spec?.port.kind === "range" && r.spec.readiness.kind === "port";
    run.isReady = true;
    run.lastBeatMono = this.ctx.clock.now();
    r.state = "ready";
    run.ready.resolve({ ok: true });
    this.ctx.emit({
      type: "ready",
      app: r.app,
      id: r.id,
      pid: run.pid,
      port: r.port,
      afterMs: Math.round(this.ctx.clock.now() - run.startedAtMono),
    });
  }

  private onLine(app: App, r: Replica, run: Run, stream: "stdout" | "stderr", line: string): void {
    const entry = r.sink.write(stream, line, Date.now());
    const spec = app.spec;
    if (stream === "stdout" && spec) {
      const readiness = r.spec.readiness;
      if (!run.isReady && readiness.kind === "stdout" && readiness.pattern?.test(line)) this.markReady(app, r, run);
      if (spec.watchdog?.pattern.test(line)) run.lastBeatMono = this.ctx.clock.now();
    }
    if (app.followers.size === 0) return;
    const out: LogLine = { app: r.app, id: r.id, ...entry };
    for (const cb of app.followers) {
      try {
        cb(out);
      } catch (e) {
        this.ctx.error(`log follower threw: ${String(e)}`);
      }
    }
  }

  /** Our own kill (memory, watchdog, readiness): graceful signal to the group, SIGKILL after the stop timeout. */
  terminate(app: App, r: Replica, run: Run, cause: KillCause): void {
    if (run.cause || run.stopping) return;
    run.cause = cause;
    const spec = app.spec;
    const signal = spec?.stopSignal ?? "SIGTERM";
    r.state = "stopping";
    this.ctx.emit({ type: "stopping", app: r.app, id: r.id, pid: run.pid, signal, reason: cause });
    this.signal(run, signal);
    const timer = setTimeout(() => this.signal(run, "SIGKILL"), spec?.stopTimeoutMs ?? 10_000);
    void run.ended.promise.then(() => clearTimeout(timer));
  }

  private signal(run: Run, sig: NodeJS.Signals): void {
    if (run.driver) return run.driver.signal(run.pid, sig);
    if (!signalGroup(run.pid, sig)) signalPid(run.pid, sig);
  }

  /** Whether anything of the run is left: its process group, or (with a driver) anything in its cgroup. */
  private alive(run: Run): boolean {
    return run.driver ? run.driver.alive(run.pid) : groupAlive(run.pid);
  }

  /** After the run's processes are gone: its cgroup and container state go too, before the slot starts again. */
  private async release(run: Run): Promise<void> {
    const d = run.driver;
    if (!d) return;
    run.driver = null;
    try {
      await d.release();
    } catch (e) {
      this.ctx.error(`releasing the run of pid ${run.pid}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  async onExit(app: App, r: Replica, run: Run, code: number | null, signal: string | null): Promise<void> {
    try {
      // Leftovers of the group (grandchildren) must not outlive the leader nor hold its port.
      if (!run.stopping) {
        if (run.driver?.holds) {
          // The kernel's verdict is read before the group is gone (and its counters with it).
          if (!run.cause && run.driver.exitCause(code, signal) === "oom-killed") run.cause = "oom-killed";
          run.driver.signal(run.pid, "SIGKILL");
          await waitGone(() => this.alive(run), KILL_GRACE_MS);
          await this.release(run);
        } else signalGroup(run.pid, "SIGKILL");
      } else if (!run.cause && run.driver?.exitCause(code, signal) === "oom-killed") run.cause = "oom-killed";
      this.finishOutput(run);
      const upMs = Math.max(0, this.ctx.clock.now() - run.startedAtMono);
      const event: RestartEvent = { type: "exited", code, signal, upMs, wasReady: run.isReady, ...(run.cause ? { cause: run.cause } : {}) };
      const reason = run.cause ?? (signal ? Reason.KILLED_BY_SIGNAL : code === 0 ? Reason.CLEAN_EXIT : Reason.EXIT_FAILURE);
      r.lastExit = { code, signal, reason: run.stopping ? Reason.STOP_REQUESTED : reason, at: Date.now() };
      r.cpuPercent = 0;
      r.rssBytes = 0;
      if (r.run === run) r.run = null;
      if (!run.isReady) run.ready.resolve({ ok: false, reason: `exited before ready (code ${code}, signal ${signal})` });
      this.ctx.emit({ type: "exited", app: r.app, id: r.id, pid: run.pid, code, signal, reason: r.lastExit.reason, upMs: Math.round(upMs) });
      if (!run.stopping) this.ctx.ended(app, r, event);
    } catch (e) {
      this.ctx.error(`exit handling for ${r.app}/${r.id}: ${String(e)}`);
    } finally {
      run.ended.resolve();
    }
  }

  private onSpawnFailed(app: App, r: Replica, message: string): void {
    this.ctx.emit({ type: "spawn-failed", app: r.app, id: r.id, message });
    r.lastExit = { code: null, signal: null, reason: Reason.SPAWN_FAILED, at: Date.now() };
    this.ctx.ended(app, r, { type: "spawn-failed", message });
  }

  /** Graceful stop of one replica, whatever its state; resolves when its whole group is gone. The caller marks the stop as requested first. */
  async stopReplica(app: App, r: Replica, reason: StopReason): Promise<void> {
    r.clearTimer();
    const run = r.run;
    if (!run) {
      if (r.state !== "stopped") {
        r.state = "stopped";
        this.ctx.emit({ type: "stopped", app: r.app, id: r.id, pid: null, forced: false, reason });
      }
      return;
    }
    if (run.stopping) return run.ended.promise;
    run.stopping = true;
    const signal = app.spec?.stopSignal ?? "SIGTERM";
    const timeoutMs = app.spec?.stopTimeoutMs ?? 10_000;
    r.state = "stopping";
    this.ctx.emit({ type: "stopping", app: r.app, id: r.id, pid: run.pid, signal, reason });
    const deadline = performance.now() + timeoutMs;
    this.signal(run, signal);
    if (run.proc === null) void this.watchAdopted(app, r, run, deadline);
    let forced = !(await settlesWithin(run.ended.promise, timeoutMs));
    // The leader is gone; give the rest of its group what is left of the timeout, then kill it.
    if (!forced) forced = !(await waitGone(() => this.alive(run), Math.max(0, deadline - performance.now())));
    if (forced) {
      this.signal(run, "SIGKILL");
      await settlesWithin(run.ended.promise, KILL_GRACE_MS);
      await waitGone(() => this.alive(run), KILL_GRACE_MS);
    }
    await this.release(run);
    r.state = "stopped";
    this.ctx.emit({ type: "stopped", app: r.app, id: r.id, pid: run.pid, forced, reason });
  }

  /** Adopted processes are not our children: their exit is observed by polling /proc. */
  private async watchAdopted(app: App, r: Replica, run: Run, deadline: number): Promise<void> {
    await waitGone(() => this.adoptedAlive(run), Math.max(0, deadline - performance.now()) + KILL_GRACE_MS);
    if (!this.adoptedAlive(run)) await this.onExit(app, r, run, null, null);
  }

  adoptedAlive(run: Run): boolean {
    const st = readProcStat(run.pid);
    return st !== null && st.state !== "Z" && st.startTime === run.startTime;
  }


}

function signalName(sig: NodeJS.Signals | number | null | undefined): string | null {
  return sig === null || sig === undefined ? null : String(sig);
}

// The deploy runner: the I/O around the pure rollout controller (src/core/deploy/rollout.ts). It records
// revisions when the config (or the API) changes what an app runs, starts a rollout for each, observes the
// replicas (procs snapshot + catalog health), persists the controller's state, then carries out its actions
// (launch and retire through the procs worker, target changes, events).
//
// Restart contract: the rollout state is persisted before any action it asks for, and every decision is taken
// from a fresh observation; an agent killed mid-rollout adopts its replicas (each keeps its revision, read from
// its environment), loads the rollout and goes on from where the replicas are: it resumes, or, when the new
// revision fails, reverts. No action is remembered across a restart, so none is done twice.
import { replicaBounds, toAppSpec } from "../config/apps.ts";
import { toRolloutOptions } from "../config/deploy.ts";
import { revisionFieldsOf, withRevision } from "../config/revision.ts";
import type { AppConfig, Config } from "../config/schema.ts";
import { type Revision, type RevisionSource, recordRevision, revisionHash } from "../core/deploy/revision.ts";
import { type Decision, type ReplicaObservation, type ReplicaPhase, type RevisionTraffic, type RolloutEvent, type RolloutKind, type RolloutOptions, type RolloutState, decide, isActive, startRollout, stepping, stepReplicaCount, stepsOf } from "../core/deploy/rollout.ts";
import { Reason as ExitReason } from "../core/supervision/restart-policy.ts";
import type { AppSnapshot, AppSpec, ReplicaSnapshot, ReplicaState } from "../protocol/procs.ts";
import type { Catalog } from "../state/catalog.ts";
import type { DeployStore } from "../state/deployments.ts";
import type { EventInput } from "../state/event-bus.ts";
import { StoreError } from "../state/store-fault.ts";
import type { Logger } from "../telemetry/logger.ts";
import { selfCommand } from "./entrypoints.ts";
import { APP_NAMESPACE, endpointOf } from "./hub.ts";

/** How often an active rollout is observed even when no replica event arrived (min_healthy_time, deadlines). */
const TICK_MS = 500;
/** A procs request that never answers must not hold a rollout forever. */
const REQUEST_TIMEOUT_MS = 120_000;

export interface DeployRunnerDeps {
  config(): Config;
  readonly cores: number;
  readonly store: DeployStore;
  readonly catalog: Pick<Catalog, "get">;
  publish(e: EventInput): void;
  readonly log: Pick<Logger, "warn">;
  /** procs worker requests (rejecting when it is not running). */
  snapshot(): Promise<AppSnapshot[]>;
  launch(app: string, spec: AppSpec): Promise<{ replica: number | null }>;
  retire(app: string, id: number): Promise<{ retired: boolean }>;
  /** Push every app's spec (with its target revision) to procs. */
  applySpecs(): void;
  /** These endpoints' traffic at every balancer over the recent window. */
  traffic(endpointIds: readonly string[]): RevisionTraffic;
  /** The revision each replica of the app runs now (procs' own events: known from the replica's start). */
  replicaRevisions(app: string): ReadonlyArray<{ readonly id: number; readonly revision: number }>;
  /** A rollout's traffic split changed: the balancers' pools must be derived again. */
  splitChanged(): void;
}

/** Replicas of one revision as the last observation saw them. */
export interface RevisionCount {
  readonly revision: number;
  readonly total: number;
  readonly ready: number;
  readonly available: number;
}

export interface RolloutView extends RolloutState {
  readonly active: boolean;
  readonly status: string;
  /** The last observation of an active rollout: desired count and replicas per revision. */
  readonly live: { readonly at: number; readonly desired: number; readonly revisions: readonly RevisionCount[] } | null;
}

export type DeployError = { readonly status: 400 | 404 | 409 | 503; readonly code: string; readonly message: string };
export type DeployResult<T> = { ok: true; value: T } | { ok: false; error: DeployError };

const err = <T>(status: DeployError["status"], code: string, message: string): DeployResult<T> => ({ ok: false, error: { status, code, message } });

const phaseOf = (s: ReplicaState): ReplicaPhase => (s === "ready" ? "ready" : s === "starting" ? "starting" : s === "stopping" ? "stopping" : "down");

export function statusOf(s: RolloutState): string {
  if (s.outcome) return s.outcome;
  if (s.paused) return s.failure ? "failed-paused" : "paused";
  return s.phase === "forward" ? "running" : "reverting";
}

export function createDeployRunner(deps: DeployRunnerDeps) {
  const ds = deps.store;
  const self = selfCommand();
  /** Per app: a decision in progress (one at a time), requests in flight, and what the last look saw. */
  const slots = new Map<string, { busy: boolean; again: boolean; launching: number; retiring: Set<number>; live: RolloutView["live"] }>();
  /** First time each process was seen ready (app/id/pid): the start of its healthy time when it has no endpoint. */
  const readySeen = new Map<string, number>();
  let timer: ReturnType<typeof setInterval> | null = null;
  /** Off until start() and after stop(): no observation, decision or action (a released agent holds still). */
  let running = false;
  let storeFaultReported = false;

  const slotOf = (app: string) => {
    let s = slots.get(app);
    if (!s) {
      s = { busy: false, again: false, launching: 0, retiring: new Set(), live: null };
      slots.set(app, s);
    }
    return s;
  };
  const appCfg = (name: string) => deps.config().apps.find((a) => a.name === name);
  const active = (app: string): RolloutState | undefined => {
    const list = ds.rollouts(app);
    const last = list[list.length - 1];
    return last && isActive(last) ? last : undefined;
  };
  const revision = (app: string, n: number) => ds.revisions(app).find((r) => r.number === n);
  /** The revision new replicas of `app` run: the active rollout's target, else the one it runs. */
  const targetOf = (app: string) => active(app)?.target ?? ds.app(app)?.current;

  const announce = (type: string, app: string, severity: EventInput["severity"], message: string, data: Record<string, unknown>) =>
    deps.publish({ type, source: "deploy", target: app, severity, message, data });

  /** Persist first; a store that refuses the write stops the action (reported once until a write succeeds). */
  const persisted = (what: string, write: () => void): boolean => {
    try {
      write();
      storeFaultReported = false;
      return true;
    } catch (e) {
      if (!(e instanceof StoreError)) throw e;
      if (!storeFaultReported) deps.log.warn("a deployment change was not saved, so it was not acted on", { what, error: e.message });
      storeFaultReported = true;
      return false;
    }
  };

  const specFor = (app: AppConfig, rev: Revision): AppSpec => ({ ...toAppSpec(withRevision(app, rev.fields), deps.config(), { cores: deps.cores, self }), revision: rev.number });

  /** Persist the decision's state, then do what it asks. */
  const carryOut = (app: string, prev: RolloutState, d: Decision): boolean => {
    if (d.state !== prev && !persisted(`rollout ${prev.id} of ${app}`, () => ds.putRollout(app, d.state))) return false;
    const s = d.state;
    if ((prev.split?.revision ?? null) !== (s.split?.revision ?? null) || (prev.split?.percent ?? null) !== (s.split?.percent ?? null)) deps.splitChanged();
    if (s.outcome && !prev.outcome) {
      const rec = ds.app(app);
      const current = s.outcome === "succeeded" ? s.to : s.outcome === "reverted" ? s.from : rec?.current;
      if (rec && current !== undefined && current !== rec.current) persisted(`current revision of ${app}`, () => ds.putApp(app, { ...rec, current }));
      slotOf(app).live = null;
      // No rollout holds surge slots any more: procs trims to the count again.
      deps.applySpecs();
    }
    const slot = slotOf(app);
    for (const a of d.actions) {
      switch (a.kind) {
        case "announce":
          announce(a.type, app, a.severity, a.message, { rollout: s.id, from: s.from, to: s.to, target: s.target, phase: s.phase, reason: s.reason, ...(s.failure ? { failure: s.failure } : {}) });
          break;
        case "set-target":
          deps.applySpecs();
          break;
        case "launch": {
          const cfg = appCfg(app);
          const rev = revision(app, a.revision);
          if (!cfg || !rev) break;
          for (let i = 0; i < a.count; i++) {
            slot.launching++;
            withTimeout(deps.launch(app, specFor(cfg, rev)))
              .catch((e) => deps.log.warn("rollout could not start a replica", { app, error: e }))
              .finally(() => {
                slot.launching--;
                void evaluate(app);
              });
          }
          break;
        }
        case "retire":
          if (slot.retiring.has(a.id)) break;
          slot.retiring.add(a.id);
          withTimeout(deps.retire(app, a.id))
            .catch((e) => deps.log.warn("rollout could not retire a replica", { app, replica: a.id, error: e }))
            .finally(() => {
              slot.retiring.delete(a.id);
              void evaluate(app);
            });
          break;
      }
    }
    return true;
  };

  const observe = (app: AppConfig, snap: AppSnapshot, slot: ReturnType<typeof slotOf>, now: number): ReplicaObservation[] =>
    snap.replicas.map((r) => {
      // A replica being retired is still draining (ready in procs' eyes): it counts as stopping, never as serving.
      const phase: ReplicaPhase = slot.retiring.has(r.id) ? "stopping" : phaseOf(r.state);
      return {
        id: r.id,
        revision: r.revision,
        phase,
        lastExitAt: r.lastExit && r.lastExit.reason !== ExitReason.STOP_REQUESTED ? r.lastExit.at : null,
        startedAt: r.startedAt ?? now,
        passingSince: phase === "ready" ? passingSince(app, r, now) : null,
      };
    });

  /** Ready and passing since when: the endpoint's health (the replica's checks) from the moment it was seen ready. */
  const passingSince = (app: AppConfig, r: ReplicaSnapshot, now: number): number | null => {
    const key = `${app.name}/${r.id}/${r.pid}`;
    let seen = readySeen.get(key);
    if (seen === undefined) {
      seen = now;
      readySeen.set(key, seen);
    }
    const ref = "shared" in app.port ? undefined : endpointOf(app, r.id);
    if (!ref) return seen;
    const ep = deps.catalog.get(ref.namespace, ref.service)?.endpoints.find((e) => e.id === ref.id);
    if (!ep || ep.health !== "passing" || ep.draining) return null;
    return Math.max(seen, ep.healthSince);
  };

  /** The target revision's traffic and the others', by their replicas' endpoints (none for a shared port). */
  const trafficOf = (app: AppConfig, snap: AppSnapshot, target: number) => {
    if ("shared" in app.port) return undefined;
    const ids = (mine: boolean) => snap.replicas.filter((r) => (r.revision === target) === mine).map((r) => endpointOf(app, r.id)?.id).filter((x): x is string => x !== undefined);
    return { target: deps.traffic(ids(true)), others: deps.traffic(ids(false)) };
  };

  /** One observation and decision for an app's active rollout. */
  const step = async (app: string) => {
    if (!running) return;
    const s = active(app);
    const cfg = appCfg(app);
    if (!s || !cfg) return;
    const snaps = await withTimeout(deps.snapshot());
    const snap = snaps.find((a) => a.name === app);
    const now = Date.now();
    const slot = slotOf(app);
    const current = active(app);
    if (!running || !snap || current !== s) return;
    const replicas = observe(cfg, snap, slot, now);
    const counts = new Map<number, { total: number; ready: number; available: number }>();
    for (const r of replicas) {
      const c = counts.get(r.revision) ?? { total: 0, ready: 0, available: 0 };
      c.total++;
      if (r.phase === "ready") c.ready++;
      if (r.passingSince !== null && (r.revision !== s.target || r.startedAt < s.phaseAt || now - r.passingSince >= s.options.minHealthyMs)) c.available++;
      counts.set(r.revision, c);
    }
    slot.live = { at: now, desired: snap.desired, revisions: [...counts].sort((a, b) => b[0] - a[0]).map(([revision, c]) => ({ revision, ...c })) };
    for (const k of readySeen.keys()) if (k.startsWith(`${app}/`) && !snap.replicas.some((r) => k === `${app}/${r.id}/${r.pid}`)) readySeen.delete(k);
    const traffic = s.options.analysis ? trafficOf(cfg, snap, s.target) : undefined;
    const d = decide(s, { type: "observe", replicas, desired: snap.desired, launching: slot.launching, ...(traffic ? { traffic } : {}) }, now);
    carryOut(app, s, d);
  };

  /** Observes and decides for one app, never twice at once (a call meanwhile runs one more round after). */
  const evaluate = async (app: string): Promise<void> => {
    const slot = slotOf(app);
    if (slot.busy) {
      slot.again = true;
      return;
    }
    slot.busy = true;
    try {
      do {
        slot.again = false;
        await step(app);
      } while (slot.again);
    } catch (e) {
      deps.log.warn("rollout step failed", { app, error: e });
    } finally {
      slot.busy = false;
    }
  };

  const view = (app: string, s: RolloutState): RolloutView => ({ ...s, active: isActive(s), status: statusOf(s), live: isActive(s) ? (slots.get(app)?.live ?? null) : null });

  const nextId = (app: string) => {
    const n = ds.rollouts(app).reduce((m, r) => Math.max(m, Number(r.id.replace(/^\D+/, "")) || 0), 0) + 1;
    return `${app}-${n}`;
  };

  /** Ends the active rollout (superseded) and starts one from its stable revision to `to`. */
  const begin = (app: string, input: { from: number; to: number; kind: RolloutKind; by: string; options: RolloutOptions }): DeployResult<RolloutView> => {
    const prev = active(app);
    if (prev && !carryOut(app, prev, decide(prev, { type: "supersede", by: input.to }, Date.now()))) return err(503, "store_unavailable", "the state store refused the write; nothing was changed");
    const d = startRollout({ id: nextId(app), app, ...input, from: prev ? prev.from : input.from }, Date.now());
    // Persisted before its first action (the target change that procs follows).
    if (!persisted(`rollout of ${app}`, () => ds.putRollout(app, d.state))) return err(503, "store_unavailable", "the state store refused the write; nothing was changed");
    carryOut(app, d.state, d);
    void evaluate(app);
    return { ok: true, value: view(app, d.state) };
  };

  /** Records the revision for `fields` (a new one when they are new); persisted before anything uses it. */
  const record = (app: AppConfig, fields: Record<string, unknown>, source: RevisionSource, by: string): Revision | undefined => {
    const act = active(app.name);
    const rec = ds.app(app.name);
    const pinned = [rec?.current, act?.from, act?.to].filter((n): n is number => n !== undefined);
    const r = recordRevision(ds.revisions(app.name), fields, { source, by, now: Date.now(), keep: app.deploy.revision_history, pinned });
    if (r.created) {
      if (!persisted(`revisions of ${app.name}`, () => ds.putRevisions(app.name, r.history))) return undefined;
      announce("deploy.revision", app.name, "info", `${app.name}: revision ${r.revision.number} (${r.revision.hash}) recorded from ${source} by ${by}`, { revision: r.revision.number, hash: r.revision.hash, source, by });
    }
    return r.revision;
  };


  const runner = {
    /**
     * The config now names these apps: record a revision for each app whose revision fields changed since the
     * config last named them, and roll it out. Called at start (before procs starts) and after each accepted reload.
     */
    sync(config: Config, by = "file") {
      for (const a of config.apps) {
        const fields = revisionFieldsOf(a);
        const hash = revisionHash(fields);
        const rec = ds.app(a.name);
        if (rec?.config === hash) continue;
        const rev = record(a, fields, "config", by);
        if (!rev) continue;
        if (!rec) {
          persisted(`current revision of ${a.name}`, () => ds.putApp(a.name, { current: rev.number, config: hash }));
          continue;
        }
        if (!persisted(`config revision of ${a.name}`, () => ds.putApp(a.name, { ...rec, config: hash }))) continue;
        const act = active(a.name);
        if (act ? act.to === rev.number : rec.current === rev.number) continue;
        begin(a.name, { from: rec.current, to: rev.number, kind: "deploy", by, options: toRolloutOptions(a.deploy) });
      }
    },
    /** The app as procs should run new replicas of it: its target revision's fields, and that revision's number. */
    specOf(app: AppConfig): { app: AppConfig; revision?: number; surge?: number } {
      const act = active(app.name);
      const n = act?.target ?? ds.app(app.name)?.current;
      const rev = n === undefined ? undefined : revision(app.name, n);
      // While a rollout runs, a reconcile (reload, scale) must not trim the replicas it started beside the others
      // (canary: its canaries; blue_green: a whole second set).
      const steps = act ? stepsOf(act.options).length > 0 : false;
      const beside = !act || !steps ? 0 : stepReplicaCount(act.options.stepReplicas, Math.max(slots.get(app.name)?.live?.desired ?? 0, replicaBounds(app, deps.cores).max));
      const surge = act ? Math.max(act.options.maxSurge, beside) : 0;
      return rev ? { app: withRevision(app, rev.fields), revision: rev.number, ...(surge > 0 ? { surge } : {}) } : { app };
    },
    /**
     * The active rollout's traffic split over the app's endpoints (the balancer link sends it with the pools; the
     * workers pick the side first, then inside it): the split's revision, its endpoints and its share. Null without
     * a split (or for a shared port).
     */
    split(namespace: string, service: string): { revision: number; percent: number; endpoints: ReadonlySet<string> } | null {
      if (namespace !== APP_NAMESPACE) return null;
      const cfg = appCfg(service);
      const s = cfg ? active(service) : undefined;
      if (!cfg || !s?.split || "shared" in cfg.port || "none" in cfg.port) return null;
      const endpoints = new Set<string>();
      for (const r of deps.replicaRevisions(service)) if (r.revision === s.split.revision) endpoints.add(endpointOf(cfg, r.id)!.id);
      return { revision: s.split.revision, percent: s.split.percent, endpoints };
    },
    /** A replica of the app changed: look again now rather than at the next tick. */
    replicaChanged(app: string) {
      if (active(app)) void evaluate(app);
    },
    /**
     * A new revision from the API or CLI: `fields` already validated (the caller decoded them as an app). Starts a
     * rollout unless the app already runs (or rolls out) exactly that.
     */
    deploy(appName: string, fields: Record<string, unknown>, opts: { by: string; source: RevisionSource; options?: Partial<RolloutOptions> }): DeployResult<RolloutView> {
      const app = appCfg(appName);
      const rec = ds.app(appName);
      if (!app || !rec) return err(404, "not_found", `no app named ${appName}`);
      const rev = record(app, fields, opts.source, opts.by);
      if (!rev) return err(503, "store_unavailable", "the state store refused the write; nothing was changed");
      const act = active(appName);
      if (act ? act.to === rev.number && act.phase === "forward" : rec.current === rev.number) return err(409, "unchanged", `${appName} already ${act ? "rolls out" : "runs"} revision ${rev.number}; nothing to deploy`);
      // A strategy named for this rollout takes its steps from the app's deploy block, as the app's own would.
      const base = toRolloutOptions(opts.options?.strategy ? { ...app.deploy, strategy: opts.options.strategy } : app.deploy);
      return begin(appName, { from: rec.current, to: rev.number, kind: "deploy", by: opts.by, options: { ...base, ...opts.options } });
    },
    /**
     * Roll the app back to `revision` (default: the newest one before the revision it runs), as a rollout of its
     * own. The function a policy calls as its "rollback" action.
     */
    rollback(appName: string, opts: { revision?: number; by: string }): DeployResult<RolloutView> {
      const app = appCfg(appName);
      const rec = ds.app(appName);
      if (!app || !rec) return err(404, "not_found", `no app named ${appName}`);
      const act = active(appName);
      const running = act ? act.from : rec.current;
      const history = ds.revisions(appName);
      const to = opts.revision ?? [...history].reverse().find((r) => r.number < (act ? act.to : rec.current))?.number;
      if (to === undefined) return err(409, "no_previous_revision", `${appName} has no revision before ${running} to roll back to`);
      if (!revision(appName, to)) return err(404, "revision_not_found", `${appName} has no revision ${to} (kept: ${history.map((r) => r.number).join(", ")})`);
      if (!act && to === rec.current) return err(409, "unchanged", `${appName} already runs revision ${to}`);
      return begin(appName, { from: running, to, kind: "rollback", by: opts.by, options: toRolloutOptions(app.deploy) });
    },
    /** Operator gates on the active rollout `id`. */
    control(appName: string, id: string, what: "pause" | "resume" | "abort" | "promote", by: string): DeployResult<RolloutView> {
      if (!appCfg(appName)) return err(404, "not_found", `no app named ${appName}`);
      const s = ds.rollouts(appName).find((r) => r.id === id);
      if (!s) return err(404, "not_found", `${appName} has no rollout ${id}`);
      if (!isActive(s)) return err(409, "rollout_ended", `rollout ${id} of ${appName} already ended (${statusOf(s)})`);
      if (what === "promote" && !stepping(s)) return err(409, "nothing_to_promote", `rollout ${id} of ${appName} has no traffic step to promote (${stepsOf(s.options).length === 0 ? "the rolling strategy has none" : s.phase === "revert" ? "it is reverting" : "its steps are done"})`);
      if (what === "promote" && s.paused) return err(409, "paused", `rollout ${id} of ${appName} is paused: resume it first`);
      const event: RolloutEvent = what === "abort" || what === "promote" ? { type: what, by } : { type: what };
      if (!carryOut(appName, s, decide(s, event, Date.now()))) return err(503, "store_unavailable", "the state store refused the write; nothing was changed");
      void evaluate(appName);
      return { ok: true, value: view(appName, active(appName) ?? ds.rollouts(appName).find((r) => r.id === id)!) };
    },
    rollouts: (app: string): RolloutView[] => ds.rollouts(app).map((s) => view(app, s)),
    rollout: (app: string, id: string): RolloutView | undefined => {
      const s = ds.rollouts(app).find((r) => r.id === id);
      return s ? view(app, s) : undefined;
    },
    active: (app: string) => {
      const s = active(app);
      return s ? view(app, s) : undefined;
    },
    revisions: (app: string) => ds.revisions(app),
    /** The revision the config's own fields are (it may differ from what runs after a rollback or an API deploy). */
    configRevision: (app: string) => {
      const hash = ds.app(app)?.config;
      return hash === undefined ? undefined : [...ds.revisions(app)].reverse().find((r) => r.hash === hash)?.number;
    },
    /** The revision the app runs (the last completed), and the one new replicas get now. */
    current: (app: string) => {
      const rec = ds.app(app);
      return rec ? { current: rec.current, target: targetOf(app) ?? rec.current } : undefined;
    },
    start() {
      running = true;
      if (timer) return;
      timer = setInterval(() => {
        for (const a of deps.config().apps) if (active(a.name)) void evaluate(a.name);
      }, TICK_MS);
    },
    stop() {
      running = false;
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
  return runner;
}

function withTimeout<T>(p: Promise<T>): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`the procs worker did not answer in ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(t));
}

export type DeployRunner = ReturnType<typeof createDeployRunner>;

// The policy runner on the supervisor thread: holds the installed policy set (files + API), ticks the pure engine
// (src/core/policy/engine.ts) with a snapshot of the targets, writes every firing to the audit trail before acting,
// executes the actions through the supervisor's own functions, and records each outcome.
//
//   created --start()--> running --stop()--> stopped      (stop is idempotent; reload/put/delete replace the set whole)
import type { ReceiverConfig } from "../config/alerts-schema.ts";
import { createEngineState, type Firing, type PlannedAction, record, scaleTarget, setPolicies, tick } from "../core/policy/engine.ts";
import { type Action, type Policy, policyKey, type Snapshot, type TargetView } from "../core/policy/types.ts";
import type { EventInput } from "../state/event-bus.ts";
import type { AuditAction, AuditQuery, AuditRecord, PolicyStore } from "../state/policy-store.ts";
import type { Logger } from "../telemetry/logger.ts";
import { type PolicyFileProblem, summary, validateDocuments } from "./loader.ts";
import { renderTemplate } from "./template.ts";

/** What actions call: the same functions the API uses. Each may throw; the error becomes the action's outcome. */
export interface PolicyEffects {
  scale(app: string, replicas: number, forMs: number): Promise<void>;
  pauseScaling(app: string, forMs: number): Promise<void>;
  resumeScaling(app: string): Promise<void>;
  restartReplica(app: string, replica: number): Promise<void>;
  restartApp(app: string): Promise<void>;
  drain(app: string, replica: number): Promise<void>;
  eject(app: string, replica: number): Promise<void>;
  setWeight(app: string, replica: number, weight: number): Promise<void>;
  rollback(app: string, revision: number | undefined): Promise<string>;
  alert(input: { name: string; severity: "info" | "warning" | "critical"; summary: string; labels: Record<string, string>; value?: number }): string;
  runTask(name: string, params: Record<string, string>): string;
  /** Queues a webhook on the alert delivery path (src/alerts/delivery.ts); the notification id, or false when dropped. */
  deliver(n: { receiver: string; groupKey: string; payload: string; headers: Record<string, string> }): number | false;
  /** The bounds an app's count may take (scale actions stay within them). */
  bounds(app: string): { min: number; max: number } | undefined;
}

export interface PolicyRunnerDeps {
  interval(): number;
  enabled(): boolean;
  retention(): number;
  tasks(): readonly string[];
  snapshot(): Promise<Snapshot>;
  readonly effects: PolicyEffects;
  readonly store: PolicyStore;
  publish(e: EventInput): void;
  readonly log: Logger;
  env(name: string): string | undefined;
  now?: () => number;
}

export interface PolicyStatus {
  readonly policy: Policy;
  readonly lastEvaluation?: number;
  readonly firing: number;
  readonly lastActions: AuditRecord[];
}

export type PutResult = { ok: true; policy: Policy; created: boolean } | { ok: false; status: 400 | 409; problems: PolicyFileProblem[]; message: string };

export function createPolicyRunner(deps: PolicyRunnerDeps) {
  const now = deps.now ?? Date.now;
  const state = createEngineState(deps.interval());
  let filePolicies: Policy[] = [];
  const apiPolicies = new Map<string, Policy>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  let ticking = false;
  let lastEvaluation: number | undefined;
  let lastFiring = new Map<string, number>();
  let ticks = 0;

  // Stored API policies are validated again: one that no longer validates (a task removed from the config) is skipped, said once.
  for (const { key, document } of deps.store.apiPolicies()) {
    const v = validateDocuments([document], "api", { tasks: deps.tasks() });
    if (v.problems.length > 0 || !v.policies[0]) deps.log.warn("a stored policy no longer validates; skipped", { policy: key, problems: summary(v.problems) });
    else apiPolicies.set(key, v.policies[0]);
  }

  const all = () => [...filePolicies, ...apiPolicies.values()];
  const install = () => setPolicies(state, all());
  install();

  const templateCtx = (f: Firing, t: TargetView) => ({
    policy: f.policy, rule: f.rule, firing: String(f.firing), mode: f.mode, value: f.value === null ? "" : String(round(f.value)),
    "target.id": t.id, "target.kind": t.kind, "target.app": t.app, "replica.id": t.replica === undefined ? "" : String(t.replica), "app.name": t.app,
  });

  const paramsOf = (a: Action): Record<string, unknown> => {
    const { type: _t, ...rest } = a as Action & Record<string, unknown>;
    return rest;
  };

  const execute = async (f: Firing, pa: PlannedAction): Promise<Pick<AuditAction, "outcome" | "detail">> => {
    const a = pa.action;
    const t = pa.target;
    const ctx = templateCtx(f, t);
    const e = deps.effects;
    const replica = () => {
      if (t.replica === undefined) throw new Error(`${a.type} needs a replica target; ${t.id} is an app`);
      return t.replica;
    };
    switch (a.type) {
      case "scale": {
        const cur = t.metrics.replicas ?? 0;
        const b = e.bounds(t.app);
        let n = scaleTarget(a, cur);
        if (b) n = Math.min(b.max, Math.max(b.min, n));
        if (n === cur) return { outcome: "skipped", detail: `already at ${cur} replicas` };
        await e.scale(t.app, n, a.forMs);
        return { outcome: "done", detail: `${t.app}: ${cur} -> ${n} replicas; autoscaling held for ${Math.round(a.forMs / 1000)}s` };
      }
      case "pause_scaling":
        await e.pauseScaling(t.app, a.forMs);
        return { outcome: "done", detail: `autoscaling of ${t.app} paused for ${Math.round(a.forMs / 1000)}s` };
      case "resume_scaling":
        await e.resumeScaling(t.app);
        return { outcome: "done" };
      case "restart":
        if (a.target === "app") await e.restartApp(t.app);
        else await e.restartReplica(t.app, replica());
        return { outcome: "done", detail: a.target === "app" ? `rolling restart of ${t.app}` : `replica ${t.id} restarted` };
      case "drain":
        await e.drain(t.app, replica());
        return { outcome: "done" };
      case "eject":
        await e.eject(t.app, replica());
        return { outcome: "done" };
      case "set_weight":
        await e.setWeight(t.app, replica(), a.weight);
        return { outcome: "done", detail: `weight ${a.weight}` };
      case "rollback":
        return { outcome: "done", detail: await e.rollback(t.app, a.revision) };
      case "alert": {
        const id = e.alert({ name: `${f.policy}/${f.rule}`.replace(/[^A-Za-z0-9_:-]/g, "_"), severity: a.severity, summary: renderTemplate(a.summary, ctx), labels: { policy: f.policy, rule: f.rule, target: t.id, app: t.app }, ...(f.value !== null ? { value: f.value } : {}) });
        return { outcome: "done", detail: `alert ${id}` };
      }
      case "run_task": {
        const params: Record<string, string> = {};
        for (const [k, v] of Object.entries(a.params)) params[k] = renderTemplate(v, ctx);
        return { outcome: "done", detail: `task ${e.runTask(a.task, params)}` };
      }
      case "webhook": {
        if (a.secretEnv && !deps.env(a.secretEnv)) return { outcome: "failed", detail: `environment variable ${a.secretEnv} (the signing secret) is not set` };
        const body = renderTemplate(a.body || JSON.stringify({ policy: f.policy, rule: f.rule, target: t.id, firing: f.firing, value: f.value }), ctx, true);
        const i = (all().find((p) => policyKey(p) === f.policy)?.rules.find((r) => r.name === f.rule)?.actions ?? []).indexOf(a);
        const key = `${f.policy}/${f.rule}/${f.target}/${f.firing}`;
        const id = e.deliver({ receiver: webhookReceiverName(f.policy, f.rule, i), groupKey: key, payload: body, headers: { "Idempotency-Key": key } });
        if (id === false) return { outcome: "failed", detail: "the notification queue is full (alerts.queue_size): dropped" };
        return { outcome: "queued", detail: `notification ${id} to ${a.url} (GET /v1/alerts/notifications has its delivery)` };
      }
    }
  };

  /** The receiver of a policy webhook action, as the alert delivery path sends to it (retries, timeout, signature). */
  const webhookReceiver = (name: string): ReceiverConfig | undefined => {
    const m = /^policy:(.+)\|(.+)#(\d+)$/.exec(name);
    if (!m) return undefined;
    const a = all().find((p) => policyKey(p) === m[1])?.rules.find((r) => r.name === m[2])?.actions[Number(m[3])];
    if (a?.type !== "webhook") return undefined;
    const secret = a.secretEnv ? deps.env(a.secretEnv) : undefined;
    return {
      name, url: a.url, matchers: [], severities: [], send_resolved: false, timeout: a.timeoutMs, max_attempts: a.retries + 1, backoff: WEBHOOK_BACKOFF_MS, max_backoff: WEBHOOK_MAX_BACKOFF_MS,
      headers: { "x-polis-policy": m[1]! }, max_alerts: 0, ...(secret ? { hmac_secret: secret } : {}),
    } as ReceiverConfig;
  };

  const auditOf = (f: Firing, ts: number): Omit<AuditRecord, "id"> => ({
    ts,
    policy: f.policy,
    rule: f.rule,
    target: f.target,
    firing: f.firing,
    mode: f.mode,
    conditions: f.leaves.map((l) => ({ path: l.path, holds: l.holds, ...(l.value !== undefined ? { value: l.value } : {}), ...(l.error ? { error: l.error } : {}) })),
    actions: f.actions.map((pa) => ({
      type: pa.action.type,
      params: paramsOf(pa.action),
      outcome: pa.disposition === "execute" ? "pending" : pa.disposition,
      ...(pa.overriddenBy ? { detail: `overridden by ${pa.overriddenBy}` } : {}),
    })),
  });

  const act = async (f: Firing, ts: number) => {
    // Persisted first: a crash while acting leaves the firing and its pending actions in the audit.
    const rec = auditOf(f, ts);
    let id: number;
    try {
      id = deps.store.appendAudit(rec);
    } catch (e) {
      deps.log.error("policy firing not acted on: the audit could not be written", { policy: f.policy, rule: f.rule, target: f.target, error: e });
      return;
    }
    const full: AuditRecord = { ...rec, id };
    deps.publish({
      type: f.mode === "dry_run" ? "policy.dry_run" : "policy.fired",
      source: "policy",
      target: f.target,
      severity: "info",
      message: `${f.policy} rule ${f.rule} ${f.mode === "dry_run" ? "would fire" : "fired"} on ${f.target} (firing ${f.firing}): ${f.actions.map((a) => a.action.type).join(", ")}${f.mode === "dry_run" ? " (dry run: nothing done)" : ""}`,
      data: { policy: f.policy, rule: f.rule, firing: f.firing, audit: id },
    });
    for (let i = 0; i < f.actions.length; i++) {
      const pa = f.actions[i]!;
      if (pa.disposition !== "execute") continue;
      let r: Pick<AuditAction, "outcome" | "detail">;
      try {
        r = await execute(f, pa);
      } catch (e) {
        r = { outcome: "failed", detail: (e as Error).message ?? String(e) };
      }
      full.actions[i] = { ...full.actions[i]!, outcome: r.outcome, ...(r.detail !== undefined ? { detail: r.detail } : {}) };
      deps.publish({
        type: r.outcome === "failed" ? "policy.action_failed" : "policy.action",
        source: "policy",
        target: f.target,
        severity: r.outcome === "failed" ? "warning" : "info",
        message: `${f.policy}/${f.rule} ${pa.action.type} on ${f.target}: ${r.outcome}${r.detail ? ` (${r.detail})` : ""}`,
        data: { policy: f.policy, rule: f.rule, action: pa.action.type, outcome: r.outcome, audit: id },
      });
    }
    try {
      deps.store.updateAudit(full);
    } catch (e) {
      deps.log.warn("policy action outcomes not written to the audit", { audit: id, error: e });
    }
  };

  const once = async (): Promise<Firing[]> => {
    // Nothing installed: no snapshot (a request to the procs worker) is taken.
    if (state.policies.length === 0) {
      lastEvaluation = now();
      return [];
    }
    const s = await deps.snapshot();
    record(state, s);
    const r = tick(state, s);
    lastEvaluation = s.now;
    lastFiring = r.firingByPolicy;
    for (const c of r.celErrors) deps.publish({ type: "policy.cel_error", source: "policy", target: c.target, severity: "warning", message: `CEL expression failed on ${c.target} (counted as false): ${c.error}`, data: { expression: c.source } });
    for (const x of r.resolved) deps.publish({ type: "policy.resolved", source: "policy", target: x.target, severity: "info", message: `${x.policy} rule ${x.rule} no longer holds on ${x.target} (firing ${x.firing} ended)`, data: x });
    for (const f of r.firings) await act(f, s.now);
    if (++ticks % 60 === 0) {
      try {
        deps.store.trimAudit(deps.retention());
      } catch {
        // a store fault is reported by the store itself
      }
    }
    return r.firings;
  };

  const schedule = () => {
    if (!running) return;
    timer = setTimeout(async () => {
      if (deps.enabled() && !ticking) {
        ticking = true;
        try {
          await once();
        } catch (e) {
          deps.log.warn("policy evaluation failed", { error: e });
        } finally {
          ticking = false;
        }
      }
      schedule();
    }, deps.interval());
  };

  const key = (ns: string, name: string) => `${ns}/${name}`;

  return {
    start() {
      if (running) return;
      running = true;
      state.intervalMs = deps.interval();
      schedule();
    },
    stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
    /** A validated file set replaces the old file set whole (the caller refused a bad one before). */
    setFilePolicies(policies: Policy[]) {
      const clash = policies.find((p) => apiPolicies.has(policyKey(p)));
      if (clash) {
        apiPolicies.delete(policyKey(clash));
        deps.log.warn("a policy file now defines a policy created through the API; the file wins", { policy: policyKey(clash) });
      }
      filePolicies = policies;
      state.intervalMs = deps.interval();
      install();
    },
    /** Checks a file set against the API ones (names must not clash) without installing it. */
    list(): PolicyStatus[] {
      return all().map((p) => status(p));
    },
    get(ns: string, name: string): PolicyStatus | undefined {
      const p = all().find((x) => x.namespace === ns && x.name === name);
      return p ? status(p) : undefined;
    },
    /** PUT: validated, persisted, then installed; a policy from a file cannot be replaced through the API. */
    put(ns: string, name: string, doc: unknown): PutResult {
      const v = validateDocuments([doc], "api", { tasks: deps.tasks() });
      if (v.problems.length > 0) return { ok: false, status: 400, problems: v.problems, message: summary(v.problems) };
      const p = v.policies[0]!;
      if (p.namespace !== ns || p.name !== name) {
        const problems = [{ file: "api", path: "metadata", message: `the document names ${policyKey(p)}, the path ${key(ns, name)}` }];
        return { ok: false, status: 400, problems, message: summary(problems) };
      }
      const fromFile = filePolicies.find((x) => policyKey(x) === policyKey(p));
      if (fromFile) {
        const problems = [{ file: "api", path: "metadata.name", message: `policy ${policyKey(p)} comes from ${fromFile.source}; change the file instead` }];
        return { ok: false, status: 409, problems, message: summary(problems) };
      }
      const created = !apiPolicies.has(policyKey(p));
      deps.store.putApiPolicy(policyKey(p), doc);
      apiPolicies.set(policyKey(p), p);
      install();
      deps.publish({ type: created ? "policy.created" : "policy.updated", source: "api", target: policyKey(p), severity: "info", message: `policy ${policyKey(p)} ${created ? "created" : "replaced"} through the API (${p.rules.length} rule(s), ${p.mode})` });
      return { ok: true, policy: p, created };
    },
    remove(ns: string, name: string): "removed" | "not_found" | "from_file" {
      const k = key(ns, name);
      if (filePolicies.some((x) => policyKey(x) === k)) return "from_file";
      if (!apiPolicies.has(k)) return "not_found";
      deps.store.deleteApiPolicy(k);
      apiPolicies.delete(k);
      install();
      deps.publish({ type: "policy.deleted", source: "api", target: k, severity: "info", message: `policy ${k} deleted through the API` });
      return "removed";
    },
    /** Validation only (POST /v1/policies/validate, `polis policy test`). */
    validate(docs: readonly unknown[]) {
      return validateDocuments(docs, "api", { tasks: deps.tasks() });
    },
    /** What-if against the live state: the rules that hold now on which targets, with every condition's value. No action. */
    async evaluate(policies: readonly Policy[]): Promise<Firing[]> {
      const s = await deps.snapshot();
      const trial = createEngineState(deps.interval());
      // The live series, so windows over the past are seen as the running engine sees them.
      trial.series = state.series;
      setPolicies(trial, policies, { resize: false });
      return tick(trial, s, { evaluateOnly: true }).firings;
    },
    audit: (q: AuditQuery) => deps.store.audit(q),
    webhookReceiver,
    /** One evaluation now (tests, benchmarks). */
    tick: once,
    policies: all,
  };

  function status(p: Policy): PolicyStatus {
    return {
      policy: p,
      ...(lastEvaluation !== undefined ? { lastEvaluation } : {}),
      firing: lastFiring.get(policyKey(p)) ?? 0,
      lastActions: deps.store.audit({ policy: policyKey(p), limit: 5 }),
    };
  }
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/** A policy webhook's first retry waits this long, doubled per attempt up to the max. */
const WEBHOOK_BACKOFF_MS = 200;
const WEBHOOK_MAX_BACKOFF_MS = 5000;

/** One receiver per webhook action: `policy:<namespace/name>|<rule>#<action index>`. */
export const webhookReceiverName = (policy: string, rule: string, index: number) => `policy:${policy}|${rule}#${index}`;

export type PolicyRunner = ReturnType<typeof createPolicyRunner>;

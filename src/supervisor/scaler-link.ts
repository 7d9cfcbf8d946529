// Supervisor side of the scaler worker: policies from config (or the API), replica sets and metric samples in;
// decisions out to history, events, metrics and the procs worker.
import { replicaBounds } from "../config/apps.ts";
import { toScalePolicyInput } from "../config/scaling.ts";
import { type ScalePolicy, validatePolicy } from "../core/scaling/policy.ts";
import type { ReplicaStats } from "../protocol/procs.ts";
import type { Decision, FromScaler, MetricSample, ReplicaInfo, ToScaler } from "../protocol/scaler.ts";
import type { Config } from "../config/schema.ts";
import type { EventInput } from "../state/event-bus.ts";
import { autoscalingMode } from "../state/intent.ts";
import { StoreError } from "../state/store-fault.ts";
import type { Store } from "../state/store.ts";
import type { Logger } from "../telemetry/logger.ts";
import type { Telemetry } from "../telemetry/metrics.ts";
import type { ProcsLink } from "./procs-link.ts";

export interface ScalingRecord {
  app: string;
  at: number;
  current: number;
  desired: number;
  action: string;
  reason: string;
  rule: string;
  dryRun: boolean;
  decision: Decision;
}

/** What the scaler link needs from the supervisor. */
export interface ScalerLinkDeps {
  config(): Config;
  readonly cores: number;
  publish(e: EventInput): void;
  readonly log: Pick<Logger, "error">;
  readonly store: Pick<Store, "getKv" | "putKv" | "appendScaling" | "scalingHistory">;
  readonly telemetry: Pick<Telemetry, "scalingDecision" | "scalingEvaluated">;
  /** To the scaler worker (dropped while it is not running). */
  send(msg: ToScaler): void;
  /** Asks the procs worker for a replica count. */
  scale(app: string, replicas: number): Promise<unknown>;
}

export function createScalerLink(hub: ScalerLinkDeps, procs: Pick<ProcsLink, "desiredOf" | "readyReplicas" | "setDesired" | "onStats" | "intents">) {
  const overrides = new Map<string, ScalePolicy>(Object.entries(hub.store.getKv<Record<string, ScalePolicy>>("scaling.overrides") ?? {}));
  const latest = new Map<string, Decision>();
  const send = hub.send;

  const policies = () => {
    const cfg = hub.config();
    const out: Array<{ app: string; policy: ScalePolicy }> = [];
    for (const app of cfg.apps) {
      const o = overrides.get(app.name);
      if (o) {
        out.push({ app: app.name, policy: o });
        continue;
      }
      if (!app.scaling) continue;
      const { min, max } = replicaBounds(app, hub.cores);
      const v = validatePolicy(toScalePolicyInput(app.scaling, min, max));
      if (v.ok) out.push({ app: app.name, policy: v.policy });
    }
    return out;
  };
  const policyOf = (app: string) => policies().find((p) => p.app === app)?.policy;

  const requests = (app: string) => {
    const cfg = hub.config().apps.find((a) => a.name === app);
    const s = cfg?.scaling;
    // Kubernetes measures utilization against a pod's request: here the app's enforced limits stand in for it.
    const cpu = s?.cpu_request ?? (cfg?.resources?.cpu !== undefined ? cfg.resources.cpu * 1000 : 1000);
    const memory = s?.memory_request ?? cfg?.resources?.memory ?? cfg?.max_memory;
    return { cpuRequest: cpu, ...(memory !== undefined ? { memoryRequest: memory } : {}) };
  };

  const current = (app: string) => {
    const cfg = hub.config().apps.find((a) => a.name === app);
    if (!cfg) return 0;
    return procs.desiredOf(app) ?? replicaBounds(cfg, hub.cores).initial;
  };

  const replicasChanged = (app: string) => {
    if (!policyOf(app)) return;
    const ready = procs.readyReplicas(app);
    const n = current(app);
    const req = requests(app);
    const list: ReplicaInfo[] = ready.map((r) => ({ id: `${app}-${r.id}`, phase: "ready", ...req }));
    // Replicas asked for but not ready yet count as starting (0% when scaling up, as Kubernetes' unready pods).
    for (let i = list.length; i < n; i++) list.push({ id: `${app}-pending-${i}`, phase: "starting", ...req });
    send({ t: "scaler.replicas", app, current: n, replicas: list });
  };

  const ingest = (samples: MetricSample[]) => {
    if (samples.length > 0) send({ t: "scaler.samples", samples });
  };

  procs.onStats((batch: readonly ReplicaStats[]) => {
    const at = Date.now();
    const samples: MetricSample[] = [];
    for (const s of batch) {
      const replica = `${s.app}-${s.id}`;
      // cpuPercent is percent of one core; the scaler compares millicores with cpu_request.
      samples.push({ app: s.app, replica, metric: "cpu", value: s.cpuPercent * 10, at });
      samples.push({ app: s.app, replica, metric: "memory", value: s.rssBytes, at });
    }
    ingest(samples);
  });

  /** Whether a decision may be carried out now: not while the operator paused autoscaling or stopped the app. */
  const holdReason = (app: string): string | undefined => {
    const i = procs.intents.get(app);
    if (i.stopped) return "the app is stopped";
    if (i.pausedUntil === undefined) return undefined;
    const now = Date.now();
    if (autoscalingMode(i, true, now).mode === "paused") return `autoscaling is paused until ${new Date(i.pausedUntil).toISOString()}`;
    // The pause window is over: say so once, and let this decision through.
    const { pausedUntil: _p, ...rest } = i;
    procs.intents.update(app, () => rest);
    hub.publish({ type: "scaling.resumed", source: "scaler", target: app, severity: "info", message: `${app}: the manual-scale pause ended; autoscaling is in control again` });
    return undefined;
  };

  const onDecision = (d: Decision) => {
    latest.set(d.app, d);
    const held = d.dryRun || d.action === "none" ? undefined : holdReason(d.app);
    const record: ScalingRecord = { app: d.app, at: d.at, current: d.current, desired: d.desired, action: d.action, reason: d.reason, rule: String(d.rule), dryRun: d.dryRun, decision: d };
    hub.store.appendScaling(d.app, d.at, record);
    hub.telemetry.scalingDecision(d.app, d.action, d.current, d.desired);
    hub.publish({
      type: "scale.decision",
      source: "scaler",
      target: d.app,
      severity: "info",
      message: `${d.app}: ${d.action} ${d.current} -> ${d.desired}${d.dryRun ? " (dry run, not applied)" : held ? ` (not applied: ${held})` : ""}: ${d.reason}`,
      data: { current: d.current, desired: d.desired, action: d.action, rule: d.rule, dryRun: d.dryRun, ...(held ? { held } : {}) },
    });
    if (d.dryRun || d.action === "none" || held) return;
    try {
      procs.setDesired(d.app, d.desired, "scaler", { replicas: d.desired, at: d.at, reason: d.reason });
    } catch (e) {
      // Desired state that cannot be persisted is not acted on (a restart would undo it). A store fault was
      // already reported once by the store; anything else is logged here.
      if (!(e instanceof StoreError)) hub.log.error("scale decision not applied: it could not be persisted", { app: d.app, error: e });
      return;
    }
    hub.scale(d.app, d.desired).catch((e) => hub.log.error("scale failed", { app: d.app, error: e }));
    replicasChanged(d.app);
  };

  return {
    state: () => ({ intervalMs: hub.config().agent.scaler_interval, policies: policies() }),
    handle(msg: FromScaler): boolean {
      if (msg.t === "scaler.decision") {
        onDecision(msg.decision);
        return true;
      }
      if (msg.t === "scaler.latest") {
        for (const d of msg.decisions) {
          latest.set(d.app, d);
          hub.telemetry.scalingEvaluated(d.app, d.desired);
        }
        return true;
      }
      return false;
    },
    reload() {
      send({ t: "scaler.policies", intervalMs: hub.config().agent.scaler_interval, policies: policies() });
      for (const p of policies()) replicasChanged(p.app);
    },
    replicasChanged,
    ingest,
    policies,
    policyOf,
    latest: (app: string) => latest.get(app),
    setOverride(app: string, policy: ScalePolicy | undefined) {
      if (policy) overrides.set(app, policy);
      else overrides.delete(app);
      hub.store.putKv("scaling.overrides", Object.fromEntries(overrides));
      send({ t: "scaler.policies", intervalMs: hub.config().agent.scaler_interval, policies: policies() });
      replicasChanged(app);
    },
    history: (app: string, limit: number) => hub.store.scalingHistory(app, limit) as ScalingRecord[],
  };
}

export type ScalerLink = ReturnType<typeof createScalerLink>;

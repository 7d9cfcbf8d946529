// Operator intent on apps: manual scale (pausing autoscaling for a window), hand-back to the autoscaler, stop and
// start, and maintenance mode. Each change is persisted first (intent store, catalog overrides), then carried out,
// then announced as an event; a change that cannot be persisted is refused and nothing is done.
import { replicaBounds } from "../config/apps.ts";
import type { AppIntent } from "../state/intent.ts";
import { autoscalingMode } from "../state/intent.ts";
import type { Config } from "../config/schema.ts";
import type { Catalog, Maintenance } from "../state/catalog.ts";
import type { EventInput } from "../state/event-bus.ts";
import { APP_NAMESPACE } from "./hub.ts";
import type { ProcsLink } from "./procs-link.ts";
import type { ScalerLink } from "./scaler-link.ts";

/** Used when the app's `scaling.manual_pause` cannot be read (an app without a scaling block is never paused). */
const DEFAULT_MANUAL_PAUSE_MS = 10 * 60_000;

export interface AutoscalingView {
  mode: "auto" | "paused" | "manual";
  paused_until?: string;
}

export interface ScaleOutcome {
  app: string;
  replicas: number;
  autoscaling: AutoscalingView;
}

export interface IntentView {
  /** The count the operator set (absent when the config or the autoscaler decides). */
  replicas?: number;
  autoscaling: AutoscalingView;
  stopped?: { since: string; previous: number };
  maintenance?: { since: string; reason?: string };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** What app control needs from the supervisor. */
export interface AppControlDeps {
  config(): Config;
  readonly cores: number;
  readonly catalog: Pick<Catalog, "maintenance" | "setMaintenance">;
  publish(e: EventInput): void;
}

export function createAppControl(
  hub: AppControlDeps,
  procs: Pick<ProcsLink, "intents" | "desiredOf">,
  scaler: Pick<ScalerLink, "policyOf" | "replicasChanged">,
  scaleProcs: (app: string, n: number) => Promise<void>,
) {
  const cfgOf = (app: string) => hub.config().apps.find((a) => a.name === app);
  const autoscaled = (app: string) => scaler.policyOf(app) !== undefined;
  const current = (app: string) => {
    const cfg = cfgOf(app);
    return procs.desiredOf(app) ?? (cfg ? replicaBounds(cfg, hub.cores).initial : 0);
  };
  const autoscalingView = (app: string, i: AppIntent): AutoscalingView => {
    const m = autoscalingMode(i, autoscaled(app), Date.now());
    return { mode: m.mode, ...(m.pausedUntil !== undefined ? { paused_until: iso(m.pausedUntil) } : {}) };
  };
  const outcome = (app: string): ScaleOutcome => ({ app, replicas: current(app), autoscaling: autoscalingView(app, procs.intents.get(app)) });
  const announce = (type: string, app: string, message: string, data?: Record<string, unknown>) =>
    hub.publish({ type, source: "api", target: app, severity: "info", message, ...(data ? { data } : {}) });
  const apply = async (app: string, n: number) => {
    await scaleProcs(app, n);
    scaler.replicasChanged(app);
  };

  return {
    /** A manual count; on an autoscaled app it pauses autoscaling for `forMs` (default: the app's manual_pause). */
    async scale(app: string, replicas: number, forMs?: number): Promise<ScaleOutcome> {
      const auto = autoscaled(app);
      const pauseMs = forMs ?? cfgOf(app)?.scaling?.manual_pause ?? DEFAULT_MANUAL_PAUSE_MS;
      const until = auto ? Date.now() + pauseMs : undefined;
      const { stopped: _s, pausedUntil: _p, ...rest } = procs.intents.get(app);
      procs.intents.update(app, () => ({ ...rest, replicas, setBy: "operator", ...(until !== undefined ? { pausedUntil: until } : {}) }));
      if (until !== undefined) {
        announce("scaling.paused", app, `${app}: scaled to ${replicas} by the operator; autoscaling paused until ${iso(until)}`, { replicas, pausedUntil: until });
      } else announce("app.scaled", app, `${app}: scaled to ${replicas} by the operator`, { replicas });
      await apply(app, replicas);
      return outcome(app);
    },
    /** Hands the count back to the autoscaler; false when the app has none or is stopped. */
    async resume(app: string): Promise<ScaleOutcome | "not-autoscaled" | "stopped"> {
      if (!autoscaled(app)) return "not-autoscaled";
      const i = procs.intents.get(app);
      if (i.stopped) return "stopped";
      const { pausedUntil: _p, ...rest } = i;
      procs.intents.update(app, () => ({ ...rest, setBy: "scaler" }));
      announce("scaling.resumed", app, `${app}: autoscaling resumed by the operator`);
      scaler.replicasChanged(app);
      return outcome(app);
    },
    /** Scale to zero and remember the count; idempotent. */
    async stop(app: string): Promise<ScaleOutcome> {
      const i = procs.intents.get(app);
      if (!i.stopped) {
        const previous = current(app);
        procs.intents.update(app, (x) => ({ ...x, stopped: { at: Date.now(), previous } }));
        announce("app.stopped", app, `${app}: stopped by the operator (was ${previous} replica(s))`, { previous });
      }
      await apply(app, 0);
      return outcome(app);
    },
    /** Back to the count before the stop (within the config's current bounds); idempotent. */
    async start(app: string): Promise<ScaleOutcome> {
      const i = procs.intents.get(app);
      if (i.stopped) {
        const { stopped, ...rest } = i;
        procs.intents.update(app, () => ({ ...rest, replicas: stopped.previous }));
        announce("app.started", app, `${app}: started by the operator (${stopped.previous} replica(s))`, { replicas: stopped.previous });
      }
      await apply(app, current(app));
      return outcome(app);
    },
    /** Maintenance on or off: the app's endpoints leave (or rejoin) every balancer. */
    maintenance(app: string, enable: boolean, reason?: string): Maintenance | undefined {
      const was = hub.catalog.maintenance(APP_NAMESPACE, app);
      if (enable) {
        const m: Maintenance = { since: was?.since ?? Date.now(), ...(reason !== undefined ? { reason } : {}) };
        hub.catalog.setMaintenance(APP_NAMESPACE, app, m);
        announce("app.maintenance", app, `${app}: maintenance on${reason ? ` (${reason})` : ""}; its endpoints left every balancer`, { enable, ...(reason !== undefined ? { reason } : {}) });
        return m;
      }
      if (was) {
        hub.catalog.setMaintenance(APP_NAMESPACE, app, null);
        announce("app.maintenance", app, `${app}: maintenance off; its endpoints are back in the balancers`, { enable });
      }
      return undefined;
    },
    intent(app: string): IntentView {
      const i = procs.intents.get(app);
      const m = hub.catalog.maintenance(APP_NAMESPACE, app);
      return {
        ...(i.setBy === "operator" && i.replicas !== undefined ? { replicas: i.replicas } : {}),
        autoscaling: autoscalingView(app, i),
        ...(i.stopped ? { stopped: { since: iso(i.stopped.at), previous: i.stopped.previous } } : {}),
        ...(m ? { maintenance: { since: iso(m.since), ...(m.reason !== undefined ? { reason: m.reason } : {}) } } : {}),
      };
    },
    stopped: (app: string) => procs.intents.get(app).stopped !== undefined,
    inMaintenance: (app: string) => hub.catalog.maintenance(APP_NAMESPACE, app) !== undefined,
  };
}

export type AppControl = ReturnType<typeof createAppControl>;

// Maps the config's apps onto the process manager's specs (counts resolved against the core count, durations in ms).
import { join } from "node:path";
import type { AppSpec } from "../protocol/procs.ts";
import type { AppConfig, Config } from "./schema.ts";
import { resolveCount } from "./semantics.ts";
import { OCI_SELF, toDriverSpec, toResourcesSpec } from "./drivers.ts";

/** An app command of "@self" runs this very program (the binary, or bun with the entry file). */
export const SELF = "@self";

/** How to run this program again; the supervisor knows it (supervisor/entrypoints.ts), the mapping takes it as input. */
export interface SelfCommand {
  readonly command: string;
  readonly args: readonly string[];
}

/** Bounds of an app's replica count: fixed counts have min = max. */
export function replicaBounds(app: AppConfig, cores: number): { min: number; max: number; initial: number } {
  if (typeof app.replicas === "object") {
    const min = resolveCount(app.replicas.min, cores);
    const max = resolveCount(app.replicas.max, cores);
    return { min, max, initial: Math.max(min, Math.min(max, min === 0 ? 1 : min)) };
  }
  const n = resolveCount(app.replicas, cores);
  return { min: n, max: n, initial: n };
}

/** The address app replicas bind to and are probed and published at. */
export const replicaHost = (config: Pick<Config, "cluster">) => config.cluster?.node.advertise ?? "127.0.0.1";

export function toAppSpec(app: AppConfig, config: Config, host: { readonly cores: number; readonly self: SelfCommand }, replicas?: number): AppSpec {
  const cores = host.cores;
  const port = app.port;
  const readinessKind = app.readiness.kind === "auto" || app.readiness.kind === "check" ? ("none" in port ? "none" : "port") : app.readiness.kind;
  // In a container, "@self" is this binary bind-mounted read-only at OCI_SELF (see toDriverSpec).
  const self = app.command === SELF ? (app.driver === "oci" ? { command: OCI_SELF, args: [] } : host.self) : undefined;
  return {
    name: app.name,
    command: self?.command ?? app.command,
    args: self ? [...self.args, ...app.args] : app.args,
    ...(app.cwd ? { cwd: app.cwd } : {}),
    env: app.env,
    replicas: (() => {
      const b = replicaBounds(app, cores);
      return replicas === undefined ? b.initial : Math.max(b.min, Math.min(b.max, replicas));
    })(),
    // With a cluster the replicas bind to the node's advertise address so other nodes can reach them.
    host: replicaHost(config),
    port: "range" in port ? { kind: "range", from: port.range[0], to: port.range[1], env: port.env } : "shared" in port ? { kind: "shared", port: port.shared, env: port.env } : { kind: "none" },
    readiness: { kind: readinessKind, ...(app.readiness.pattern ? { pattern: app.readiness.pattern } : {}), timeoutMs: app.readiness.timeout },
    restart: {
      mode: app.restart.policy,
      backoff: { initialMs: app.restart.initial_delay, capMs: app.restart.max_delay, factor: app.restart.factor, stableMs: app.restart.stable_after, immediateFirst: app.restart.immediate_first },
      crashLoop: { maxRestarts: app.restart.crash_loop.max_restarts, windowMs: app.restart.crash_loop.window, cooldownMs: app.restart.crash_loop.cooldown, minUptimeMs: app.restart.crash_loop.min_uptime },
    },
    stop: { signal: app.stop.signal, timeoutMs: app.stop.timeout },
    drainTimeoutMs: Math.max(0, ...config.balancers.map((b) => b.drain_timeout)),
    ...(app.max_memory !== undefined ? { maxMemoryBytes: app.max_memory } : {}),
    ...(app.watchdog ? { watchdog: { timeoutMs: app.watchdog.timeout, pattern: app.watchdog.pattern } } : {}),
    logs: { dir: join(config.agent.data_dir, "logs"), maxBytes: app.logs.max_size, files: app.logs.files, ringLines: app.logs.ring_lines },
    driver: toDriverSpec(app, config.agent.data_dir, app.command === SELF ? host.self.command : undefined),
    ...(app.resources ? { resources: toResourcesSpec(app.resources) } : {}),
  };
}

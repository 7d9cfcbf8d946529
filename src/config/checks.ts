// Maps config checks onto the health checker's specs: app checks once per replica (target = the replica's port),
// standalone checks as written.
import type { CheckSpec } from "../protocol/health.ts";
import type { AppCheckConfig, StandaloneCheckConfig } from "./schema.ts";

type AnyCheck = AppCheckConfig | StandaloneCheckConfig;

function options(c: AnyCheck, port: number | undefined): Record<string, unknown> {
  switch (c.kind) {
    case "http":
    case "https":
      return {
        method: c.method,
        ...(c.path !== undefined ? { path: c.path } : {}),
        headers: c.headers,
        ...(c.expect_status ? { expectedStatus: [...c.expect_status] } : {}),
        ...(c.body_match !== undefined ? { bodyRegex: c.body_match } : {}),
        tlsVerify: !c.tls_skip_verify,
      };
    case "tcp":
      return { ...(c.send !== undefined ? { send: c.send } : {}), ...(c.expect !== undefined ? { expect: c.expect } : {}) };
    case "udp":
      return { ...(c.send !== undefined ? { payload: c.send } : {}), ...(c.expect !== undefined ? { expect: c.expect } : {}) };
    case "grpc":
      return { ...(c.service !== undefined ? { service: c.service } : {}) };
    case "command":
      return { args: [...c.args], ...(port !== undefined ? { env: { PORT: String(port) } } : {}) };
    case "file":
      return { ...(c.max_age !== undefined ? { maxAgeMs: c.max_age } : {}), ...(c.content_match !== undefined ? { contentRegex: c.content_match } : {}) };
    case "ttl":
      return { ttlMs: c.ttl, detector: c.detector, phi: { threshold: c.phi_threshold } };
  }
}

function common(c: AnyCheck) {
  return {
    kind: c.kind,
    intervalMs: c.interval,
    timeoutMs: c.timeout,
    ...(c.unhealthy_interval !== undefined ? { unhealthyIntervalMs: c.unhealthy_interval } : {}),
    thresholds: {
      successBeforePassing: c.success_before_passing,
      failuresBeforeWarning: c.failures_before_warning,
      failuresBeforeCritical: c.failures_before_critical,
    },
    flapping: { enabled: c.flapping.enabled, window: c.flapping.window, highPercent: c.flapping.high, lowPercent: c.flapping.low },
  };
}

/**
 * The id of an app check on one replica, or on the one endpoint of replicas sharing a port ("shared"); ids are
 * URL-safe path segments.
 */
export const appCheckId = (app: string, replica: number | "shared", check: string) => `${app}:${replica}:${check}`;

export function appCheckSpec(app: string, replica: number | "shared", port: number | null, c: AppCheckConfig, host = "127.0.0.1"): CheckSpec {
  let target = "";
  if (c.kind === "http" || c.kind === "https") target = `${c.kind}://${host}:${port ?? 0}`;
  else if (c.kind === "tcp" || c.kind === "udp" || c.kind === "grpc") target = `${host}:${port ?? 0}`;
  else if (c.kind === "command") target = c.command ?? "";
  else if (c.kind === "file") target = c.path ?? "";
  return {
    id: appCheckId(app, replica, c.name),
    target,
    ...common(c),
    // A replica that just became ready is probed at once, so traffic does not wait for a staggered first run.
    initialDelayMs: c.initial_delay ?? 0,
    options: options(c, port ?? undefined),
  };
}

export function standaloneCheckSpec(c: StandaloneCheckConfig): CheckSpec {
  return {
    id: c.name,
    target: c.kind === "command" ? (c.command ?? "") : (c.target ?? ""),
    ...common(c),
    ...(c.initial_delay !== undefined ? { initialDelayMs: c.initial_delay } : {}),
    options: options(c, undefined),
  };
}

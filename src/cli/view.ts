// What the client commands compute from API replies: an app's state word, a replica's uptime, event and log lines.
import type { Json } from "../client/client.ts";
import { formatTime, type Style } from "./output.ts";
import { duration } from "./table.ts";

export const APP_STATES = ["ok", "degraded", "backoff", "crash-loop", "stopped", "maintenance"] as const;

/**
 * An app's state as the agent reports it (`state`); from an agent that does not report one, derived from its
 * replicas: a crash loop, a replica waiting to restart, fewer ready than desired, or nothing desired.
 */
export function appState(a: Json): string {
  if (typeof a.state === "string") return a.state;
  const replicas = (a.replicas as Json[] | undefined) ?? [];
  if (a.crashLoop || replicas.some((r) => r.state === "crash-loop")) return "crash-loop";
  if (replicas.some((r) => r.state === "backoff")) return "backoff";
  if (a.desired === 0 && replicas.length === 0) return "stopped";
  if ((a.ready ?? 0) < (a.desired ?? 0)) return "degraded";
  return "ok";
}

/** A time from the API: epoch milliseconds or an ISO 8601 string. */
export function timeOf(v: unknown): number | null {
  const t = typeof v === "string" ? Date.parse(v) : v;
  return typeof t === "number" && Number.isFinite(t) ? t : null;
}

/** When the replica's process started (for an adopted replica: the process's own start, not the adoption). */
export function replicaStart(r: Json): number | null {
  return timeOf(r.started_at) ?? timeOf(r.startedAt);
}

export function uptime(r: Json, now: number): string {
  const start = replicaStart(r);
  return start === null || r.pid === null || r.pid === undefined ? "-" : duration(now - start);
}

/** "paused until 14:32 (9m59s left)" / "auto" / "manual" from an app's intent or a scale reply's autoscaling object. */
export function autoscalingText(s: Json | undefined, now: number): string | undefined {
  if (!s || typeof s !== "object") return undefined;
  const until = timeOf(s.paused_until);
  if (s.mode === "paused") return `paused${until !== null ? ` until ${formatTime(until, now)} (${duration(until - now)} left)` : ""}`;
  return typeof s.mode === "string" ? s.mode : undefined;
}

/** An app view's autoscaling object (under `intent` since the agent reports operator intent). */
export const autoscalingOf = (a: Json): Json | undefined => a.intent?.autoscaling ?? a.autoscaling;

export function eventRow(e: Json, now: number, style: Style): unknown[] {
  const sev = String(e.severity ?? "");
  const paint = sev === "error" || sev === "critical" ? style.red : sev === "warning" ? style.yellow : sev === "debug" ? style.dim : (s: string) => s;
  return [e.seq, formatTime(e.ts, now), paint(sev), e.type, e.target, e.message];
}

export const EVENT_HEADERS = ["seq", "time", "severity", "type", "target", "message"];

/** One log line: local time, replica, stream marker (| stdout, ! stderr), text. */
export function logLine(app: string, l: Json, now: number, style: Style): string {
  const mark = l.stream === "stderr" ? style.red("!") : "|";
  return `${style.dim(formatTime(l.at, now))} ${app}-${l.id} ${mark} ${l.line}`;
}

/** Endpoint ids the agent gives an app's replicas: APP-N, or APP-shared when replicas share one port. */
export function isAppEndpoint(app: string, endpointId: string): boolean {
  if (!endpointId.startsWith(`${app}-`)) return false;
  const rest = endpointId.slice(app.length + 1);
  return rest === "shared" || /^\d+$/.test(rest);
}

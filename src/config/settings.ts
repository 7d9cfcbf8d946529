// THE table of how each setting changes on a running agent: applied live, or only with a restart (refused with 409
// restart_required), and whether the API may change it at all. Reloads (SIGHUP, POST /v1/reload, PATCH
// /v1/config) decide from this table alone; test/unit/config/settings.test.ts walks every setting of
// config/examples/full.yaml through it.

export type ApplyMode = "live" | "restart";

export interface SettingRule {
  /** A dotted path without list indices ("apps" covers apps[3].port.range). */
  readonly path: string;
  readonly mode: ApplyMode;
  /** Only the file may change it: a switch that lets the API run programs or break the agent on purpose. */
  readonly fileOnly?: true;
  /** Why it needs a restart, or what applies it live. */
  readonly why: string;
}

export const SETTINGS: readonly SettingRule[] = [
  { path: "agent.name", mode: "restart", why: "the telemetry resource (service.instance.id) is fixed at start" },
  { path: "agent.data_dir", mode: "restart", why: "the state store, logs and local admin token are opened at start" },
  { path: "agent.log_level", mode: "live", why: "the logger's level is set at once" },
  { path: "agent.balancer_workers", mode: "restart", why: "balancer threads are started at start" },
  { path: "agent.shutdown_timeout", mode: "live", why: "read when the agent stops" },
  { path: "agent.scaler_interval", mode: "live", why: "sent to the scaler worker with its policies" },
  { path: "agent.allow_fault_injection", mode: "restart", fileOnly: true, why: "the fault-injection route is mounted at start" },
  { path: "api.listen", mode: "restart", why: "the admin API's socket is bound at start" },
  { path: "api.tls", mode: "restart", why: "the admin API's certificate is loaded when it binds" },
  { path: "api.grpc", mode: "restart", why: "the gRPC listener is bound at start" },
  { path: "api.body_limit", mode: "restart", why: "the body limit is part of the admin API built at start" },
  { path: "api.tokens", mode: "live", why: "tokens are read at every request" },
  { path: "api.jwt", mode: "live", why: "the JWT verifier is rebuilt (its key read) before the config is accepted" },
  { path: "api.allow_api_command_checks", mode: "live", fileOnly: true, why: "read at every POST /v1/checks" },
  { path: "apps", mode: "live", why: "the procs worker reconciles replicas; health and the scaler follow" },
  { path: "checks", mode: "live", why: "the health worker gets its new targets" },
  { path: "balancers", mode: "live", why: "balancer workers get their new tables; unchanged listeners are kept" },
  { path: "services", mode: "live", why: "the catalog's config services are replaced" },
  { path: "dns.enabled", mode: "restart", why: "the DNS sockets are bound at start" },
  { path: "dns.listen", mode: "restart", why: "the DNS sockets are bound at start" },
  { path: "dns.domain", mode: "restart", why: "the served zone is fixed at start" },
  { path: "dns.ttl", mode: "live", why: "the DNS responder answers with the new TTL at once (its answer cache is dropped)" },
  { path: "telemetry", mode: "restart", why: "the metrics exporters and the /metrics route are set up at start" },
  { path: "discovery", mode: "live", why: "read by the reaper at every round" },
  { path: "alerts", mode: "live", why: "the alert engine gets its new rules (groups rebuilt as already notified); sources read their thresholds at every evaluation" },
  { path: "tasks", mode: "live", why: "definitions and schedules are read again; queued and running tasks keep the spec they were created with" },
  { path: "task_queue", mode: "live", why: "the queue's limits are read at every scheduling decision" },
  { path: "healing", mode: "live", why: "the recovery ladder reads its settings and rungs at every evaluation (a replica on a rung no longer listed is exhausted and alerted)" },
  { path: "policies", mode: "live", why: "the policy files are read again and the new set replaces the old one whole (a bad file keeps the old set)" },
  { path: "api.allow_api_tasks", mode: "live", fileOnly: true, why: "read at every POST /v1/tasks" },
  { path: "api.allow_api_commands", mode: "live", fileOnly: true, why: "read at every config change and deployment through the API" },
  { path: "cluster", mode: "restart", why: "the cluster worker registers this node in etcd with its connection and lease at start" },
];

const normalize = (path: string) => path.replace(/\[\d+\]/g, "");

/**
 * The rule for a changed path: the longest rule that contains it; for a path that contains rules of its own
 * (a whole section), the strictest of them.
 */
export function ruleFor(path: string): SettingRule | undefined {
  const p = normalize(path);
  let best: SettingRule | undefined;
  for (const r of SETTINGS) {
    if ((p === r.path || p.startsWith(`${r.path}.`)) && (!best || r.path.length > best.path.length)) best = r;
  }
  if (best) return best;
  const inner = SETTINGS.filter((r) => r.path.startsWith(`${p}.`));
  return inner.find((r) => r.fileOnly) ?? inner.find((r) => r.mode === "restart") ?? inner[0];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** Leaf paths ("apps[0].port.range") where two decoded configs differ; a list that changed length is one path. */
export function changedPaths(a: unknown, b: unknown, at = "", out: string[] = []): string[] {
  if (a === b) return out;
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) changedPaths(a[k], b[k], at ? `${at}.${k}` : k, out);
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((v, i) => changedPaths(v, b[i], `${at}[${i}]`, out));
    return out;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push(at);
  return out;
}

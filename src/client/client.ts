// A typed client for the admin API: the CLI is built on it, and programs can import it too.
import type { AgentEvent } from "../state/event-bus.ts";

export class ApiClientError extends Error {
  readonly _tag = "ApiClientError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  /** Base URL, e.g. http://127.0.0.1:9090 */
  url: string;
  token?: string;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export interface EventQuery {
  type?: string;
  source?: string;
  target?: string;
  severity?: "debug" | "info" | "warning" | "error" | "critical";
  since?: number;
  limit?: number;
}

export type Json = Record<string, any>;

export function createClient(opts: ClientOptions) {
  const base = opts.url.replace(/\/$/, "");
  const doFetch = opts.fetch ?? fetch;
  const headers = (extra: Record<string, string> = {}) => ({
    ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
    ...extra,
  });

  async function call<T = Json>(method: string, path: string, body?: unknown, query?: Record<string, unknown>, timeoutMs = opts.timeoutMs ?? 10_000): Promise<T> {
    const qs = query
      ? Object.entries(query)
          .filter(([, v]) => v !== undefined && v !== "")
          .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
          .join("&")
      : "";
    let res: Response;
    try {
      res = await doFetch(`${base}${path}${qs ? `?${qs}` : ""}`, {
        method,
        headers: headers(body === undefined ? {} : { "content-type": "application/json" }),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      throw new ApiClientError(0, "unreachable", `cannot reach the agent at ${base}: ${(e as Error).message}`);
    }
    const text = await res.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = text;
    }
    if (!res.ok) {
      const env = (data ?? {}) as { code?: string; message?: string; details?: unknown };
      throw new ApiClientError(res.status, env.code ?? "http_error", env.message ?? `HTTP ${res.status}`, env.details);
    }
    return data as T;
  }

  /** Reads a Server-Sent Events stream until `signal` aborts; one callback per event. */
  async function stream(path: string, query: Record<string, unknown>, onEvent: (name: string, data: string, id?: string) => void, signal?: AbortSignal, onOpen?: () => void): Promise<void> {
    const qs = Object.entries(query)
      .filter(([, v]) => v !== undefined && v !== "")
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join("&");
    let res: Response;
    try {
      res = await doFetch(`${base}${path}${qs ? `?${qs}` : ""}`, { headers: headers({ accept: "text/event-stream" }), ...(signal ? { signal } : {}) });
    } catch (e) {
      if (signal?.aborted) return;
      throw new ApiClientError(0, "unreachable", `cannot reach the agent at ${base}: ${(e as Error).message}`);
    }
    if (!res.ok || !res.body) {
      const env = ((await res.json().catch(() => ({}))) ?? {}) as { code?: string; message?: string; details?: unknown };
      throw new ApiClientError(res.status, env.code ?? "http_error", env.message ?? `HTTP ${res.status}`, env.details);
    }
    onOpen?.();
    const decoder = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of res.body) {
        buf += decoder.decode(chunk, { stream: true });
        let sep: number;
        while ((sep = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, sep);
          buf = buf.slice(sep + 2);
          let name = "message";
          let id: string | undefined;
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) name = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
            else if (line.startsWith("id:")) id = line.slice(3).trim();
          }
          if (data.length > 0) onEvent(name, data.join("\n"), id);
        }
      }
    } catch (e) {
      if (!signal?.aborted) throw e;
    }
  }

  return {
    /** The agent's base URL, without a trailing slash. */
    url: base,
    call,
    agent: () => call("GET", "/v1/agent"),
    system: () => call("GET", "/v1/agent/system"),
    agentLogs: (tail = 100) => call("GET", "/v1/agent/logs", undefined, { tail }),
    apps: () => call<{ apps: Json[] }>("GET", "/v1/apps"),
    app: (name: string) => call("GET", `/v1/apps/${encodeURIComponent(name)}`),
    /** A replica count (with `for`, how long a manual count holds off the autoscaler, e.g. "30m"), or back to auto. */
    scale: (name: string, to: number | "auto", hold?: string) =>
      call("POST", `/v1/apps/${encodeURIComponent(name)}/scale`, to === "auto" ? { auto: true } : { replicas: to, ...(hold ? { for: hold } : {}) }),
    /** A rolling restart answers when the whole roll is over, which can take as long as every replica's start. */
    restart: (name: string, timeoutMs = 31 * 60_000) => call("POST", `/v1/apps/${encodeURIComponent(name)}/restart`, {}, undefined, timeoutMs),
    stop: (name: string) => call("POST", `/v1/apps/${encodeURIComponent(name)}/stop`, {}, undefined, 5 * 60_000),
    start: (name: string) => call("POST", `/v1/apps/${encodeURIComponent(name)}/start`, {}, undefined, 5 * 60_000),
    maintenance: (name: string, enable: boolean, reason?: string) => call("PUT", `/v1/apps/${encodeURIComponent(name)}/maintenance`, { enable, ...(reason ? { reason } : {}) }),
    /** Re-reads the agent's config file (as SIGHUP does); takes no body. */
    reload: () => call<{ reloaded: string[] }>("POST", "/v1/reload", undefined, undefined, 60_000),
    restartReplica: (name: string, id: string | number) => call("POST", `/v1/apps/${encodeURIComponent(name)}/replicas/${encodeURIComponent(String(id))}/restart`, {}),
    resetCrashLoop: (name: string) => call("POST", `/v1/apps/${encodeURIComponent(name)}/reset`, {}),
    logs: (name: string, tail = 100, replica?: number) => call<{ lines: Json[] }>("GET", `/v1/apps/${encodeURIComponent(name)}/logs`, undefined, { tail, replica }),
    /** Log lines as they are written; `onOpen` runs once the agent has subscribed this stream. */
    followLogs: (name: string, onLine: (line: Json) => void, signal?: AbortSignal, onOpen?: () => void) =>
      stream(`/v1/apps/${encodeURIComponent(name)}/logs/follow`, {}, (n, data) => n === "log" && onLine(JSON.parse(data)), signal, onOpen),
    deployments: (name: string) => call<{ app: string; current: number; target: number; deployments: Json[] }>("GET", `/v1/apps/${encodeURIComponent(name)}/deployments`),
    deployment: (name: string, id: string) => call("GET", `/v1/apps/${encodeURIComponent(name)}/deployments/${encodeURIComponent(id)}`),
    /** A merge patch of the revision fields, with optional strategy overrides; answers once the rollout started. */
    deploy: (name: string, spec: Json, strategy?: Json) => call("POST", `/v1/apps/${encodeURIComponent(name)}/deployments`, { spec, ...(strategy ? { strategy } : {}) }),
    rolloutControl: (name: string, id: string, what: "pause" | "resume" | "abort" | "promote") => call("POST", `/v1/apps/${encodeURIComponent(name)}/deployments/${encodeURIComponent(id)}/${what}`, {}),
    rollback: (name: string, revision?: number) => call("POST", `/v1/apps/${encodeURIComponent(name)}/rollback`, revision === undefined ? {} : { revision }),
    revisions: (name: string) => call<{ app: string; current: number; target: number; revisions: Json[] }>("GET", `/v1/apps/${encodeURIComponent(name)}/revisions`),
    checks: () => call<{ checks: Json[] }>("GET", "/v1/checks"),
    check: (id: string) => call("GET", `/v1/checks/${encodeURIComponent(id)}`),
    checkHistory: (id: string) => call("GET", `/v1/checks/${encodeURIComponent(id)}/history`),
    healthSummary: () => call("GET", "/v1/health/summary"),
    pushTtl: (id: string, status: "pass" | "warn" | "fail", note?: string) => call("PUT", `/v1/checks/${encodeURIComponent(id)}/${status}`, note === undefined ? {} : { note }),
    balancers: () => call<{ balancers: Json[] }>("GET", "/v1/balancers"),
    balancer: (name: string) => call("GET", `/v1/balancers/${encodeURIComponent(name)}`),
    /** Answers once in-flight requests are done or the balancer's drain_timeout passed. */
    drain: (balancer: string, endpoint: string) => call("POST", `/v1/balancers/${encodeURIComponent(balancer)}/endpoints/${encodeURIComponent(endpoint)}/drain`, {}, undefined, 10 * 60_000),
    setWeight: (balancer: string, endpoint: string, weight: number) => call("PATCH", `/v1/balancers/${encodeURIComponent(balancer)}/endpoints/${encodeURIComponent(endpoint)}`, { weight }),
    services: (q: { namespace?: string; selector?: string } = {}) => call<{ services: Json[] }>("GET", "/v1/services", undefined, q),
    service: (name: string, namespace = "default") => call("GET", `/v1/services/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`),
    register: (name: string, body: Json, namespace = "default") => call("PUT", `/v1/services/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`, body),
    deregister: (name: string, namespace = "default") => call("DELETE", `/v1/services/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`),
    resolve: (name: string, namespace = "default", q: { selector?: string; all?: boolean } = {}) =>
      call<{ service: string; endpoints: Json[] }>("GET", `/v1/services/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/resolve`, undefined, { selector: q.selector, all: q.all ? "true" : undefined }),
    members: () => call<{ members: Json[] }>("GET", "/v1/cluster/members"),
    clusterStatus: () => call("GET", "/v1/cluster/status"),
    clusterApps: () => call<{ apps: Json[] }>("GET", "/v1/cluster/apps"),
    clusterAllocations: (query = "") => call<{ allocations: Json[] }>("GET", `/v1/cluster/allocations${query ? `?${query}` : ""}`),
    clusterLeader: () => call<{ enabled: boolean; leader?: Json }>("GET", "/v1/cluster/leader"),
    rebalance: (app: string) => call("POST", `/v1/cluster/apps/${encodeURIComponent(app)}/rebalance`),
    scaling: () => call<{ apps: Json[] }>("GET", "/v1/scaling"),
    scalingHistory: (app: string, limit = 50) => call("GET", `/v1/scaling/${encodeURIComponent(app)}/history`, undefined, { limit }),
    forecast: (app: string) => call("GET", `/v1/scaling/${encodeURIComponent(app)}/forecast`),
    config: () => call("GET", "/v1/config"),
    patchConfig: (patch: Json) => call("PATCH", "/v1/config", patch),
    events: (q: EventQuery = {}) => call<{ events: AgentEvent[]; gap: boolean; lastSeq: number }>("GET", "/v1/events", undefined, { ...q }),
    /** A task's output as it comes (`output` events), then `end` once it finished. */
    followTask: (id: string, onEvent: (name: string, data: Json) => void, signal?: AbortSignal) =>
      stream(`/v1/tasks/${encodeURIComponent(id)}/logs/follow`, {}, (n, data) => onEvent(n, JSON.parse(data)), signal),
    followEvents: (q: EventQuery, onEvent: (e: AgentEvent | Json) => void, signal?: AbortSignal, onOpen?: () => void) =>
      stream("/v1/events", { ...q, since: q.since ?? undefined }, (_name, data) => onEvent(JSON.parse(data)), signal, onOpen),
  };
}

export type PolisClient = ReturnType<typeof createClient>;

// The console's only way to the agent: the public API with the session cookie (plus its CSRF token on mutations),
// and the event stream over a WebSocket that resumes from the last sequence it saw.
import { signal } from "@preact/signals";

export type Role = "read" | "operator" | "admin";
export interface SessionInfo {
  name: string;
  role: Role;
  csrf: string;
  expiresAt: number;
}
export interface AgentEvent {
  seq: number;
  ts: number;
  type: string;
  source: string;
  target: string;
  severity: string;
  message: string;
  data?: Record<string, unknown>;
}

export const session = signal<SessionInfo | null | undefined>(undefined);
export const streamState = signal<"connecting" | "live" | "down">("connecting");
/** The newest events, newest last (a bounded tail for the Overview and Events pages). */
export const recentEvents = signal<AgentEvent[]>([]);
const MAX_RECENT = 500;

const RANK: Record<Role, number> = { read: 1, operator: 2, admin: 3 };
export const can = (needed: Role) => session.value !== null && session.value !== undefined && RANK[session.value.role] >= RANK[needed];

export class ApiFailure extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const method = init.method ?? "GET";
  const headers: Record<string, string> = { Accept: "application/json" };
  if (init.body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && session.value) headers["X-CSRF-Token"] = session.value.csrf;
  const res = await fetch(path, { method, headers, credentials: "same-origin", ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
  if (res.status === 401 && path.startsWith("/v1/")) session.value = null;
  if (res.status === 204) return undefined as T;
  const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
  if (!res.ok) throw new ApiFailure(res.status, body.code ?? "http_error", body.message ?? `HTTP ${res.status}`);
  return body as T;
}

export async function loadSession(): Promise<void> {
  try {
    const s = await api<SessionInfo & { signedIn: boolean }>("/ui/session");
    session.value = s.signedIn ? s : null;
  } catch {
    session.value = null;
  }
}

export async function signIn(token: string): Promise<void> {
  const res = await fetch("/ui/session", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token }), credentials: "same-origin" });
  const body = (await res.json().catch(() => ({}))) as SessionInfo & { message?: string };
  if (!res.ok) throw new Error(body.message ?? `sign-in failed (HTTP ${res.status})`);
  session.value = body;
}

export interface TicketInfo {
  name: string;
  role: Role;
  expiresAt: number;
}
async function postJson<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), credentials: "same-origin" });
  const out = (await res.json().catch(() => ({}))) as T & { message?: string };
  if (!res.ok) throw new ApiFailure(res.status, "signin", out.message ?? `sign-in failed (HTTP ${res.status})`);
  return out;
}
/** Whom a one-time link signs in as; the ticket is not spent. */
export const inspectTicket = (ticket: string) => postJson<TicketInfo>("/ui/login/inspect", { ticket });
/** Spends the one-time link's ticket for a session. */
export async function redeemTicket(ticket: string): Promise<void> {
  session.value = await postJson<SessionInfo>("/ui/login", { ticket });
}

export async function signOut(): Promise<void> {
  await api("/ui/session", { method: "DELETE" }).catch(() => undefined);
  stopStream();
  session.value = null;
}

type Listener = (e: AgentEvent) => void;
const listeners = new Set<Listener>();
export function onEvent(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

let ws: WebSocket | undefined;
let lastSeq = -1;
let retry: ReturnType<typeof setTimeout> | undefined;
let stopped = true;

export function startStream(): void {
  stopped = false;
  if (ws) return;
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  // Resume after the last event seen, so a reconnect misses nothing the agent still keeps.
  const since = lastSeq >= 0 ? `&since=${lastSeq}` : "";
  const sock = new WebSocket(`${proto}//${location.host}/v1/events?severity=debug${since}`);
  ws = sock;
  streamState.value = "connecting";
  sock.onopen = () => (streamState.value = "live");
  sock.onmessage = (m) => {
    let e: AgentEvent;
    try {
      e = JSON.parse(String(m.data)) as AgentEvent;
    } catch {
      return;
    }
    if (typeof e.seq !== "number") return;
    lastSeq = Math.max(lastSeq, e.seq);
    const next = recentEvents.value.length >= MAX_RECENT ? recentEvents.value.slice(-MAX_RECENT + 1) : recentEvents.value.slice();
    next.push(e);
    recentEvents.value = next;
    for (const l of listeners) l(e);
  };
  sock.onclose = () => {
    ws = undefined;
    if (stopped) return;
    streamState.value = "down";
    clearTimeout(retry);
    retry = setTimeout(startStream, 2000);
  };
}

export function stopStream(): void {
  stopped = true;
  clearTimeout(retry);
  ws?.close();
  ws = undefined;
}

export async function seedEvents(): Promise<void> {
  try {
    const page = await api<{ events: AgentEvent[]; lastSeq: number }>("/v1/events?limit=100");
    recentEvents.value = page.events;
    lastSeq = Math.max(lastSeq, page.lastSeq);
  } catch {
    // The stream fills the tail anyway.
  }
}

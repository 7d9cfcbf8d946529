// Console sessions: a token is exchanged once for an opaque session id kept in an HttpOnly cookie, with a CSRF
// token the page sends on every mutating call. Kept in memory: an agent restart signs every console out.
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Principal } from "./principal.ts";

export const SESSION_COOKIE = "polis_session";
/** Long enough for an incident shift, short enough that a forgotten tab does not stay signed in for days. */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;
/** A bound on live sessions, so sign-ins from the network cannot grow our memory without end. */
const MAX_SESSIONS = 1_000;

export interface Session {
  readonly id: string;
  readonly principal: Principal;
  readonly csrf: string;
  readonly expiresAt: number;
}

export interface SessionStore {
  create(p: Principal): Session;
  get(id: string): Session | undefined;
  delete(id: string): void;
}

export function createSessionStore(ttlMs = SESSION_TTL_MS, now: () => number = Date.now): SessionStore {
  const sessions = new Map<string, Session>();
  const sweep = () => {
    const t = now();
    for (const [k, s] of sessions) if (s.expiresAt <= t) sessions.delete(k);
  };
  return {
    create(principal) {
      sweep();
      // Map iteration order is insertion order: the oldest session goes first when the bound is reached.
      while (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value!);
      const s: Session = { id: randomBytes(32).toString("base64url"), principal, csrf: randomBytes(24).toString("base64url"), expiresAt: now() + ttlMs };
      sessions.set(s.id, s);
      return s;
    },
    get(id) {
      const s = sessions.get(id);
      if (!s) return undefined;
      if (s.expiresAt <= now()) {
        sessions.delete(id);
        return undefined;
      }
      return s;
    },
    delete(id) {
      sessions.delete(id);
    },
  };
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The value of one cookie in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

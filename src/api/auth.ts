// Bearer-token auth with roles (read < operator < admin), compared in constant time.
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { ApiError } from "./errors.ts";
import type { Principal, Role } from "./principal.ts";
import { cookieValue, SESSION_COOKIE, sameSecret, type SessionStore } from "./session.ts";

export type { Principal, Role } from "./principal.ts";
const RANK: Record<Role, number> = { read: 1, operator: 2, admin: 3 };

export interface TokenEntry {
  readonly name: string;
  readonly token: string;
  readonly role: Role;
}

export interface Authenticator {
  /** Resolve a presented credential to a principal, or undefined. */
  verify(credential: string): Promise<Principal | undefined>;
}

/** Static tokens: each presented token is compared against every configured one, in constant time. */
export function createTokenAuthenticator(tokens: () => readonly TokenEntry[]): Authenticator {
  return {
    async verify(credential) {
      const presented = Buffer.from(credential);
      let found: Principal | undefined;
      for (const t of tokens()) {
        const expected = Buffer.from(t.token);
        // Compare equal-length buffers only; the length check leaks nothing an attacker can use to guess content.
        const same = expected.length === presented.length && timingSafeEqual(expected, presented);
        if (same && !found) found = { name: t.name, role: t.role };
      }
      return found;
    },
  };
}

/** Tries each authenticator in turn (static tokens, then JWT when configured). */
export function chainAuthenticators(list: readonly Authenticator[]): Authenticator {
  return {
    async verify(credential) {
      for (const a of list) {
        const p = await a.verify(credential);
        if (p) return p;
      }
      return undefined;
    },
  };
}

export function bearerOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/** Browsers cannot set headers on a WebSocket: they may offer the token as a subprotocol "bearer.<token>". */
export const WS_TOKEN_PREFIX = "bearer.";

export function subprotocolToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const p of header.split(",")) {
    const v = p.trim();
    if (v.startsWith(WS_TOKEN_PREFIX)) return v.slice(WS_TOKEN_PREFIX.length);
  }
  return undefined;
}

/** Short-lived, single-use tickets for clients that can send neither headers nor subprotocols. */
export interface TicketStore {
  issue(p: Principal): { ticket: string; expiresAt: number };
  redeem(ticket: string): Principal | undefined;
  /** Whom a ticket would sign in as, without spending it (the console asks before it signs a browser in). */
  peek(ticket: string): { principal: Principal; expiresAt: number } | undefined;
}

export function createTicketStore(ttlMs = 30_000, now: () => number = Date.now): TicketStore {
  const tickets = new Map<string, { p: Principal; expiresAt: number }>();
  return {
    issue(p) {
      for (const [k, v] of tickets) if (v.expiresAt < now()) tickets.delete(k);
      const ticket = randomBytes(24).toString("base64url");
      const expiresAt = now() + ttlMs;
      tickets.set(ticket, { p, expiresAt });
      return { ticket, expiresAt };
    },
    redeem(ticket) {
      const t = tickets.get(ticket);
      if (!t) return undefined;
      tickets.delete(ticket);
      return t.expiresAt >= now() ? t.p : undefined;
    },
    peek(ticket) {
      const t = tickets.get(ticket);
      return t && t.expiresAt >= now() ? { principal: t.p, expiresAt: t.expiresAt } : undefined;
    },
  };
}

/** RFC 6750: a 401 names the scheme, and says why when a credential was presented but refused. */
const REALM = 'Bearer realm="polis"';
function unauthorized(message: string, presented: boolean): ApiError {
  return new ApiError(401, "unauthorized", message, undefined, { "WWW-Authenticate": presented ? `${REALM}, error="invalid_token"` : REALM });
}

/** The role a request needs: what `roleOf` says for its route, else read for GET/HEAD and operator for the rest. */
export type RoleOf = (method: string, path: string) => Role | undefined;

/** Requires a principal of at least `role` (or the route's declared role, or the method's default). */
export function requireRole(auth: Authenticator, role?: Role, tickets?: TicketStore, roleOf?: RoleOf, sessions?: SessionStore): MiddlewareHandler {
  return async function authMiddleware(c, next) {
    const needed: Role = role ?? roleOf?.(c.req.method, c.req.path) ?? (c.req.method === "GET" || c.req.method === "HEAD" ? "read" : "operator");
    const ticket = tickets && c.req.method === "GET" ? c.req.query("ticket") : undefined;
    let principal: Principal | undefined;
    if (ticket) {
      principal = tickets!.redeem(ticket);
      if (!principal) throw unauthorized("invalid or expired ticket", true);
    } else {
      const credential = bearerOf(c.req.header("authorization")) ?? subprotocolToken(c.req.header("sec-websocket-protocol"));
      const sessionId = credential ? undefined : sessions && cookieValue(c.req.header("cookie"), SESSION_COOKIE);
      if (sessionId) {
        principal = sessionPrincipal(sessions!, sessionId, c.req.method, c.req.header("x-csrf-token"), c.req.header("upgrade"), c.req.header("origin"), c.req.header("host"));
      } else {
        if (!credential) throw unauthorized("missing bearer token (Authorization: Bearer <token>)", false);
        principal = await auth.verify(credential);
        if (!principal) throw unauthorized("invalid token", true);
      }
    }
    if (RANK[principal.role] < RANK[needed]) {
      throw new ApiError(403, "forbidden", `this route needs the ${needed} role; the token has ${principal.role}`, { needed, role: principal.role });
    }
    c.set("principal" as never, principal as never);
    await next();
  };
}

/**
 * A console session's principal. A cookie rides along on any request the browser makes, so a mutating call must
 * also carry the session's CSRF token (a header other origins cannot set), and a WebSocket upgrade (which no
 * preflight guards) must come from this origin.
 */
function sessionPrincipal(sessions: SessionStore, id: string, method: string, csrf: string | undefined, upgrade: string | undefined, origin: string | undefined, host: string | undefined): Principal {
  const s = sessions.get(id);
  if (!s) throw unauthorized("the console session expired or was signed out; sign in again", true);
  if (method !== "GET" && method !== "HEAD" && !(csrf && sameSecret(csrf, s.csrf))) {
    throw new ApiError(403, "csrf", "a mutating call with a session cookie needs the session's X-CSRF-Token header");
  }
  if (upgrade?.toLowerCase() === "websocket" && origin !== undefined) {
    let originHost: string | undefined;
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = undefined;
    }
    if (originHost !== host) throw new ApiError(403, "forbidden", `a WebSocket with a session cookie must come from this origin, not ${origin}`);
  }
  return s.principal;
}

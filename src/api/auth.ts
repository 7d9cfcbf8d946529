// Bearer-token auth with roles (read < operator < admin), compared in constant time.
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { ApiError } from "./errors.ts";

export type Role = "read" | "operator" | "admin";
const RANK: Record<Role, number> = { read: 1, operator: 2, admin: 3 };

export interface TokenEntry {
  readonly name: string;
  readonly token: string;
  readonly role: Role;
}

export interface Principal {
  readonly name: string;
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
  };
}

/** Requires a principal of at least `role`; GET/HEAD need read, anything else operator, unless told otherwise. */
export function requireRole(auth: Authenticator, role?: Role, tickets?: TicketStore): MiddlewareHandler {
  return async function authMiddleware(c, next) {
    const needed: Role = role ?? (c.req.method === "GET" || c.req.method === "HEAD" ? "read" : "operator");
    const ticket = tickets && c.req.method === "GET" ? c.req.query("ticket") : undefined;
    if (ticket) {
      const p = tickets!.redeem(ticket);
      if (!p) throw new ApiError(401, "unauthorized", "invalid or expired ticket");
      c.set("principal" as never, p as never);
      return next();
    }
    const credential = bearerOf(c.req.header("authorization")) ?? subprotocolToken(c.req.header("sec-websocket-protocol"));
    if (!credential) throw new ApiError(401, "unauthorized", "missing bearer token (Authorization: Bearer <token>)");
    const principal = await auth.verify(credential);
    if (!principal) throw new ApiError(401, "unauthorized", "invalid token");
    if (RANK[principal.role] < RANK[needed]) {
      throw new ApiError(403, "forbidden", `this route needs the ${needed} role; the token has ${principal.role}`);
    }
    c.set("principal" as never, principal as never);
    await next();
  };
}

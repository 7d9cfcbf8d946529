// Bearer-token auth with roles (read < operator < admin), compared in constant time.
import { timingSafeEqual } from "node:crypto";
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

/** Requires a principal of at least `role`; GET/HEAD need read, anything else operator, unless told otherwise. */
export function requireRole(auth: Authenticator, role?: Role): MiddlewareHandler {
  return async function authMiddleware(c, next) {
    const needed: Role = role ?? (c.req.method === "GET" || c.req.method === "HEAD" ? "read" : "operator");
    const credential = bearerOf(c.req.header("authorization"));
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

// The admin API's JWT authenticator for the current api.jwt section, rebuilt only when that section changes
// (building reads the key file once). A reload prepares the next one first, so a bad key rejects the reload.
import type { Authenticator } from "../api/auth.ts";
import { jwtAuthenticatorFromConfig } from "../api/jwt.ts";
import type { Config } from "../config/schema.ts";

export interface PreparedJwt {
  readonly key: string;
  readonly auth: Authenticator | undefined;
}

export interface JwtCache {
  /** Builds (or reuses) the authenticator for a config; throws when the section cannot be used (key unreadable). */
  prepare(c: Config): PreparedJwt;
  /** Makes a prepared authenticator the one in use. */
  commit(p: PreparedJwt): void;
  /** Verifies with whatever is committed at the time of the call. */
  readonly authenticator: Authenticator;
}

export function createJwtCache(build: (jwt: NonNullable<Config["api"]["jwt"]>) => Authenticator = jwtAuthenticatorFromConfig): JwtCache {
  let current: PreparedJwt | undefined;
  return {
    prepare(c) {
      const key = JSON.stringify(c.api.jwt ?? null);
      if (current?.key === key) return current;
      return { key, auth: c.api.jwt ? build(c.api.jwt) : undefined };
    },
    commit(p) {
      current = p;
    },
    authenticator: {
      verify: (credential) => current?.auth?.verify(credential) ?? Promise.resolve(undefined),
    },
  };
}

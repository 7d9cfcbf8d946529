import { describe, expect, test } from "bun:test";
import { decodeConfig } from "../../../src/config/load.ts";
import type { Config } from "../../../src/config/schema.ts";
import type { Authenticator } from "../../../src/api/auth.ts";
import { createJwtCache } from "../../../src/supervisor/jwt-cache.ts";

const decode = (raw: unknown): Config => {
  const r = decodeConfig(raw, "test");
  if (!r.ok) throw new Error(JSON.stringify(r.error.problems));
  return r.config;
};

describe("JWT cache", () => {
  test("the authenticator is built once per api.jwt section, and rebuilt only when it changes", () => {
    let builds = 0;
    const cache = createJwtCache(() => {
      builds++;
      return { verify: async () => undefined } satisfies Authenticator;
    });
    const a = decode({ api: { jwt: { secret: "s".repeat(32) } } });
    cache.commit(cache.prepare(a));
    cache.commit(cache.prepare(decode({ api: { jwt: { secret: "s".repeat(32) } }, checks: [] })));
    expect(builds).toBe(1);
    cache.commit(cache.prepare(decode({ api: { jwt: { secret: "t".repeat(32) } } })));
    expect(builds).toBe(2);
  });

  test("a prepared but uncommitted authenticator is not used", async () => {
    const cache = createJwtCache(() => ({ verify: async () => ({ name: "jwt", role: "admin" }) }));
    cache.prepare(decode({ api: { jwt: { secret: "s".repeat(32) } } }));
    expect(await cache.authenticator.verify("x")).toBeUndefined();
  });
});

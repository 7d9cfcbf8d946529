// GET /v1/config is readable with the read role: every secret the config can hold must come back redacted.
import { describe, expect, test } from "bun:test";
import { redactConfig } from "../../../src/api/config.ts";

describe("redactConfig", () => {
  test("a webhook receiver's hmac_secret and headers are redacted, its other fields kept", () => {
    const out = redactConfig({ alerts: { receivers: [{ name: "hook", url: "http://127.0.0.1:9/h", hmac_secret: "s3cr3t", headers: { "X-Api-Key": "k" } }] } }) as { alerts: { receivers: Array<Record<string, unknown>> } };
    expect(out.alerts.receivers[0]).toEqual({ name: "hook", url: "http://127.0.0.1:9/h", hmac_secret: "[redacted]", headers: { "X-Api-Key": "[redacted]" } });
  });

  test("tokens, the JWT secret and secret-looking env values of apps and tasks are redacted", () => {
    const out = redactConfig({
      api: { tokens: [{ name: "a", token: "t", role: "admin" }], jwt: { secret: "j" } },
      apps: [{ name: "web", env: { DB_PASSWORD: "p", API_TOKEN: "t", MODE: "fast" } }],
      tasks: [{ name: "job", env: { AWS_SECRET_ACCESS_KEY: "x", LEVEL: "3" }, concurrency_key: "k" }],
    });
    expect(out).toEqual({
      api: { tokens: [{ name: "a", token: "[redacted]", role: "admin" }], jwt: { secret: "[redacted]" } },
      apps: [{ name: "web", env: { DB_PASSWORD: "[redacted]", API_TOKEN: "[redacted]", MODE: "fast" } }],
      tasks: [{ name: "job", env: { AWS_SECRET_ACCESS_KEY: "[redacted]", LEVEL: "3" }, concurrency_key: "k" }],
    });
  });
});

describe("redactedPlaceholders", () => {
  test("names every path of a patch that carries the placeholder, and none of a clean patch", async () => {
    const { redactedPlaceholders } = await import("../../../src/api/config.ts");
    expect(redactedPlaceholders({ api: { tokens: [{ name: "a", token: "[redacted]" }] }, apps: [{ name: "w", env: { K: "[redacted]", M: "x" } }] }).map((p) => p.path)).toEqual(["api.tokens[0].token", "apps[0].env.K"]);
    expect(redactedPlaceholders({ dns: { ttl: "9s" }, apps: [{ name: "w", env: { K: "redacted" } }] })).toEqual([]);
  });
});

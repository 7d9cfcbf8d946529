// Deeply nested JSON bodies are refused before any decoder recurses into them, on every /v1 route and method.
import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { createApi } from "../../../src/api/app.ts";
import { createTokenAuthenticator } from "../../../src/api/auth.ts";
import { configRoutes } from "../../../src/api/config.ts";
import { depthExceededAt, MAX_JSON_DEPTH } from "../../../src/api/json-depth.ts";
import { loadConfigText } from "../../../src/config/load.ts";

const TOKEN = "admin-token-0123456789";
const loaded = loadConfigText("agent: {}\n", "t.yaml", {});
if (!loaded.ok) throw loaded.error;

function api() {
  // A handler that recurses per level, as decoders and merge patches do.
  const echo = new Hono();
  const walk = (v: unknown): number => (v && typeof v === "object" ? 1 + Math.max(0, ...Object.values(v).map(walk)) : 0);
  echo.all("/*", async (c) => c.json({ depth: walk(await c.req.json()) }));
  return createApi({
    auth: createTokenAuthenticator(() => [{ name: "a", token: TOKEN, role: "admin" }]),
    bodyLimitBytes: 1024 * 1024,
    ready: () => true,
    modules: [
      { path: "/things", app: echo },
      { path: "/config", app: configRoutes({ current: () => ({ config: loaded.ok ? loaded.loaded.config : ({} as never), raw: {}, source: undefined }), patch: async () => ({ ok: true, reloaded: [] }), dropOverlay: async () => ({ ok: true, reloaded: [] }) }) },
    ],
  });
}
const nested = (n: number) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
const send = (path: string, method: string, body: string) =>
  api().request(path, { method, headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body });

describe("JSON nesting depth", () => {
  test.each(["POST", "PUT", "PATCH", "DELETE"])("a body 50,000 levels deep -> %s is a 400 in the envelope, not a 500", async (method) => {
    const res = await send("/v1/things/x", method, `${"[".repeat(50_000)}${"]".repeat(50_000)}`);
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe("bad_request");
    expect(body.message).toContain(`deeper than ${MAX_JSON_DEPTH} levels`);
  });

  test("PATCH /v1/config with a deep merge patch is refused before the patch is merged", async () => {
    const res = await send("/v1/config", "PATCH", nested(50_000));
    expect(res.status).toBe(400);
  });

  test("contrast: a body exactly at the limit is decoded by the route", async () => {
    const res = await send("/v1/things/x", "POST", nested(MAX_JSON_DEPTH));
    expect(res.status).toBe(200);
    expect(((await res.json()) as { depth: number }).depth).toBe(MAX_JSON_DEPTH);
  });

  test("brackets inside strings (escaped quotes too) do not count", () => {
    expect(depthExceededAt(`{"a":"[[[[[[\\"[[[["}`, 2)).toBe(-1);
    expect(depthExceededAt(`[[[`, 2)).toBe(2);
  });
});

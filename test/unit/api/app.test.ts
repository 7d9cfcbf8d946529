import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { createApi } from "../../../src/api/app.ts";
import { createTokenAuthenticator } from "../../../src/api/auth.ts";
import { RequestError } from "../../../src/protocol/port.ts";

function api() {
  const resource = new Hono();
  resource.get("/", (c) => c.json({ items: [] }));
  resource.post("/", async (c) => c.json(await c.req.json(), 201));
  return createApi({
    auth: createTokenAuthenticator(() => [
      { name: "r", token: "read-token-0123456789", role: "read" },
      { name: "o", token: "oper-token-0123456789", role: "operator" },
    ]),
    bodyLimitBytes: 64,
    ready: () => true,
    modules: [{ path: "/things", app: resource }],
  });
}
const auth = (t: string) => ({ authorization: `Bearer ${t}` });

describe("admin API skeleton", () => {
  test("health and readiness need no token", async () => {
    expect((await api().request("/healthz")).status).toBe(200);
    expect((await api().request("/readyz")).status).toBe(200);
  });

  const cases: Array<[string, string, Record<string, string>, number, string]> = [
    ["no token", "GET", {}, 401, "unauthorized"],
    ["a wrong token", "GET", auth("wrong-token-0123456789"), 401, "unauthorized"],
    ["a read token reading", "GET", auth("read-token-0123456789"), 200, ""],
    ["a read token mutating", "POST", auth("read-token-0123456789"), 403, "forbidden"],
    ["an operator token mutating", "POST", auth("oper-token-0123456789"), 201, ""],
  ];
  test.each(cases)("%s -> %s gets %d", async (_what, method, headers, status, code) => {
    const res = await api().request("/v1/things", { method, headers: { ...headers, "content-type": "application/json" }, ...(method === "POST" ? { body: "{}" } : {}) });
    expect(res.status).toBe(status);
    if (code) expect(((await res.json()) as { code: string }).code).toBe(code);
  });

  test("unknown routes get the JSON envelope with 404, wrong methods 405 with Allow", async () => {
    const a = api();
    const r404 = await a.request("/v1/nothing", { headers: auth("read-token-0123456789") });
    expect(r404.status).toBe(404);
    expect(await r404.json()).toMatchObject({ code: "not_found" });
    const r405 = await a.request("/v1/things", { method: "DELETE", headers: auth("oper-token-0123456789") });
    expect(r405.status).toBe(405);
    expect(r405.headers.get("allow")).toContain("GET");
  });

  test("an oversized body is refused with 413 in the envelope", async () => {
    const res = await api().request("/v1/things", {
      method: "POST",
      headers: { ...auth("oper-token-0123456789"), "content-type": "application/json" },
      body: JSON.stringify({ pad: "x".repeat(200) }),
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { code: string }).code).toBe("payload_too_large");
  });
});

describe("errors from workers", () => {
  function failing(err: Error) {
    const resource = new Hono();
    resource.get("/", () => {
      throw err;
    });
    return createApi({
      auth: createTokenAuthenticator(() => [{ name: "r", token: "read-token-0123456789", role: "read" }]),
      bodyLimitBytes: 64,
      ready: () => true,
      modules: [{ path: "/w", app: resource }],
    });
  }
  const cases: Array<[string, Error, number, string]> = [
    ["a worker that did not answer", new RequestError("timeout", "request x got no reply"), 503, "unavailable"],
    ["a worker that is restarting", new RequestError("unavailable", "health worker is restarting"), 503, "unavailable"],
    // Errors are matched by their tag, never by their text (contrast).
    ["a plain error whose text looks like a worker's", new Error("health worker is restarting"), 500, "internal"],
    ["a worker's not-found answer", new RequestError("not_found", "no check x"), 404, "not_found"],
    ["any other worker error", new RequestError("boom", "it broke"), 502, "worker_error"],
  ];
  test.each(cases)("%s maps to %d, not a bare 500", async (_what, err, status, code) => {
    const res = await failing(err).request("/v1/w", { headers: auth("read-token-0123456789") });
    expect(res.status).toBe(status);
    expect(((await res.json()) as { code: string }).code).toBe(code);
  });
});

// Console sessions in-process: sign-in for a cookie, CSRF on mutations, expiry, sign-out, the one-time link, the
// WebSocket origin check, and the bounds on what sign-in accepts.
import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { createApi } from "../../../src/api/app.ts";
import { createTicketStore, createTokenAuthenticator } from "../../../src/api/auth.ts";
import { createSessionStore } from "../../../src/api/session.ts";
import { uiRoutes } from "../../../src/api/ui.ts";

const READ = "read-token-0123456789";
const OPER = "oper-token-0123456789";

function setup(now = () => 1_000_000) {
  const auth = createTokenAuthenticator(() => [
    { name: "r", token: READ, role: "read" },
    { name: "o", token: OPER, role: "operator" },
  ]);
  const tickets = createTicketStore(30_000, now);
  const sessions = createSessionStore(60_000, now);
  const thing = new Hono();
  let changed = 0;
  thing.get("/", (c) => c.json({ changed }));
  thing.post("/", (c) => c.json({ changed: ++changed }));
  const app = createApi({
    auth,
    tickets,
    sessions,
    ui: uiRoutes({ auth, sessions, tickets, assets: async () => ({ "index.html": { type: "text/html", body: "<!doctype html>" } }), secure: false }),
    bodyLimitBytes: 1024,
    ready: () => true,
    modules: [{ path: "/thing", app: thing }],
  });
  return { app, tickets, changed: () => changed };
}

async function signIn(app: Hono, token: string) {
  const res = await app.request("/ui/session", { method: "POST", body: JSON.stringify({ token }) });
  const cookie = res.headers.getSetCookie()[0]?.split(";")[0] ?? "";
  return { res, cookie, body: (await res.json()) as { role?: string; csrf?: string; code?: string } };
}

describe("console sessions", () => {
  test("a session cookie reads; a mutation needs its CSRF token, and a wrong one changes nothing", async () => {
    const s = setup();
    const { cookie, body } = await signIn(s.app, OPER);
    expect(body.role).toBe("operator");
    expect((await s.app.request("/v1/thing", { headers: { cookie } })).status).toBe(200);
    for (const csrf of [undefined, "wrong", `${body.csrf}x`]) {
      const res = await s.app.request("/v1/thing", { method: "POST", headers: { cookie, ...(csrf ? { "x-csrf-token": csrf } : {}) } });
      expect(res.status).toBe(403);
    }
    expect(s.changed()).toBe(0);
    const ok = await s.app.request("/v1/thing", { method: "POST", headers: { cookie, "x-csrf-token": body.csrf! } });
    expect(ok.status).toBe(200);
    expect(s.changed()).toBe(1);
  });

  test("a read session is refused a mutation by its role even with the CSRF token", async () => {
    const s = setup();
    const { cookie, body } = await signIn(s.app, READ);
    const res = await s.app.request("/v1/thing", { method: "POST", headers: { cookie, "x-csrf-token": body.csrf! } });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { code: string }).code).toBe("forbidden");
    expect(s.changed()).toBe(0);
  });

  test("a session ends at its expiry and at sign-out", async () => {
    let t = 1_000_000;
    const s = setup(() => t);
    const a = await signIn(s.app, READ);
    t += 59_000;
    expect((await s.app.request("/v1/thing", { headers: { cookie: a.cookie } })).status).toBe(200);
    t += 2_000;
    expect((await s.app.request("/v1/thing", { headers: { cookie: a.cookie } })).status).toBe(401);
    const b = await signIn(s.app, READ);
    expect((await s.app.request("/ui/session", { method: "DELETE", headers: { cookie: b.cookie } })).status).toBe(403);
    const out = await s.app.request("/ui/session", { method: "DELETE", headers: { cookie: b.cookie, "x-csrf-token": b.body.csrf! } });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().every((c) => c.includes("Max-Age=0"))).toBe(true);
    expect((await s.app.request("/v1/thing", { headers: { cookie: b.cookie } })).status).toBe(401);
    expect(await (await s.app.request("/ui/session", { headers: { cookie: b.cookie } })).json()).toEqual({ signedIn: false });
  });

  test.each([
    ["not JSON", "token=abc", 400],
    ["no token field", "{}", 400],
    ["a number", '{"token": 5}', 400],
    ["a wrong token", '{"token": "wrong-token-0123456789"}', 401],
    ["a body over 8 KiB", JSON.stringify({ token: "x".repeat(9000) }), 413],
  ])("sign-in with %s is refused and sets no cookie", async (_what, body, status) => {
    const res = await setup().app.request("/ui/session", { method: "POST", body });
    expect(res.status).toBe(status);
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  test("opening the one-time link spends nothing; confirming it from the page signs in once", async () => {
    const s = setup();
    const { ticket } = s.tickets.issue({ name: "o", role: "operator" });
    const json = { "content-type": "application/json", origin: "http://127.0.0.1:9090", host: "127.0.0.1:9090", "sec-fetch-site": "same-origin" };
    // A link, a prefetcher or a cross-site <img> only loads the page: no cookie, and the ticket is still good.
    const opened = await s.app.request(`/ui/login?ticket=${ticket}`);
    expect(opened.status).toBe(200);
    expect(opened.headers.getSetCookie()).toEqual([]);
    const seen = await s.app.request("/ui/login/inspect", { method: "POST", headers: json, body: JSON.stringify({ ticket }) });
    expect(await seen.json()).toMatchObject({ name: "o", role: "operator" });
    expect(seen.headers.getSetCookie()).toEqual([]);
    const first = await s.app.request("/ui/login", { method: "POST", headers: json, body: JSON.stringify({ ticket }) });
    expect(first.status).toBe(201);
    expect(first.headers.getSetCookie()).toHaveLength(2);
    expect(((await first.json()) as { role: string }).role).toBe("operator");
    const again = await s.app.request("/ui/login", { method: "POST", headers: json, body: JSON.stringify({ ticket }) });
    expect(again.status).toBe(401);
    expect(again.headers.getSetCookie()).toEqual([]);
    expect((await s.app.request("/ui/login/inspect", { method: "POST", headers: json, body: JSON.stringify({ ticket }) })).status).toBe(401);
  });

  test.each([
    ["an Origin of another site", { origin: "http://evil.example", host: "127.0.0.1:9090" }],
    ["Sec-Fetch-Site cross-site", { "sec-fetch-site": "cross-site", host: "127.0.0.1:9090" }],
    ["Sec-Fetch-Site same-site (a sibling host)", { "sec-fetch-site": "same-site", origin: "http://127.0.0.1:9090", host: "127.0.0.1:9090" }],
    ["a malformed Origin", { origin: "not a url", host: "127.0.0.1:9090" }],
  ])("a sign-in posted from %s (login CSRF) is refused, sets no cookie and leaves the ticket unspent", async (_what, headers) => {
    const s = setup();
    const { ticket } = s.tickets.issue({ name: "o", role: "operator" });
    // What a cross-site form can send: text/plain that parses as JSON.
    for (const [path, body] of [["/ui/login", { ticket }], ["/ui/session", { token: OPER }]] as const) {
      const res = await s.app.request(path, { method: "POST", headers: { "content-type": "text/plain", ...headers }, body: JSON.stringify(body) });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { code: string }).code).toBe("csrf");
      expect(res.headers.getSetCookie()).toEqual([]);
    }
    expect(s.tickets.peek(ticket)?.principal.name).toBe("o");
  });

  test("a WebSocket upgrade with the cookie from another origin is refused; the same origin is not", async () => {
    const s = setup();
    const { cookie } = await signIn(s.app, READ);
    const foreign = await s.app.request("http://127.0.0.1:9090/v1/thing", { headers: { cookie, upgrade: "websocket", origin: "http://evil.example", host: "127.0.0.1:9090" } });
    expect(foreign.status).toBe(403);
    const same = await s.app.request("http://127.0.0.1:9090/v1/thing", { headers: { cookie, upgrade: "websocket", origin: "http://127.0.0.1:9090", host: "127.0.0.1:9090" } });
    expect(same.status).toBe(200);
  });

  test("every /ui answer carries the CSP, and a bearer token still works without a cookie", async () => {
    const s = setup();
    const page = await s.app.request("/ui/apps");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect((await s.app.request("/ui/session")).headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect((await s.app.request("/v1/thing", { method: "POST", headers: { authorization: `Bearer ${OPER}` } })).status).toBe(200);
  });
});

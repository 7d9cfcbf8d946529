// Auth as a client meets it: WWW-Authenticate on every 401, CORS preflights answered before auth, declared roles
// enforced (a read token may ask for an event ticket), and the WebSocket event stream ending at ?limit=N.
import { describe, expect, test } from "bun:test";
import { websocket } from "hono/bun";
import { createApi } from "../../../src/api/app.ts";
import { createTicketStore, createTokenAuthenticator } from "../../../src/api/auth.ts";
import { eventRoutes } from "../../../src/api/events.ts";
import { createEventBus } from "../../../src/state/event-bus.ts";
import { waitFor } from "../../support/wait-for.ts";

const READ = "read-token-0123456789";
const OPER = "oper-token-0123456789";

function api() {
  const bus = createEventBus();
  const tickets = createTicketStore();
  const app = createApi({
    auth: createTokenAuthenticator(() => [
      { name: "r", token: READ, role: "read" },
      { name: "o", token: OPER, role: "operator" },
    ]),
    tickets,
    bodyLimitBytes: 1024,
    ready: () => true,
    modules: [{ path: "/events", app: eventRoutes({ bus, tickets }) }],
  });
  return { app, bus };
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe("401 responses", () => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ["no credential", {}, 'Bearer realm="polis"'],
    ["a wrong token", bearer("wrong-token-0123456789"), 'Bearer realm="polis", error="invalid_token"'],
  ];
  test.each(cases)("%s gets 401 with a WWW-Authenticate challenge", async (_what, headers, challenge) => {
    const res = await api().app.request("/v1/events", { headers });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe(challenge);
    expect(((await res.json()) as { code: string }).code).toBe("unauthorized");
  });

  test("an unknown ticket is 401 with the invalid_token challenge", async () => {
    const res = await api().app.request("/v1/events?ticket=nope");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });
});

describe("CORS preflight", () => {
  test("OPTIONS on a /v1 route without a token is 204 with the route's methods, not 401, and allows no other origin", async () => {
    const res = await api().app.request("/v1/events/ticket", {
      method: "OPTIONS",
      headers: { origin: "http://elsewhere.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization" },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("allow")).toBe("POST, OPTIONS");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("OPTIONS on a path no route answers is 404 (contrast case)", async () => {
    expect((await api().app.request("/v1/nothing-here", { method: "OPTIONS" })).status).toBe(404);
  });
});

describe("declared roles", () => {
  test("a read token gets a ticket from POST /v1/events/ticket (declared read), and the ticket opens the JSON page once", async () => {
    const { app } = api();
    const res = await app.request("/v1/events/ticket", { method: "POST", headers: bearer(READ) });
    expect(res.status).toBe(201);
    const { ticket } = (await res.json()) as { ticket: string };
    expect((await app.request(`/v1/events?ticket=${ticket}`)).status).toBe(200);
    expect((await app.request(`/v1/events?ticket=${ticket}`)).status).toBe(401);
  });

  test("an undeclared POST still needs the operator role (contrast case)", async () => {
    const res = await api().app.request("/v1/events", { method: "POST", headers: bearer(READ) });
    expect(res.status).toBe(403);
  });
});

describe("query parameters", () => {
  const cases: Array<[string, number]> = [
    ["limit=2", 200],
    ["limit=0", 400],
    ["limit=10001", 400],
    ["limit=1e3", 400],
    ["limit=%205", 400],
    ["since=-1", 400],
    ["since=abc", 400],
  ];
  test.each(cases)("GET /v1/events?%s -> %d", async (query, status) => {
    const { app, bus } = api();
    for (let i = 0; i < 3; i++) bus.publish({ type: "test.tick", source: "test", target: "t", severity: "info", message: `tick ${i}` });
    const res = await app.request(`/v1/events?${query}`, { headers: bearer(READ) });
    expect(res.status).toBe(status);
    const body = (await res.json()) as { events?: unknown[]; details?: { problems: Array<{ field: string }> } };
    if (status === 200) expect(body.events).toHaveLength(2);
    else expect(body.details?.problems[0]?.field).toBe(query.split("=")[0]!);
  });
});

describe("WebSocket event stream", () => {
  async function serve() {
    const { app, bus } = api();
    const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch, websocket });
    return { bus, url: `ws://127.0.0.1:${server.port}/v1/events`, [Symbol.asyncDispose]: () => server.stop(true) };
  }
  function open(url: string) {
    const ws = new WebSocket(url, [`bearer.${READ}`]);
    const messages: Array<{ seq?: number; type: string }> = [];
    let closeCode: number | undefined;
    ws.onmessage = (m) => messages.push(JSON.parse(String(m.data)));
    ws.onclose = (e) => (closeCode = e.code);
    const opened = new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("websocket failed to open"));
    });
    return { ws, messages, opened, closed: () => closeCode };
  }
  const tick = (bus: ReturnType<typeof createEventBus>, i: number) => bus.publish({ type: "test.tick", source: "test", target: "t", severity: "info", message: `tick ${i}` });

  test("?since=0&limit=2 replays two events, then closes normally and sends nothing more", async () => {
    await using s = await serve();
    for (let i = 0; i < 5; i++) tick(s.bus, i);
    const c = open(`${s.url}?since=0&limit=2`);
    await c.opened;
    await waitFor(() => c.closed() !== undefined, { what: "the socket to close at the limit", timeoutMs: 5000 });
    expect(c.closed()).toBe(1000);
    expect(c.messages.map((m) => m.seq)).toEqual([1, 2]);
  });

  test("live events count toward the limit too", async () => {
    await using s = await serve();
    const c = open(`${s.url}?limit=3`);
    await c.opened;
    let i = 0;
    await waitFor(() => {
      if (c.closed() === undefined) tick(s.bus, i++);
      return c.closed() !== undefined;
    }, { what: "three live events, then close", timeoutMs: 5000 });
    expect(c.messages).toHaveLength(3);
    expect(c.closed()).toBe(1000);
  });

  test("without a limit the stream stays open past many events (contrast case)", async () => {
    await using s = await serve();
    const c = open(s.url);
    await c.opened;
    for (let i = 0; i < 50; i++) tick(s.bus, i);
    await waitFor(() => c.messages.length === 50, { what: "50 live events", timeoutMs: 5000 });
    expect(c.closed()).toBeUndefined();
    c.ws.close();
  });
});

describe("admin API metrics hook", () => {
  test("each request is reported once with its route pattern, status and scheme; an unknown path is 'unmatched'", async () => {
    const seen: Array<[string, string, number, string]> = [];
    const bus = createEventBus();
    const tickets = createTicketStore();
    const app = createApi({
      auth: createTokenAuthenticator(() => [{ name: "r", token: READ, role: "read" }]),
      tickets,
      bodyLimitBytes: 1024,
      ready: () => true,
      modules: [{ path: "/events", app: eventRoutes({ bus, tickets }) }],
      onRequest: (method, route, status, scheme, seconds) => {
        expect(seconds).toBeGreaterThanOrEqual(0);
        seen.push([method, route, status, scheme]);
      },
    });
    await app.request("/v1/events?limit=1", { headers: bearer(READ) });
    await app.request("/v1/events");
    await app.request("/v1/nowhere/abc", { headers: bearer(READ) });
    await app.request("/healthz");
    expect(seen).toEqual([
      ["GET", "/v1/events", 200, "http"],
      ["GET", "/v1/events", 401, "http"],
      ["GET", "unmatched", 404, "http"],
      ["GET", "/healthz", 200, "http"],
    ]);
  });
});

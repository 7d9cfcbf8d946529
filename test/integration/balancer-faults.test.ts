// The compiled agent's HTTP balancer under faults: a busy listen address, a slow client, hostile requests, and its stats.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { freePort } from "../fixtures/it-apps-fixture.ts";
import { type RunningAgent, startAgent } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";

interface BalancerView {
  listening: boolean;
  problem?: string;
  stats: { totals: { requests: number; errors: number; responses: Record<string, number> } };
  endpoints: Array<{ id: string; stats: { totals: { requests: number; errors: number; responses: Record<string, number> } } }>;
}

/** One raw exchange over a fresh connection: what came back before the proxy closed it (or the response ended). */
async function exchange(port: number, request: string, done: (text: string) => boolean): Promise<string> {
  let text = "";
  let closed = false;
  const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data(_s, d) { text += Buffer.from(d).toString("latin1"); }, close() { closed = true; }, error() {} } });
  try {
    s.write(request);
    await waitFor(() => closed || done(text), { what: `an answer to ${JSON.stringify(request.slice(0, 40))}` });
    return text;
  } finally {
    s.end();
  }
}

describe("a balancer whose listen address is taken", () => {
  test("is reported with address and errno, /readyz is 503 with the reason, and it binds once the address frees", async () => {
    const upstream = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("up") });
    let squatter: TCPSocketListener | undefined = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = squatter.port;
    try {
      await using agent = await startAgent({
        config: { balancers: [{ name: "web", listen: `127.0.0.1:${port}`, protocol: "http", backends: { endpoints: [{ address: `127.0.0.1:${upstream.port}` }] } }] },
      });
      const line = await agent.waitForLine((l) => l.event === "balancer.listen-failed");
      expect(String(line.msg)).toContain(`127.0.0.1:${port}`);
      expect(String(line.msg)).toContain("EADDRINUSE");
      // The agent is up but does not call itself ready, and says which balancer is missing and why.
      const up = await agent.waitForLine((l) => l.msg === "agent up, not ready");
      expect(String(up.reason)).toContain(`balancer web: cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
      expect(agent.lines.some((l) => l.msg === "agent ready")).toBe(false);
      const ready = await fetch(`${agent.url}/readyz`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { code: string; message: string };
      expect(body.code).toBe("not_ready");
      expect(body.message).toContain(`balancer web: cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
      const view = (await (await agent.api("/v1/balancers/web")).json()) as BalancerView;
      expect(view.listening).toBe(false);
      squatter.stop(true);
      squatter = undefined;
      await waitFor(async () => (await fetch(`${agent.url}/readyz`)).status === 200, { what: "/readyz 200 after the address freed", timeoutMs: 20_000, intervalMs: 100 });
      const res = await fetch(`http://127.0.0.1:${port}/`);
      expect(await res.text()).toBe("up");
      await agent.waitForLine((l) => l.event === "balancer.listening");
      await agent.waitForLine((l) => l.msg === "agent ready");
    } finally {
      squatter?.stop(true);
      upstream.stop(true);
    }
  }, 60_000);
});

describe("the HTTP balancer under hostile and slow clients", () => {
  const BODY = 32 * 1024 * 1024;
  let agent: RunningAgent;
  let big: TCPSocketListener<{ left: number }>;
  let stalled = false;
  let echo: ReturnType<typeof Bun.serve>;
  let closer: TCPSocketListener;
  const seen: string[] = [];
  const ports = { slow: freePort(), edge: freePort(), dead: freePort() };

  beforeAll(async () => {
    const chunk = Buffer.alloc(256 * 1024, 120);
    const pump = (s: Socket<{ left: number }>) => {
      while (s.data.left > 0) {
        const part = s.data.left >= chunk.length ? chunk : chunk.subarray(0, s.data.left);
        const n = s.write(part);
        if (n > 0) s.data.left -= n;
        if (n < part.length) {
          stalled = true;
          return;
        }
      }
    };
    big = Bun.listen<{ left: number }>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open(s) { s.data = { left: 0 }; },
        data(s) {
          s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY}\r\n\r\n`);
          s.data.left = BODY;
          pump(s);
        },
        drain(s) { pump(s); },
        error() {},
      },
    });
    echo = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        seen.push(`${req.method} ${new URL(req.url).pathname} xff=${req.headers.get("x-forwarded-for")}`);
        return new Response("echo");
      },
    });
    // An upstream that hangs up on every connection: a port this test holds, so nothing else can answer on it.
    closer = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open(s) { s.terminate(); }, data() {}, error() {} } });
    agent = await startAgent({
      config: {
        balancers: [
          // Outlier detection on a hair trigger: a slow client reported as an upstream timeout would eject at once.
          { name: "slow", listen: `127.0.0.1:${ports.slow}`, protocol: "http", timeouts: { request: "1s", idle: "30s" }, outlier: { consecutive_gateway_failure: 1, consecutive_5xx: 1 }, backends: { endpoints: [{ address: `127.0.0.1:${big.port}` }] } },
          { name: "edge", listen: `127.0.0.1:${ports.edge}`, protocol: "http", backends: { endpoints: [{ address: `127.0.0.1:${echo.port}` }] } },
          { name: "dead", listen: `127.0.0.1:${ports.dead}`, protocol: "http", retries: { max: 0 }, backends: { endpoints: [{ address: `127.0.0.1:${closer.port}` }] } },
        ],
      },
    });
    await waitFor(async () => (await fetch(`${agent.url}/readyz`)).status === 200, { what: "agent ready to serve" });
  }, 60_000);

  afterAll(async () => {
    await agent?.[Symbol.asyncDispose]();
    big?.stop(true);
    echo?.stop(true);
    closer?.stop(true);
  });

  test("a client that reads slower than the server timeout gets the whole body and the upstream is neither failed nor ejected", async () => {
    let received = 0;
    let closed = false;
    const sock = await Bun.connect({ hostname: "127.0.0.1", port: ports.slow, socket: { data(_s, d) { received += d.length; }, close() { closed = true; }, error() {} } });
    try {
      sock.pause();
      sock.write("GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
      await waitFor(() => stalled, { what: "the upstream held back by the slow client", timeoutMs: 15_000 });
      // The slow client: it reads nothing for three server timeouts (a second each: wide enough that a starved
      // proxy on a loaded machine does not time out a healthy upstream by itself).
      await Bun.sleep(3_000);
      sock.resume();
      await waitFor(() => received > BODY || closed, { what: "the whole body or a close", timeoutMs: 30_000 });
      expect(closed).toBe(false);
      expect(received).toBeGreaterThan(BODY);
    } finally {
      sock.end();
    }
    const view = await waitFor(async () => {
      const v = (await (await agent.api("/v1/balancers/slow")).json()) as BalancerView;
      const t = v.endpoints[0]!.stats.totals;
      return t.responses["2xx"] + t.errors >= 1 ? v : false;
    }, { what: "the exchange counted" });
    expect(view.endpoints[0]!.stats.totals.errors).toBe(0);
    expect(view.endpoints[0]!.stats.totals.responses["2xx"]).toBe(1);
    expect(agent.lines.some((l) => l.event === "balancer.ejected")).toBe(false);
  }, 60_000);

  const hostile: Array<[string, string, number]> = [
    ["an absolute-form target naming another host than Host", "GET http://evil.example/x HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["CONNECT with no tunnel configured", "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n", 405],
    ["a chunk extension of 64 KiB", `POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;e=${"x".repeat(64 * 1024)}\r\na\r\n0\r\n\r\n`, 400],
  ];
  test.each(hostile)("%s is refused with %d and never reaches the upstream", async (_name, request, status) => {
    const before = seen.length;
    const text = await exchange(ports.edge, request, () => false);
    expect(text.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
    expect(seen.length).toBe(before);
  });

  test("two X-Forwarded-For lines reach the upstream as one list with the client appended (contrast: allowed)", async () => {
    const text = await exchange(ports.edge, "GET /xff HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.2\r\n\r\n", (t) => t.endsWith("echo"));
    expect(text.startsWith("HTTP/1.1 200")).toBe(true);
    expect(seen.at(-1)).toBe("GET /xff xff=10.0.0.1, 10.0.0.2, 127.0.0.1");
  });

  test("lifetime totals count every request sent, and a 502 the proxy answers counts as the endpoint's 5xx", async () => {
    const N = 40;
    for (let i = 0; i < N; i++) expect((await fetch(`http://127.0.0.1:${ports.dead}/`)).status).toBe(502);
    const v = await waitFor(async () => {
      const x = (await (await agent.api("/v1/balancers/dead")).json()) as BalancerView;
      return x.stats.totals.requests >= N ? x : false;
    }, { what: `${N} requests in the totals`, timeoutMs: 15_000 });
    // The window keeps the last 10 s; the totals keep everything, however long the requests took to send.
    expect(v.stats.totals.requests).toBe(N);
    expect(v.stats.totals.responses["5xx"]).toBe(N);
    expect(v.endpoints[0]!.stats.totals.responses["5xx"]).toBe(N);
    expect(v.endpoints[0]!.stats.totals.errors).toBe(N);
  }, 30_000);
});

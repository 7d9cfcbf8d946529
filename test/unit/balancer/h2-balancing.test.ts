// gRPC through an HTTP balancer with HTTP/2 on both sides: one client connection's RPCs spread across replicas
// stream by stream, streaming RPCs pass intact, a dead replica fails only its own streams, a replica that sends
// GOAWAY drains without failing an RPC, and HTTP/1.1 keeps working on the same listener.
import { afterEach, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { waitFor } from "../../support/wait-for.ts";
import { EchoClient, echoServer, type EchoServer, h2Listener, member, unary } from "./h2-support.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(n: number, extra: Record<string, unknown> = {}) {
  const servers = await Promise.all(Array.from({ length: n }, (_, i) => echoServer(`r${i}`)));
  for (const s of servers) cleanups.push(() => s.stop());
  const l = await h2Listener(extra);
  cleanups.push(() => l.close(200));
  l.setMembers(servers.map((s) => member(s)));
  const client = new EchoClient(`127.0.0.1:${l.port}`, grpc.credentials.createInsecure());
  cleanups.push(() => client.close());
  return { servers, l, client: client as grpc.Client & Record<string, Function> };
}

describe("per-stream balancing of gRPC over h2c", () => {
  test("1,000 unary RPCs on one client connection spread over 3 replicas, each 33% +- 5% (least_request, the default)", async () => {
    const { servers, client } = await setup(3);
    const seen: Record<string, number> = {};
    // Ten at a time: the calls share the one HTTP/2 connection grpc-js keeps.
    for (let batch = 0; batch < 100; batch++) {
      const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => unary(client, `m${batch * 10 + i}`)));
      for (const r of rs) {
        expect(r.error).toBeUndefined();
        const who = r.value!.split(":")[0]!;
        seen[who] = (seen[who] ?? 0) + 1;
      }
    }
    expect(Object.values(seen).reduce((a, b) => a + b, 0)).toBe(1000);
    for (const s of servers) {
      expect(s.calls).toBe(seen[s.name]!);
      expect(Math.abs(s.calls / 1000 - 1 / 3)).toBeLessThanOrEqual(0.05);
    }
  });

  test("contrast: the same client through a tcp balancer lands every RPC on one replica", async () => {
    const { createTcpProxy } = await import("../../../src/balancer/tcp-proxy.ts");
    const { roundRobinPool } = await import("./support.ts");
    const servers = await Promise.all(["t0", "t1", "t2"].map(echoServer));
    for (const s of servers) cleanups.push(() => s.stop());
    const proxy = createTcpProxy({ hostname: "127.0.0.1", port: 0, pool: roundRobinPool(servers.map((s) => s.port)) });
    cleanups.push(() => proxy.close());
    const c = new EchoClient(`127.0.0.1:${proxy.port}`, grpc.credentials.createInsecure());
    cleanups.push(() => c.close());
    for (let i = 0; i < 60; i++) expect((await unary(c, "x")).error).toBeUndefined();
    expect(servers.map((s) => s.calls).sort((a, b) => a - b)).toEqual([0, 0, 60]);
  });

  test("server, client and bidi streams pass intact with flow control both ways; trailers carry grpc-status", async () => {
    const { client } = await setup(2);
    // Server stream: 2,000 messages of ~1 KiB, more than any flow-control window, so both sides must wait.
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = client.serverStream(Buffer.from("2000"));
      call.on("data", (b: Buffer) => got.push(b.toString()));
      call.on("end", resolve);
      call.on("error", reject);
    });
    expect(got.length).toBe(2000);
    const who = got[0]!.split(":")[0];
    expect(got.every((m, i) => m.startsWith(`${who}:${i}:`))).toBe(true);
    // Client stream: 1,000 messages of 4 KiB up.
    const summary = await new Promise<string>((resolve, reject) => {
      const call = client.clientStream((e: grpc.ServiceError | null, v: Buffer) => (e ? reject(e) : resolve(v.toString())));
      let i = 0;
      const pump = () => {
        while (i < 1000) {
          i++;
          if (!call.write(Buffer.alloc(4096, 7))) return void call.once("drain", pump);
        }
        call.end();
      };
      pump();
    });
    expect(summary.split(":").slice(1)).toEqual(["1000", String(1000 * 4096)]);
    // Bidi: each message answered in order on one stream, from one replica.
    const replies = await new Promise<string[]>((resolve, reject) => {
      const call = client.bidi();
      const out: string[] = [];
      call.on("data", (b: Buffer) => {
        out.push(b.toString());
        if (out.length < 50) call.write(Buffer.from(`n${out.length}`));
        else call.end();
      });
      call.on("end", () => resolve(out));
      call.on("error", reject);
      call.write(Buffer.from("n0"));
    });
    expect(replies.length).toBe(50);
    expect(new Set(replies.map((r) => r.split(":")[0])).size).toBe(1);
    expect(replies.map((r) => r.split(":")[1])).toEqual(Array.from({ length: 50 }, (_, i) => `n${i}`));
    // A gRPC error status from the replica arrives as it was sent (trailers-only response).
    const f = await unary(client, "fail");
    expect(f.error?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(f.error?.details).toMatch(/^refused by r\d$/);
  });

  test("a replica killed mid-stream fails only the streams it held (UNAVAILABLE); new RPCs go to the others", async () => {
    const { servers, client, l } = await setup(3, { algorithm: "round_robin", retries: { max: 2, budget_percent: 100 } });
    // Nine server streams that stay open (each waits on flow control after ~the window): three per replica.
    const calls = Array.from({ length: 9 }, () => {
      const call = client.serverStream(Buffer.from("100000"));
      const state = { first: "", n: 0, error: undefined as number | undefined, ended: false };
      call.on("data", (b: Buffer) => {
        if (state.n++ === 0) {
          state.first = b.toString().split(":")[0]!;
          call.pause();
        }
      });
      call.on("error", (e: grpc.ServiceError) => (state.error = e.code));
      call.on("end", () => (state.ended = true));
      return { call, state };
    });
    await waitFor(() => calls.every((c) => c.state.first !== ""), { what: "every stream answered" });
    const victim = servers[0]!;
    const onVictim = calls.filter((c) => c.state.first === victim.name);
    expect(onVictim.length).toBe(3);
    victim.stop();
    // Their clients read on: what was already relayed arrives, then the status (data is never dropped ahead of it).
    for (const c of onVictim) c.call.resume();
    await waitFor(() => onVictim.every((c) => c.state.error !== undefined), { what: "the victim's streams failed" });
    for (const c of onVictim) expect(c.state.error).toBe(grpc.status.UNAVAILABLE);
    const others = calls.filter((c) => c.state.first !== victim.name);
    expect(others.every((c) => c.state.error === undefined && !c.state.ended)).toBe(true);
    // The dead replica is still in the pool (no health check has seen it yet): RPCs never reached it, so they are
    // retried. A second connection (grpc-js would share the first, whose window the paused streams' data fills).
    const fresh = new EchoClient(`127.0.0.1:${l.port}`, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
    cleanups.push(() => fresh.close());
    for (let i = 0; i < 20; i++) {
      const r = await unary(fresh, "after");
      expect(r.error).toBeUndefined();
      expect(r.value!.startsWith(victim.name)).toBe(false);
    }
    for (const c of others) c.call.cancel();
  });

  test("a replica that shuts down gracefully (GOAWAY) while RPCs keep flowing fails none of them", async () => {
    const { servers, client, l } = await setup(3);
    let failed = 0;
    let ok = 0;
    let running = true;
    const loops = Array.from({ length: 4 }, async () => {
      while (running) {
        const r = await unary(client, "loop");
        if (r.error) failed++;
        else ok++;
      }
    });
    await waitFor(() => ok > 100, { what: "traffic flowing" });
    const leaving = servers[2]!;
    // Scale-down as the supervisor does it: the endpoint is drained, then the replica stops (grpc-js sends GOAWAY).
    l.setMembers(servers.map((s) => member(s, { draining: s === leaving })));
    const stopped = new Promise<void>((r) => leaving.server.tryShutdown(() => r()));
    await stopped;
    l.setMembers(servers.filter((s) => s !== leaving).map((s) => member(s)));
    const before = ok;
    await waitFor(() => ok > before + 200, { what: "traffic after the scale-down" });
    running = false;
    await Promise.all(loops);
    expect(failed).toBe(0);
  });
});

describe("one listener, both protocols", () => {
  test("HTTP/1.1 requests keep their own path on a listener that speaks HTTP/2, and h2 over TLS is chosen by ALPN", async () => {
    const { makeCert } = await import("./tls-certs.ts");
    const http2 = await import("node:http2");
    const upstream = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => new Response(`h1 upstream ${new URL(req.url).pathname} ${req.headers.get("x-forwarded-proto")}`) });
    cleanups.push(() => upstream.stop(true));
    const cert = makeCert("localhost");
    cleanups.push(() => cert.remove());
    const l = await h2Listener({ upstream_protocol: "http1", tls: { cert_file: cert.certFile, key_file: cert.keyFile } });
    cleanups.push(() => l.close(200));
    l.setMembers([{ id: "u", address: "127.0.0.1", port: upstream.port!, weight: 1, health: "passing", draining: false }]);
    // HTTP/1.1 over TLS (ALPN http/1.1 or none): the HTTP/1.1 data plane.
    const h1 = await fetch(`https://127.0.0.1:${l.port}/one`, { tls: { rejectUnauthorized: false } });
    expect(await h1.text()).toBe("h1 upstream /one https");
    // h2 by ALPN: the HTTP/2 side, proxied to the HTTP/1.1 upstream.
    const session = http2.connect(`https://127.0.0.1:${l.port}`, { rejectUnauthorized: false });
    cleanups.push(() => session.close());
    const body = await new Promise<{ status: number; text: string; alpn: string | false | undefined }>((resolve, reject) => {
      const req = session.request({ ":path": "/two" });
      let text = "";
      let status = 0;
      req.on("response", (h) => (status = Number(h[":status"])));
      req.on("data", (c) => (text += c));
      req.on("end", () => resolve({ status, text, alpn: session.alpnProtocol }));
      req.on("error", reject);
      req.end();
    });
    expect(body).toEqual({ status: 200, text: "h1 upstream /two https", alpn: "h2" });
  });
});

describe("HTTP/1.1 clients in front of HTTP/2-only endpoints", () => {
  test("with upstream_protocol h2c, each HTTP/1.1 request (bodies both ways) is one upstream stream, spread per request", async () => {
    const http2 = await import("node:http2");
    const servers = await Promise.all(
      ["p", "q"].map(
        (name) =>
          new Promise<{ port: number; close(): void; name: string }>((resolve) => {
            const srv = http2.createServer();
            srv.on("stream", (stream, headers) => {
              let body = "";
              stream.on("data", (c: Buffer) => (body += c));
              stream.on("end", () => {
                (stream as import("node:http2").ServerHttp2Stream).respond({ ":status": 200, "content-type": "text/plain" });
                stream.end(`${name} ${headers[":method"]} ${headers[":path"]} ${body.length}`);
              });
            });
            srv.listen(0, "127.0.0.1", () => resolve({ port: (srv.address() as { port: number }).port, close: () => srv.close(), name }));
          }),
      ),
    );
    for (const s of servers) cleanups.push(() => s.close());
    const l = await h2Listener({ algorithm: "round_robin" });
    cleanups.push(() => l.close(200));
    l.setMembers(servers.map((s) => ({ id: s.name, address: "127.0.0.1", port: s.port, weight: 1, health: "passing" as const, draining: false })));
    const got: string[] = [];
    for (let i = 0; i < 6; i++) {
      // fetch keeps one HTTP/1.1 keep-alive connection: the spread is per request, not per connection.
      const r = await fetch(`http://127.0.0.1:${l.port}/r${i}`, { method: "POST", body: "x".repeat(100_000 * (i % 2)) });
      expect(r.status).toBe(200);
      got.push(await r.text());
    }
    expect(got.map((g) => g.split(" ").slice(1).join(" "))).toEqual(Array.from({ length: 6 }, (_, i) => `POST /r${i} ${100_000 * (i % 2)}`));
    expect(new Set(got.map((g) => g.split(" ")[0]))).toEqual(new Set(["p", "q"]));
  });
});

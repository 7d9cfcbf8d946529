// Conformance suite every probe kind runs: result shape, failure as data, abort, bounded output.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { STATUSES } from "../../src/core/health/status.ts";
import { OUTPUT_CAP_BYTES, type Probe } from "../../src/health/probe.ts";
import { buildProbe, PROBE_KINDS } from "../../src/health/registry.ts";
import { createFakeClock } from "../support/fake-clock.ts";

interface Case {
  kind: string;
  probe: () => Probe;
  /** A target that passes, or the reason this suite has none for the kind. */
  healthy: (() => string) | { skip: string };
  failing: () => string;
  /** A target that never answers, or the reason this kind cannot hang. */
  hanging: (() => string) | { skip: string };
  /** A target whose answer is larger than the output cap, or the reason there is none. */
  chatty: (() => string) | { skip: string };
}

let http: ReturnType<typeof Bun.serve>;
let tcp: Bun.TCPSocketListener<undefined>;
let silentTcp: Bun.TCPSocketListener<undefined>;
let udp: Bun.udp.Socket<"buffer">;
let udpMute: Bun.udp.Socket<"buffer">;
let grpcServer: grpc.Server;
let grpcPort = 0;
let dir: string;
let closedPort = 0;
const big = "z".repeat(3 * OUTPUT_CAP_BYTES);

beforeAll(async () => {
  http = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: (req) => {
      const p = new URL(req.url).pathname;
      if (p === "/fail") return new Response("no", { status: 500 });
      if (p === "/big") return new Response(big);
      if (p === "/hang") return new Promise<Response>(() => {});
      return new Response("ok");
    },
  });
  tcp = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: (s) => void s.write(`ok ${big}`) } });
  silentTcp = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  udp = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data: (s, _b, port, addr) => void s.send("pong", port, addr) } });
  udpMute = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data() {} } });
  grpcServer = new grpc.Server();
  new HealthImplementation({ "": "SERVING", down: "NOT_SERVING" }).addToServer(grpcServer);
  grpcPort = await new Promise<number>((res, rej) => grpcServer.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  dir = mkdtempSync(join(tmpdir(), "health-conf-"));
  writeFileSync(join(dir, "ok"), "ready");
  const tmp = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  closedPort = tmp.port;
  tmp.stop(true);
});
afterAll(() => {
  http.stop(true);
  tcp.stop(true);
  silentTcp.stop(true);
  udp.close();
  udpMute.close();
  grpcServer.forceShutdown();
  rmSync(dir, { recursive: true, force: true });
});

const ttlClock = createFakeClock(0);
const cases: Case[] = [
  { kind: "http", probe: () => buildProbe("http").probe, healthy: () => `127.0.0.1:${http.port}/`, failing: () => `http://127.0.0.1:${http.port}/fail`, hanging: () => `http://127.0.0.1:${http.port}/hang`, chatty: () => `http://127.0.0.1:${http.port}/big` },
  { kind: "https", probe: () => buildProbe("https").probe, healthy: { skip: "needs a TLS server; the https tests in unit/health/probes/http.test.ts cover it" }, failing: () => `127.0.0.1:${http.port}`, hanging: { skip: "needs a TLS server; covered by the http probe tests" }, chatty: { skip: "same code path as http" } },
  { kind: "tcp", probe: () => buildProbe("tcp", { send: "hi", expect: "ok" }).probe, healthy: () => `127.0.0.1:${tcp.port}`, failing: () => `127.0.0.1:${closedPort}`, hanging: () => `127.0.0.1:${silentTcp.port}`, chatty: () => `127.0.0.1:${tcp.port}` },
  { kind: "udp", probe: () => buildProbe("udp", { expect: "pong" }).probe, healthy: () => `127.0.0.1:${udp.port}`, failing: () => `127.0.0.1:${closedPort}`, hanging: () => `127.0.0.1:${udpMute.port}`, chatty: { skip: "replies are single datagrams, capped by the same capture" } },
  { kind: "grpc", probe: () => buildProbe("grpc").probe, healthy: () => `127.0.0.1:${grpcPort}`, failing: () => `127.0.0.1:${closedPort}`, hanging: () => `127.0.0.1:${silentTcp.port}`, chatty: { skip: "responses are capped by grpc.max_receive_message_length" } },
  { kind: "command", probe: () => buildProbe("command").probe, healthy: () => "true", failing: () => "exit 3", hanging: () => "sleep 30", chatty: () => `head -c ${3 * OUTPUT_CAP_BYTES} /dev/zero | tr '\\0' z` },
  { kind: "file", probe: () => buildProbe("file").probe, healthy: () => join(dir, "ok"), failing: () => join(dir, "missing"), hanging: { skip: "a local stat cannot hang in practice" }, chatty: { skip: "output is a fixed summary line" } },
  { kind: "ttl", probe: () => buildProbe("ttl", { ttlMs: 1000 }, ttlClock).probe, healthy: () => "", failing: () => "", hanging: { skip: "answers from memory" }, chatty: { skip: "notes are capped on push" } },
];

test("every registered kind has a conformance case", () => {
  expect(cases.map((c) => c.kind).sort()).toEqual([...PROBE_KINDS].sort());
});

for (const c of cases) {
  describe(`probe conformance: ${c.kind}`, () => {
    const healthy = c.healthy;
    if (typeof healthy === "function") {
      test("returns a well-formed passing result for a healthy target", async () => {
        let p = c.probe();
        if (c.kind === "ttl") {
          const built = buildProbe("ttl", { ttlMs: 1000 }, ttlClock);
          built.ttl!.push("pass");
          p = built.probe;
        }
        const r = await p(healthy(), AbortSignal.timeout(5000));
        expect(STATUSES).toContain(r.status);
        expect(r.status).toBe("passing");
        expect(typeof r.output).toBe("string");
        expect(Number.isFinite(r.latencyMs) && r.latencyMs >= 0).toBe(true);
      });
    } else test.skip(`returns a well-formed passing result (${healthy.skip})`, () => {});

    test("a failing target resolves critical instead of throwing", async () => {
      const r = await c.probe()(c.failing(), AbortSignal.timeout(5000));
      expect(r.status).toBe("critical");
    });

    test("malformed targets resolve critical instead of throwing", async () => {
      if (c.kind === "ttl") return; // the target is ignored
      for (const t of ["", "::::", "\u0000"]) {
        const r = await c.probe()(t, AbortSignal.timeout(2000));
        expect([t, r.status]).toEqual([t, "critical"]);
      }
    });

    test("an already aborted signal resolves critical", async () => {
      if (c.kind === "ttl") return; // answers from memory, never blocks
      const ac = new AbortController();
      ac.abort(new DOMException("timed out", "TimeoutError"));
      const target = typeof healthy === "function" ? healthy() : c.failing();
      expect((await c.probe()(target, ac.signal)).status).toBe("critical");
    });

    const hanging = c.hanging;
    if (typeof hanging === "function") {
      test("a target that never answers resolves critical once the signal aborts", async () => {
        const r = await c.probe()(hanging(), AbortSignal.timeout(150));
        expect(r.status).toBe("critical");
      });
    } else test.skip(`a target that never answers (${hanging.skip})`, () => {});

    const chatty = c.chatty;
    if (typeof chatty === "function") {
      test("output stays bounded and says what was cut", async () => {
        const r = await c.probe()(chatty(), AbortSignal.timeout(5000));
        expect(r.output.length).toBeLessThan(OUTPUT_CAP_BYTES + 300);
        expect(r.output).toMatch(/\(captured \d+ of (more than )?\d+ bytes\)/);
      });
    } else test.skip(`output stays bounded (${chatty.skip})`, () => {});
  });
}

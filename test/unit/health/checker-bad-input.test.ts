import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Status } from "../../../src/core/health/status.ts";
import type { CheckSpec } from "../../../src/health/check-spec.ts";
import { createChecker } from "../../../src/health/checker.ts";
import { createFakeClock } from "../../support/fake-clock.ts";
import { waitFor } from "../../support/wait-for.ts";

// Real probes against hostile or absent targets: nothing may escape the checker as an exception.
let huge: ReturnType<typeof Bun.serve>;
let silent: Bun.TCPSocketListener<undefined>;
let ok: Bun.TCPSocketListener<undefined>;
let closedPort: number;

beforeAll(() => {
  const chunk = new Uint8Array(256 * 1024);
  huge = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: () => new Response(new ReadableStream({ pull: (c) => c.enqueue(chunk) }), { headers: { "content-length": String(8 * 1024 ** 3) } }),
  });
  silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  ok = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const tmp = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  closedPort = tmp.port;
  tmp.stop(true);
});
afterAll(() => {
  huge.stop(true);
  silent.stop(true);
  ok.stop(true);
});

describe("checker with bad input", () => {
  test("invalid specs are refused with field names and schedule nothing", () => {
    const checker = createChecker({ clock: createFakeClock(0), summaryIntervalMs: 0 });
    const base = { target: "127.0.0.1:1", intervalMs: 1000, timeoutMs: 500 };
    expect(checker.add({ id: "a", kind: "carrier-pigeon", ...base })).toMatchObject({ ok: false, errors: [{ field: "kind" }] });
    expect(checker.add({ id: "b", kind: "tcp", ...base, intervalMs: 200, timeoutMs: 100 })).toMatchObject({ ok: false, errors: [{ field: "intervalMs" }] });
    expect(checker.add({ id: "c", kind: "tcp", ...base, timeoutMs: 1000 })).toMatchObject({ ok: false, errors: [{ field: "timeoutMs" }] });
    expect(checker.add({ id: "d", kind: "http", ...base, options: { bodyRegex: "(" } })).toMatchObject({ ok: false, errors: [{ field: "options.bodyRegex" }] });
    expect(checker.add({ id: "e", kind: "http", ...base, options: { expectedStatus: ["2xx"] } })).toMatchObject({ ok: false, errors: [{ field: "options.expectedStatus[0]" }] });
    expect(checker.add({ id: "f", kind: "ttl", ...base })).toMatchObject({ ok: false, errors: [{ field: "options.ttlMs" }] });
    expect(checker.size).toBe(0);
  });

  test("unreachable, malformed, silent and gigabyte targets all end critical while a good one passes", async () => {
    const clock = createFakeClock(0);
    const seen = new Map<string, { to: Status; output: string }>();
    const checker = createChecker({ clock, summaryIntervalMs: 0, onTransition: (id, _f, to, r) => seen.set(id, { to, output: r.output }) });
    const specs: CheckSpec[] = [
      { id: "good", kind: "tcp", target: `127.0.0.1:${ok.port}`, intervalMs: 1000, timeoutMs: 900 },
      { id: "refused", kind: "tcp", target: `127.0.0.1:${closedPort}`, intervalMs: 1000, timeoutMs: 900 },
      { id: "malformed-tcp", kind: "tcp", target: "not a target", intervalMs: 1000, timeoutMs: 900 },
      { id: "malformed-http", kind: "http", target: "http://[::1", intervalMs: 1000, timeoutMs: 900 },
      { id: "malformed-grpc", kind: "grpc", target: "::::", intervalMs: 1000, timeoutMs: 900 },
      { id: "silent-tcp", kind: "tcp", target: `127.0.0.1:${silent.port}`, intervalMs: 1000, timeoutMs: 300, options: { send: "hi", expect: "ok" } },
      { id: "silent-http", kind: "http", target: `127.0.0.1:${silent.port}`, intervalMs: 1000, timeoutMs: 300 },
      { id: "gigabytes", kind: "http", target: `127.0.0.1:${huge.port}`, intervalMs: 1000, timeoutMs: 900, options: { bodyContains: "needle" } },
      { id: "missing-file", kind: "file", target: "/nonexistent/health/file", intervalMs: 1000, timeoutMs: 900 },
      { id: "missing-command", kind: "command", target: "/nonexistent/cmd", intervalMs: 1000, timeoutMs: 900, options: { args: [] } },
    ];
    for (const s of specs) expect(checker.add(s)).toEqual({ ok: true });
    clock.advance(1000);
    expect(checker.tick()).toBe(specs.length);
    await waitFor(() => seen.size === specs.length, { what: "every check to report" });
    await checker.idle();
    expect(seen.get("good")!.to).toBe("passing");
    for (const s of specs.slice(1)) expect([s.id, seen.get(s.id)!.to]).toEqual([s.id, "critical"]);
    expect(seen.get("gigabytes")!.output).toMatch(/\(captured 4096 of (more than )?\d+ bytes\)$/);
  });
});

describe("checker real-clock loop", () => {
  test("start runs checks on its own and stop ends the loop", async () => {
    const seen: Status[] = [];
    const checker = createChecker({ summaryIntervalMs: 0, onTransition: (_id, _f, to) => seen.push(to) });
    try {
      checker.add({ id: "good", kind: "tcp", target: `127.0.0.1:${ok.port}`, intervalMs: 1000, timeoutMs: 500 });
      checker.start();
      checker.start();
      await waitFor(() => seen.length > 0, { what: "first result" });
      expect(seen[0]).toBe("passing");
    } finally {
      checker.stop();
      await checker.idle();
    }
  });
});

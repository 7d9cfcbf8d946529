import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createTcpProbe } from "../../../../src/health/probes/tcp.ts";

type Listener = Bun.TCPSocketListener<undefined>;
let echo: Listener;
let flood: Listener;
let silent: Listener;

beforeAll(() => {
  echo = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(s, d) {
        s.write(`+PONG ${new TextDecoder().decode(d)}`);
      },
    },
  });
  // Writes a large reply that never contains what the probe expects.
  flood = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.write(new Uint8Array(256 * 1024).fill(97));
      },
      data() {},
    },
  });
  silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
});
afterAll(() => {
  echo.stop(true);
  flood.stop(true);
  silent.stop(true);
});

const sig = (ms = 5000) => AbortSignal.timeout(ms);

describe("tcp probe", () => {
  test("a listening port passes on connect", async () => {
    const r = await createTcpProbe()(`127.0.0.1:${echo.port}`, sig());
    expect(r.status).toBe("passing");
  });

  test("send and expect: a matching reply passes", async () => {
    const r = await createTcpProbe({ send: "PING\r\n", expect: "+PONG" })(`127.0.0.1:${echo.port}`, sig());
    expect(r.status).toBe("passing");
    expect(r.output).toContain("+PONG");
  });

  test("a reply that never matches is cut at the cap and critical", async () => {
    const r = await createTcpProbe({ expect: "zzz", replyCapBytes: 8192 })(`127.0.0.1:${flood.port}`, sig());
    expect(r.status).toBe("critical");
    expect(r.output).toMatch(/captured 4096 of \d+ bytes/);
  });

  test("a server that never replies ends at the signal", async () => {
    const r = await createTcpProbe({ send: "hello", expect: "x" })(`127.0.0.1:${silent.port}`, sig(150));
    expect(r.status).toBe("critical");
    expect(r.output).toContain("timed out");
  });

  test("a closed port is critical", async () => {
    const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = l.port;
    l.stop(true);
    const r = await createTcpProbe()(`127.0.0.1:${port}`, sig());
    expect(r.status).toBe("critical");
  });

  test("malformed targets are critical without connecting", async () => {
    for (const t of ["", "localhost", "127.0.0.1:0", "127.0.0.1:70000", "a:b"]) {
      const r = await createTcpProbe()(t, sig());
      expect(r.status).toBe("critical");
      expect(r.output).toContain("invalid target");
    }
  });

  test("an already aborted signal resolves at once", async () => {
    const ac = new AbortController();
    ac.abort();
    expect((await createTcpProbe()(`127.0.0.1:${echo.port}`, ac.signal)).status).toBe("critical");
  });
});

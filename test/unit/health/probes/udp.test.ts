import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createUdpProbe } from "../../../../src/health/probes/udp.ts";

let server: Bun.udp.Socket<"buffer">;
let mute: Bun.udp.Socket<"buffer">;

beforeAll(async () => {
  server = await Bun.udpSocket({
    hostname: "127.0.0.1",
    socket: {
      data(s, buf, port, addr) {
        s.send(`pong:${new TextDecoder().decode(buf)}`, port, addr);
      },
    },
  });
  mute = await Bun.udpSocket({ hostname: "127.0.0.1", socket: { data() {} } });
});
afterAll(() => {
  server.close();
  mute.close();
});

describe("udp probe", () => {
  test("a reply containing the expected text passes", async () => {
    const r = await createUdpProbe({ payload: "hi", expect: "pong:hi" })(`127.0.0.1:${server.port}`, AbortSignal.timeout(5000));
    expect(r.status).toBe("passing");
  });

  test("a reply without the expected text does NOT pass", async () => {
    const r = await createUdpProbe({ payload: "hi", expect: "other" })(`127.0.0.1:${server.port}`, AbortSignal.timeout(200));
    expect(r.status).toBe("critical");
  });

  test("silence ends at the signal as critical", async () => {
    const r = await createUdpProbe({ expect: "x" })(`127.0.0.1:${mute.port}`, AbortSignal.timeout(150));
    expect(r.status).toBe("critical");
    expect(r.output).toContain("no matching reply");
  });

  test("malformed targets are critical", async () => {
    const r = await createUdpProbe()("nope", AbortSignal.timeout(1000));
    expect(r.status).toBe("critical");
  });
});

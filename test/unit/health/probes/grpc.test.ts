import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { createGrpcProbe, decodeHealthResponse, encodeHealthRequest } from "../../../../src/health/probes/grpc.ts";

let server: grpc.Server;
let health: HealthImplementation;
let target: string;

beforeAll(async () => {
  server = new grpc.Server();
  health = new HealthImplementation({ "": "SERVING", "shop.Cart": "SERVING" });
  health.addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  target = `127.0.0.1:${port}`;
});
afterAll(() => server.forceShutdown());

const sig = (ms = 5000) => AbortSignal.timeout(ms);

describe("grpc probe", () => {
  test("SERVING passes", async () => {
    const r = await createGrpcProbe()(target, sig());
    expect(r.status).toBe("passing");
    expect(r.output).toContain("SERVING");
  });

  test("a service flipped to NOT_SERVING is critical, and passes again when flipped back", async () => {
    const probe = createGrpcProbe({ service: "shop.Cart" });
    health.setStatus("shop.Cart", "NOT_SERVING");
    const down = await probe(target, sig());
    expect(down.status).toBe("critical");
    expect(down.output).toContain("NOT_SERVING");
    health.setStatus("shop.Cart", "SERVING");
    expect((await probe(target, sig())).status).toBe("passing");
  });

  test("an unknown service is critical", async () => {
    const r = await createGrpcProbe({ service: "no.Such" })(target, sig());
    expect(r.status).toBe("critical");
  });

  test("nothing listening is critical", async () => {
    const r = await createGrpcProbe()("127.0.0.1:1", sig(2000));
    expect(r.status).toBe("critical");
  });

  test("a TCP server that never speaks HTTP/2 ends at the signal", async () => {
    const mute = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const r = await createGrpcProbe()(`127.0.0.1:${mute.port}`, sig(200));
      expect(r.status).toBe("critical");
    } finally {
      mute.stop(true);
    }
  });

  test("request and response encoding round-trips field 1", () => {
    expect(encodeHealthRequest("")).toHaveLength(0);
    expect([...encodeHealthRequest("ab")]).toEqual([0x0a, 2, 97, 98]);
    expect(decodeHealthResponse(Buffer.from([0x08, 0x01]))).toBe(1);
    expect(decodeHealthResponse(Buffer.from([]))).toBe(0);
  });
});

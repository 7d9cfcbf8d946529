import { describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { createTcpProxy } from "../../../src/balancer/tcp-proxy.ts";
import { createGrpcProbe } from "../../../src/health/probes/grpc.ts";
import { roundRobinPool } from "./support.ts";

async function grpcServer() {
  const server = new grpc.Server();
  const health = new HealthImplementation({ "": "SERVING" });
  health.addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, health, port };
}

describe("gRPC through the TCP balancer (HTTP/2 passthrough, balanced per connection)", () => {
  test("a gRPC health call reaches an upstream through the proxy, and new connections rotate across upstreams", async () => {
    const a = await grpcServer();
    const b = await grpcServer();
    const pool = roundRobinPool([a.port, b.port]);
    const proxy = createTcpProxy({ hostname: "127.0.0.1", port: 0, pool });
    try {
      // Each probe opens its own connection, so each is one balancing decision.
      const probe = createGrpcProbe();
      for (let i = 0; i < 4; i++) {
        const r = await probe(`127.0.0.1:${proxy.port}`, AbortSignal.timeout(5000));
        expect(r.status).toBe("passing");
      }
      expect(new Set(pool.picks)).toEqual(new Set([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]));
      // Contrast: a NOT_SERVING upstream is seen through the proxy as such (bytes pass untouched).
      a.health.setStatus("", "NOT_SERVING");
      b.health.setStatus("", "NOT_SERVING");
      expect((await probe(`127.0.0.1:${proxy.port}`, AbortSignal.timeout(5000))).status).toBe("critical");
    } finally {
      proxy.close();
      a.server.forceShutdown();
      b.server.forceShutdown();
    }
  });
});

// gRPC through the compiled agent's HTTP balancer (upstream_protocol h2c) to app replicas with gRPC health checks:
// one client connection's calls reach every replica, and a scale-down (endpoint drained, replica stopped with
// GOAWAY) fails no call.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { freePort, portRange } from "../fixtures/it-apps-fixture.ts";
import { type RunningAgent, startAgent } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";
import { getJson, send } from "./api-support.ts";

const FIXTURE = join(import.meta.dir, "../fixtures/grpc-echo-fixture.ts");
const raw = { requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b };
const Echo = grpc.makeGenericClientConstructor({ unary: { path: "/test.Echo/Unary", requestStream: false, responseStream: false, ...raw } } as unknown as grpc.ServiceDefinition, "Echo");

function call(c: grpc.Client, text: string): Promise<{ value?: string; code?: number }> {
  return new Promise((resolve) => (c as unknown as { unary: Function }).unary(Buffer.from(text), { deadline: Date.now() + 10_000 }, (e: grpc.ServiceError | null, v: Buffer) => resolve(e ? { code: e.code } : { value: v.toString() })));
}

describe("gRPC balanced per call by the running agent", () => {
  let agent: RunningAgent;
  let port: number;
  beforeAll(async () => {
    port = freePort();
    agent = await startAgent({
      config: {
        apps: [
          {
            name: "echo",
            command: process.execPath,
            args: [FIXTURE],
            replicas: { min: 1, max: 3 },
            port: { range: portRange() },
            readiness: { kind: "port", timeout: "10s" },
            stop: { timeout: "5s" },
            checks: [{ name: "grpc", kind: "grpc", interval: "1s", timeout: "500ms" }],
          },
        ],
        balancers: [{ name: "g", listen: `127.0.0.1:${port}`, upstream_protocol: "h2c", backends: { app: "echo" } }],
      },
    });
    expect((await send(agent, "POST", "/v1/apps/echo/scale", { replicas: 3 })).status).toBe(202);
    await waitFor(async () => (await getJson(agent, "/v1/services/default/echo")).endpoints?.filter((e: { health: string }) => e.health === "passing").length === 3, { timeoutMs: 30_000, what: "3 passing gRPC endpoints" });
  }, 60_000);
  afterAll(async () => {
    await agent?.[Symbol.asyncDispose]();
  }, 60_000);

  test("one grpc-js connection's 300 calls reach all 3 replicas (per-call balancing), and a scale-down to 2 fails none", async () => {
    const c = new Echo(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const seen = new Map<string, number>();
      for (let i = 0; i < 30; i++) {
        const rs = await Promise.all(Array.from({ length: 10 }, (_, j) => call(c, `m${i * 10 + j}`)));
        for (const r of rs) {
          expect(r.code).toBeUndefined();
          const who = r.value!.split(":")[0]!;
          seen.set(who, (seen.get(who) ?? 0) + 1);
        }
      }
      expect(seen.size).toBe(3);
      for (const n of seen.values()) expect(n).toBeGreaterThanOrEqual(60);
      // Scale-down under load: the supervisor drains the endpoint, then stops the replica (SIGTERM: GOAWAY).
      let failed = 0;
      let ok = 0;
      let running = true;
      const loops = Array.from({ length: 4 }, async () => {
        while (running) {
          const r = await call(c, "loop");
          if (r.code !== undefined) failed++;
          else ok++;
        }
      });
      await waitFor(() => ok > 50, { what: "calls flowing" });
      expect((await send(agent, "POST", "/v1/apps/echo/scale", { replicas: 2 })).status).toBe(202);
      await waitFor(async () => (await getJson(agent, "/v1/apps/echo")).replicas.length === 2, { timeoutMs: 20_000, what: "2 replicas" });
      const after = ok;
      await waitFor(() => ok > after + 100, { what: "calls after the scale-down" });
      running = false;
      await Promise.all(loops);
      expect(failed).toBe(0);
    } finally {
      c.close();
    }
  }, 60_000);
});

// DNS answers from the running agent's catalog, asked with the real dig on a port the test picked.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import type { RunningAgent } from "../support/agent.ts";
import { waitFor } from "../support/wait-for.ts";
import { freePort, getJson, type Json, send, startDemoAgent } from "./api-support.ts";

const DIG = "/usr/bin/dig";
const HAVE_DIG = existsSync(DIG);
if (!HAVE_DIG) console.warn(`skipping DNS integration tests: ${DIG} is missing (apt-get install dnsutils)`);

describe.skipIf(!HAVE_DIG)("DNS through the running agent (real dig)", () => {
  let agent: RunningAgent;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    agent = await startDemoAgent({ config: { dns: { listen: `127.0.0.1:${port}`, ttl: "0s" } } });
    const put = await send(agent, "PUT", "/v1/services/shop/cart", {
      endpoints: [
        { id: "a", address: "127.0.0.2", port: 7001, weight: 3, health: "passing" },
        { id: "b", address: "127.0.0.3", port: 7002, weight: 1, health: "passing" },
        { id: "sick", address: "127.0.0.4", port: 7003, weight: 1, health: "critical" },
      ],
    });
    expect(put.status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await agent?.[Symbol.asyncDispose]();
  }, 60_000);

  async function dig(...args: string[]): Promise<string> {
    const p = Bun.spawn([DIG, "@127.0.0.1", "-p", String(port), "+time=2", "+tries=2", ...args], { stdout: "pipe", stderr: "pipe" });
    const out = await new Response(p.stdout).text();
    await p.exited;
    return out;
  }
  const lines = (s: string) => s.split("\n").map((l) => l.trim()).filter(Boolean).sort();
  const status = (s: string) => /status: ([A-Z]+)/.exec(s)?.[1];

  test("the agent logs the DNS port it was told to use", () => {
    expect(agent.lines.some((l) => l.msg === "DNS listening" && l.udp === `127.0.0.1:${port}`)).toBe(true);
  }, 60_000);

  test("demo.polis. answers A with the address of the app's replicas", async () => {
    expect(lines(await dig("+short", "demo.polis.", "A"))).toContain("127.0.0.1");
    expect(status(await dig("demo.polis.", "A"))).toBe("NOERROR");
  }, 60_000);

  test("NAME.NAMESPACE.polis. answers A with the passing endpoints only", async () => {
    expect(lines(await dig("+short", "cart.shop.polis.", "A"))).toEqual(["127.0.0.2", "127.0.0.3"]);
  }, 60_000);

  test("SRV carries each endpoint's port and weight", async () => {
    const srv = lines(await dig("+short", "_cart._tcp.shop.polis.", "SRV")).map((l) => l.split(/\s+/));
    // priority weight port target
    const byPort = new Map(srv.map(([, weight, p]) => [Number(p), Number(weight)]));
    expect(byPort).toEqual(new Map([[7001, 3], [7002, 1]]));
    const demo = lines(await dig("+short", "_demo._tcp.polis.", "SRV")).map((l) => Number(l.split(/\s+/)[2]));
    const ports = ((await getJson(agent, "/v1/services/default/demo")).endpoints as Json[]).map((e) => e.port);
    expect(demo.sort()).toEqual(ports.sort());
  }, 60_000);

  test("an unknown name is NXDOMAIN", async () => {
    expect(status(await dig("nosuchservice.polis.", "A"))).toBe("NXDOMAIN");
    expect(status(await dig("cart.nosuchns.polis.", "A"))).toBe("NXDOMAIN");
  }, 60_000);

  test("a service registered while running shows up, and disappears when deregistered", async () => {
    await send(agent, "PUT", "/v1/services/shop/late", { endpoints: [{ address: "127.0.0.9", port: 7009 }] });
    await waitFor(async () => lines(await dig("+short", "late.shop.polis.", "A")).includes("127.0.0.9"), { what: "new service in DNS" });
    await send(agent, "DELETE", "/v1/services/shop/late");
    await waitFor(async () => status(await dig("late.shop.polis.", "A")) === "NXDOMAIN", { what: "service gone from DNS" });
  }, 60_000);
});

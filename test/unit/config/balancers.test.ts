import { describe, expect, test } from "bun:test";
import { toBalancerSpec } from "../../../src/config/balancers.ts";
import { decodeConfig } from "../../../src/config/load.ts";

const decode = (raw: unknown) => {
  const r = decodeConfig(raw, "test");
  if (!r.ok) throw new Error(JSON.stringify(r.error.problems));
  return r.config;
};

const app = (name: string, replicas: unknown) => ({ name, command: "true", replicas, port: { range: [20000, 20009] } });

describe("config -> balancer spec", () => {
  test.each([
    ["an app that scales to zero holds first requests 30 s", { min: 0, max: 2 }, undefined, 30_000],
    ["an app with a floor above zero does not hold", { min: 1, max: 2 }, undefined, 0],
    ["a fixed count does not hold", 2, undefined, 0],
    ["an explicit hold_when_empty wins", { min: 0, max: 2 }, "5s", 5000],
  ])("%s", (_, replicas, hold, expected) => {
    const config = decode({ apps: [app("web", replicas)], balancers: [{ name: "front", listen: "127.0.0.1:0", backends: { app: "web" }, ...(hold ? { hold_when_empty: hold } : {}) }] });
    expect(toBalancerSpec(config.balancers[0]!, config, 2).hold_when_empty).toBe(expected);
  });

  test("the spec carries durations in ms and leaves where endpoints come from to the supervisor", () => {
    const config = decode({ balancers: [{ name: "front", listen: "127.0.0.1:0", timeouts: { connect: "1s" }, sticky: { cookie: "s" }, backends: { endpoints: [{ address: "127.0.0.1:1" }] } }] });
    const spec = toBalancerSpec(config.balancers[0]!, config, 2);
    expect(spec.timeouts.connect).toBe(1000);
    expect(spec.sticky).toEqual({ cookie: "s" });
    expect("backends" in spec).toBe(false);
  });
});

describe("consistent-hashing settings", () => {
  const balancer = (extra: object) => ({ balancers: [{ name: "front", listen: "127.0.0.1:0", backends: { endpoints: [{ address: "127.0.0.1:1" }] }, ...extra }] });
  const problems = (raw: unknown) => {
    const r = decodeConfig(raw, "test");
    return r.ok ? [] : r.error.problems.map((p) => `${p.path}: ${p.message}`);
  };

  test("defaults reach the spec, and a bounded-load factor only when set", () => {
    const config = decode(balancer({ algorithm: "maglev" }));
    const spec = toBalancerSpec(config.balancers[0]!, config, 2);
    expect(spec.ring_hash).toEqual({ points_per_weight: 4096, max_points: 4194304 });
    expect(spec.maglev).toEqual({ table_size: 65537 });
    expect("hash_balance_factor" in spec).toBe(false);
    const bounded = decode(balancer({ algorithm: "consistent_hash", hash_balance_factor: 1.25, ring_hash: { points_per_weight: 16384 } }));
    const s2 = toBalancerSpec(bounded.balancers[0]!, bounded, 2);
    expect(s2.hash_balance_factor).toBe(1.25);
    expect(s2.ring_hash.points_per_weight).toBe(16384);
  });

  test.each([
    ["a factor below 1", { algorithm: "maglev", hash_balance_factor: 0.8 }, "balancers[0].hash_balance_factor"],
    ["a factor on a policy that is not consistent hashing", { algorithm: "round_robin", hash_balance_factor: 1.25 }, "balancers[0].hash_balance_factor: bounded loads apply to consistent_hash and maglev, not round_robin"],
    ["a table size that is not prime", { algorithm: "maglev", maglev: { table_size: 65536 } }, "balancers[0].maglev.table_size: must be a prime"],
    ["a table too small for 100 slots an endpoint", { maglev: { table_size: 13 } }, "balancers[0].maglev.table_size"],
    ["a ring density of 0", { ring_hash: { points_per_weight: 0 } }, "balancers[0].ring_hash.points_per_weight"],
  ])("refuses %s, naming the field", (_, extra, where) => {
    expect(problems(balancer(extra)).some((p) => p.startsWith(where))).toBe(true);
  });
});

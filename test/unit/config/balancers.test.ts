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

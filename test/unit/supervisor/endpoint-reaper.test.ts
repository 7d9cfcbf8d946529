import { describe, expect, test } from "bun:test";
import { createCatalog } from "../../../src/state/catalog.ts";
import type { EventInput } from "../../../src/state/event-bus.ts";
import { createCriticalReaper } from "../../../src/supervisor/endpoint-reaper.ts";
import { createFakeClock } from "../../support/fake-clock.ts";

const ep = (id: string) => ({ id, address: "127.0.0.1", port: 1, protocol: "http" as const, weight: 1, metadata: {}, health: "critical" as const });

function setup(after: number | undefined) {
  const clock = createFakeClock(1_000_000);
  const catalog = createCatalog({ now: clock.now });
  const events: EventInput[] = [];
  catalog.upsertService({ name: "reg", namespace: "default", labels: {}, annotations: {}, endpoints: [ep("r1")] }, "api");
  catalog.upsertService({ name: "static", namespace: "default", labels: {}, annotations: {}, endpoints: [ep("s1")] }, "config");
  catalog.upsertService({ name: "web", namespace: "default", labels: {}, annotations: {}, endpoints: [ep("web-0")] }, "app");
  const reaper = createCriticalReaper({ catalog, publish: (e) => events.push(e), afterMs: () => after, now: clock.now });
  return { clock, catalog, events, reaper };
}

describe("critical-endpoint reaper", () => {
  test("an API-registered endpoint critical for longer than the bound is deregistered, with an event", () => {
    const s = setup(60_000);
    expect(s.reaper.sweep()).toEqual([]);
    s.clock.advance(60_001);
    expect(s.reaper.sweep()).toEqual(["default/reg/r1"]);
    expect(s.catalog.get("default", "reg")!.endpoints).toEqual([]);
    expect(s.events.map((e) => [e.type, e.target])).toEqual([["endpoint.deregistered", "default/reg/r1"]]);
  });

  test("config and app endpoints are never reaped, however long they are critical", () => {
    const s = setup(1000);
    s.clock.advance(10_000_000);
    s.reaper.sweep();
    expect(s.catalog.get("default", "static")!.endpoints.length).toBe(1);
    expect(s.catalog.get("default", "web")!.endpoints.length).toBe(1);
  });

  test("without a bound nothing is reaped", () => {
    const s = setup(undefined);
    s.clock.advance(10_000_000);
    expect(s.reaper.sweep()).toEqual([]);
    expect(s.catalog.get("default", "reg")!.endpoints.length).toBe(1);
  });

  test("stop is idempotent and fine before start", () => {
    const s = setup(1000);
    s.reaper.stop();
    s.reaper.start(60_000);
    s.reaper.stop();
    s.reaper.stop();
  });
});

import { describe, expect, test } from "bun:test";
import { type CatalogChange, createCatalog, matchesSelector, parseSelector } from "../../../src/state/catalog.ts";

const ep = (id: string, port: number) => ({ id, address: "127.0.0.1", port, protocol: "http" as const, weight: 1, metadata: {} });

describe("service catalog", () => {
  test("registration, endpoint changes and health each bump the version and emit one change", () => {
    let t = 1000;
    const c = createCatalog({ now: () => t });
    const changes: CatalogChange["kind"][] = [];
    c.onChange((ch) => changes.push(ch.kind));
    c.upsertService({ name: "web", namespace: "default", labels: { tier: "front" }, annotations: {}, endpoints: [ep("a", 1), ep("b", 2)] }, "config");
    t = 2000;
    expect(c.setHealth("default", "web", "a", "critical", "down")).toBe(true);
    expect(c.setHealth("default", "web", "a", "critical")).toBe(true); // no change, no event
    c.removeEndpoint("default", "web", "b");
    expect(changes).toEqual(["service.registered", "endpoint.added", "endpoint.added", "endpoint.health", "endpoint.removed"]);
    expect(c.version).toBe(5);
    expect(c.get("default", "web")!.endpoints[0]).toMatchObject({ id: "a", health: "critical", healthSince: 2000, output: "down" });
  });

  test("resolve answers passing and warning endpoints, not critical ones, unless asked for all", () => {
    const c = createCatalog();
    c.upsertService({ name: "db", namespace: "prod", labels: {}, annotations: {}, endpoints: [ep("p", 1), ep("w", 2), ep("c", 3)] }, "api");
    c.setHealth("prod", "db", "w", "warning");
    c.setHealth("prod", "db", "c", "critical");
    expect(c.resolve("db", "prod")!.map((e) => e.id)).toEqual(["p", "w"]);
    expect(c.resolve("db", "prod", { onlyPassing: true })!.map((e) => e.id)).toEqual(["p"]);
    expect(c.resolve("db", "prod", { all: true })!.length).toBe(3);
    expect(c.resolve("db", "default")).toBeUndefined();
  });

  test("re-registering a service with fewer endpoints removes the missing ones and keeps health of the rest", () => {
    const c = createCatalog();
    c.upsertService({ name: "s", namespace: "default", labels: {}, annotations: {}, endpoints: [ep("a", 1), ep("b", 2)] }, "api");
    c.setHealth("default", "s", "a", "warning");
    c.upsertService({ name: "s", namespace: "default", labels: {}, annotations: {}, endpoints: [ep("a", 1)] }, "api");
    expect(c.get("default", "s")!.endpoints.map((e) => [e.id, e.health])).toEqual([["a", "warning"]]);
  });

  test("criticalSince lists endpoints critical for longer than the bound", () => {
    let t = 0;
    const c = createCatalog({ now: () => t });
    c.upsertService({ name: "s", namespace: "default", labels: {}, annotations: {}, endpoints: [ep("a", 1), ep("b", 2)] }, "api");
    t = 100;
    c.setHealth("default", "s", "a", "critical");
    t = 500;
    c.setHealth("default", "s", "b", "critical");
    expect(c.criticalSince(200)).toEqual([{ namespace: "default", name: "s", id: "a" }]);
  });

  const selectors: Array<[string, Record<string, string>, boolean]> = [
    ["app=web", { app: "web" }, true],
    ["app=web", { app: "api" }, false],
    ["app!=web", { app: "api" }, true],
    ["app==web,tier=front", { app: "web", tier: "front" }, true],
    ["canary", { canary: "" }, true],
    ["!legacy", { legacy: "yes" }, false],
  ];
  test.each(selectors)("selector %s on %j -> %s", (sel, labels, expected) => {
    expect(matchesSelector(labels, parseSelector(sel))).toBe(expected);
  });

  test("a malformed selector is an error, not a silent match", () => {
    expect(() => parseSelector("app=web,=x")).toThrow(/invalid label selector/);
    expect(() => parseSelector("!app=web")).toThrow(/invalid label selector/);
  });
});

describe("operator overrides in the catalog", () => {
  test("a drain and a weight set by the operator outlive the endpoint's removal and come back with it", () => {
    const saved: unknown[] = [];
    const c = createCatalog({ persist: (o) => void saved.push(o) });
    c.upsertService({ name: "web", namespace: "default", labels: {}, annotations: {} }, "app");
    c.upsertEndpoint("default", "web", ep("web-0", 9000));
    c.setEndpointOverride("default", "web", "web-0", { draining: true });
    c.setEndpointOverride("default", "web", "web-0", { weight: 7 });
    expect(c.get("default", "web")?.endpoints[0]).toMatchObject({ draining: true, weight: 7 });
    c.removeEndpoint("default", "web", "web-0");
    c.upsertEndpoint("default", "web", ep("web-0", 9001));
    expect(c.get("default", "web")?.endpoints[0]).toMatchObject({ port: 9001, draining: true, weight: 7 });
    expect(saved.at(-1)).toEqual({ "default/web": { endpoints: { "web-0": { draining: true, weight: 7 } } } });
  });

  test("overrides handed to a new catalog apply to endpoints as they appear (a restarted agent)", () => {
    const c = createCatalog({ overrides: { "default/web": { endpoints: { "web-1": { weight: 3 } }, maintenance: { since: 5, reason: "r" } } } });
    c.upsertService({ name: "web", namespace: "default", labels: {}, annotations: {}, endpoints: [ep("web-1", 9000)] }, "app");
    expect(c.get("default", "web")?.endpoints[0]?.weight).toBe(3);
    expect(c.get("default", "web")?.maintenance).toEqual({ since: 5, reason: "r" });
    expect(c.resolve("web", "default")).toEqual([]);
    expect(c.resolve("web", "default", { all: true })?.length).toBe(1);
  });

  test("contrast: a drain the agent does itself (rolling restart) is gone once the endpoint is", () => {
    const c = createCatalog();
    c.upsertService({ name: "web", namespace: "default", labels: {}, annotations: {} }, "app");
    c.upsertEndpoint("default", "web", ep("web-0", 9000));
    c.setDraining("default", "web", "web-0", true);
    c.removeEndpoint("default", "web", "web-0");
    c.upsertEndpoint("default", "web", ep("web-0", 9000));
    expect(c.get("default", "web")?.endpoints[0]?.draining).toBe(false);
  });

  test("an override that cannot be persisted changes nothing", () => {
    const c = createCatalog({ persist: () => { throw new Error("disk full"); } });
    c.upsertService({ name: "web", namespace: "default", labels: {}, annotations: {} }, "app");
    c.upsertEndpoint("default", "web", ep("web-0", 9000));
    expect(() => c.setEndpointOverride("default", "web", "web-0", { weight: 9 })).toThrow("disk full");
    expect(() => c.setMaintenance("default", "web", { since: 1 })).toThrow("disk full");
    expect(c.get("default", "web")?.endpoints[0]?.weight).toBe(1);
    expect(c.maintenance("default", "web")).toBeUndefined();
  });
});

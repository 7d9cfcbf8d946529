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

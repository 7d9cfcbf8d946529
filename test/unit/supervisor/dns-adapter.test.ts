import { describe, expect, test } from "bun:test";
import { createCatalog } from "../../../src/state/catalog.ts";
import { catalogDnsView } from "../../../src/supervisor/dns-adapter.ts";

describe("DNS view of the catalog", () => {
  const catalog = createCatalog();
  catalog.upsertService(
    {
      name: "Web",
      namespace: "default",
      labels: {},
      annotations: {},
      endpoints: [
        { id: "a", address: "127.0.0.1", port: 1001, protocol: "http", weight: 5, metadata: {} },
        { id: "b", address: "127.0.0.2", port: 1002, protocol: "http", weight: 5, metadata: {}, health: "critical" },
      ],
    },
    "config",
  );
  const view = catalogDnsView(catalog);

  test("resolves a service by its lower-cased name with every endpoint and its health", () => {
    expect(view.resolve("web", "default")?.endpoints).toEqual([
      { id: "a", address: "127.0.0.1", port: 1001, weight: 5, health: "passing" },
      { id: "b", address: "127.0.0.2", port: 1002, weight: 5, health: "critical" },
    ]);
  });

  test("a draining endpoint is answered with weight 0", () => {
    catalog.setDraining("default", "Web", "a", true);
    expect(view.resolve("web", "default")?.endpoints[0]!.weight).toBe(0);
  });

  test("an unknown service or namespace resolves to undefined (NXDOMAIN)", () => {
    expect(view.resolve("nope", "default")).toBeUndefined();
    expect(view.resolve("web", "other")).toBeUndefined();
  });

  test("the version follows the catalog's, so the answer cache is invalidated by any change", () => {
    const before = view.version;
    catalog.setWeight("default", "Web", "b", 7);
    expect(view.version).not.toBe(before);
    expect(view.version).toBe(catalog.version);
  });
});

describe("node-local DNS view", () => {
  test("NAME.NODE.node answers only that node's endpoints; this node's own under its name; an unknown node is NXDOMAIN", () => {
    const catalog = createCatalog();
    catalog.upsertService({ name: "web", namespace: "default", labels: {}, annotations: {}, endpoints: [{ id: "l", address: "10.0.0.1", port: 1, protocol: "http", weight: 1, metadata: {} }] }, "app");
    catalog.applyRemote([{ namespace: "default", service: "web", labels: {}, endpoint: { id: "r", address: "10.0.0.2", port: 2, protocol: "http", weight: 3, metadata: {}, health: "passing", draining: false, node: "Edge-2", zone: "" } }], [], false);
    const view = catalogDnsView(catalog, "Edge-1");
    expect(view.resolve("web", "default")?.endpoints.map((e) => e.address)).toEqual(["10.0.0.1", "10.0.0.2"]);
    expect(view.resolve("web", "default", "edge-1")?.endpoints.map((e) => e.address)).toEqual(["10.0.0.1"]);
    expect(view.resolve("web", "default", "edge-2")?.endpoints.map((e) => [e.address, e.weight])).toEqual([["10.0.0.2", 3]]);
    expect(view.resolve("web", "default", "edge-3")).toBeUndefined();
  });
});

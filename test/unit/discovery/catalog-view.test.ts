import { describe, expect, test } from "bun:test";
import { createMemoryCatalogView, isAnswerable, type EndpointHealth } from "../../../src/discovery/catalog-view.ts";

describe("catalog view", () => {
  const table: [EndpointHealth, boolean, boolean][] = [
    ["passing", false, true],
    ["warning", false, true],
    ["critical", false, false],
    ["passing", true, true],
    ["warning", true, false],
    ["critical", true, false],
  ];
  for (const [health, onlyPassing, answered] of table) {
    test(`${health} with onlyPassing=${onlyPassing} -> answered=${answered}`, () => {
      expect(isAnswerable(health, onlyPassing)).toBe(answered);
    });
  }

  test("the memory view resolves case-insensitively and bumps its version on every change", () => {
    const view = createMemoryCatalogView();
    const v0 = view.version;
    view.set("Web", "Default", [{ id: "a", address: "10.0.0.1", port: 1, weight: 1, health: "passing" }]);
    expect(view.version).not.toBe(v0);
    expect(view.resolve("web", "default")?.endpoints.map((e) => e.id)).toEqual(["a"]);
    const v1 = view.version;
    view.remove("web", "default");
    expect(view.version).not.toBe(v1);
    expect(view.resolve("web", "default")).toBeUndefined();
  });

  test("removing an unknown service does NOT change the version (the cache stays warm)", () => {
    const view = createMemoryCatalogView();
    const v = view.version;
    view.remove("ghost", "default");
    expect(view.version).toBe(v);
  });
});

import { describe, expect, test } from "bun:test";
import { type CatalogChange, createCatalog, type RemoteEndpointInput } from "../../../src/state/catalog.ts";

const remote = (node: string, id: string, extra: Partial<RemoteEndpointInput["endpoint"]> = {}, service = "web"): RemoteEndpointInput => ({
  namespace: "default",
  service,
  labels: { app: service },
  endpoint: { id, address: `10.0.0.${node.length}`, port: 8080, protocol: "http", weight: 1, metadata: {}, health: "passing", draining: false, node, zone: "z1", ...extra },
});

describe("catalog remote layer", () => {
  test("a service known only from other nodes is created with source cluster and goes with its last endpoint", () => {
    const c = createCatalog();
    c.applyRemote([remote("b", "web-0")], [], false);
    expect(c.get("default", "web")).toMatchObject({ source: "cluster", labels: { app: "web" } });
    expect(c.get("default", "web")!.endpoints.map((e) => [e.id, e.node, e.zone])).toEqual([["web-0@b", "b", "z1"]]);
    c.applyRemote([], [{ namespace: "default", service: "web", id: "web-0@b" }], false);
    expect(c.get("default", "web")).toBeUndefined();
  });

  test("remote endpoints survive a local re-sync of the same service and sit after the local ones", () => {
    const c = createCatalog();
    c.upsertService({ name: "web", namespace: "default", labels: {}, annotations: {}, endpoints: [{ id: "web-0", address: "127.0.0.1", port: 1, protocol: "http", weight: 1, metadata: {} }] }, "app");
    c.applyRemote([remote("b", "web-0")], [], false);
    c.upsertService({ name: "web", namespace: "default", labels: {}, annotations: {}, endpoints: [{ id: "web-1", address: "127.0.0.1", port: 2, protocol: "http", weight: 1, metadata: {} }] }, "app");
    expect(c.get("default", "web")!.endpoints.map((e) => e.id)).toEqual(["web-1", "web-0@b"]);
    expect(c.resolve("web", "default")!.map((e) => e.id)).toEqual(["web-1", "web-0@b"]);
  });

  test("local health, drains and the reaper do not touch remote endpoints", () => {
    const c = createCatalog();
    c.applyRemote([remote("b", "web-0", { health: "critical" })], [], false);
    expect(c.setHealth("default", "web", "web-0@b", "passing")).toBe(false);
    expect(c.setDraining("default", "web", "web-0@b", true)).toBe(false);
    expect(c.criticalSince(Date.now() + 1)).toEqual([]);
    expect(c.resolve("web", "default")).toEqual([]);
  });

  test("an owner's health change is published as endpoint.health", () => {
    const c = createCatalog();
    c.applyRemote([remote("b", "web-0")], [], false);
    const seen: CatalogChange[] = [];
    c.onChange((x) => seen.push(x));
    c.applyRemote([remote("b", "web-0", { health: "critical" })], [], false);
    c.applyRemote([remote("b", "web-0", { health: "critical" })], [], false);
    expect(seen.map((x) => x.kind)).toEqual(["endpoint.health"]);
  });

  test("a full apply replaces the whole remote layer", () => {
    const c = createCatalog();
    c.applyRemote([remote("b", "web-0"), remote("c", "web-0"), remote("c", "db-0", {}, "db")], [], false);
    c.applyRemote([remote("c", "web-0")], [], true);
    expect(c.get("default", "web")!.endpoints.map((e) => e.id)).toEqual(["web-0@c"]);
    expect(c.get("default", "db")).toBeUndefined();
  });

  test("a remote copy of a local endpoint (same address and port) is listed once", () => {
    const c = createCatalog();
    c.upsertService({ name: "web", namespace: "default", labels: {}, annotations: {}, endpoints: [{ id: "x", address: "10.0.0.1", port: 8080, protocol: "http", weight: 1, metadata: {} }] }, "config");
    c.applyRemote([remote("b", "x")], [], false);
    expect(c.get("default", "web")!.endpoints.map((e) => e.id)).toEqual(["x"]);
  });

  test("removing the local service keeps it as a cluster service while other nodes serve it", () => {
    const c = createCatalog();
    c.upsertService({ name: "web", namespace: "default", labels: {}, annotations: {}, endpoints: [{ id: "web-0", address: "127.0.0.1", port: 1, protocol: "http", weight: 1, metadata: {} }] }, "app");
    c.applyRemote([remote("b", "web-0")], [], false);
    expect(c.removeService("default", "web")).toBe(true);
    expect(c.get("default", "web")).toMatchObject({ source: "cluster" });
    expect(c.get("default", "web")!.endpoints.map((e) => e.id)).toEqual(["web-0@b"]);
    // Only the cluster link removes a cluster service (through applyRemote).
    expect(c.removeService("default", "web")).toBe(false);
  });
});

import { describe, expect, test } from "bun:test";
import { createCatalog, type CatalogChange } from "../../../src/state/catalog.ts";
import { catalogChangeEvent, logLevelOf, workerStateEvent } from "../../../src/supervisor/event-translation.ts";
import type { WorkerInfo } from "../../../src/supervisor/worker-host.ts";

const info = (state: WorkerInfo["state"], restarts: number): WorkerInfo => ({ name: "health", state, restarts, startedAt: undefined, lastError: undefined });

describe("event translation", () => {
  test.each([
    ["critical", "error"],
    ["error", "error"],
    ["warning", "warn"],
    ["info", "info"],
    ["debug", "debug"],
  ] as const)("severity %s -> log level %s", (severity, level) => {
    expect(logLevelOf(severity)).toBe(level);
  });

  test("an endpoint turning critical is a warning naming both states; other catalog changes are debug", () => {
    const catalog = createCatalog();
    const changes: CatalogChange[] = [];
    catalog.onChange((c) => changes.push(c));
    catalog.upsertService({ name: "web", namespace: "default", labels: {}, annotations: {}, endpoints: [{ id: "a", address: "127.0.0.1", port: 1, protocol: "http", weight: 1, metadata: {} }] }, "config");
    catalog.setHealth("default", "web", "a", "critical", "down");
    const evs = changes.map(catalogChangeEvent);
    const health = evs.find((e) => e.type === "endpoint.health")!;
    expect(health).toMatchObject({ source: "catalog", target: "default/web/a", severity: "warning", message: "endpoint.health default/web/a: passing -> critical" });
    expect(evs.filter((e) => e.type !== "endpoint.health").every((e) => e.severity === "debug")).toBe(true);
  });

  test("a crash and a recovery are events; a first start and a stop are not", () => {
    expect(workerStateEvent(info("restarting", 1), "exited (code 1)")).toMatchObject({ type: "worker.crashed", severity: "error", target: "health" });
    expect(workerStateEvent(info("running", 1), "ready")).toMatchObject({ type: "worker.restarted", severity: "info" });
    expect(workerStateEvent(info("running", 0), "ready")).toBeUndefined();
    expect(workerStateEvent(info("stopped", 0), "stop")).toBeUndefined();
  });
});

import { describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../../../src/state/store.ts";

describe("sqlite store", () => {
  test("events, replicas and registrations survive a reopen", () => {
    const dir = mkdtempSync(join(tmpdir(), "polis-store-"));
    const a = openStore(dir);
    a.appendEvent({ seq: 1, ts: 10, type: "x", source: "s", target: "t", severity: "info", message: "m", data: { k: 1 } });
    a.putReplica({ app: "web", id: "web-1", pid: 123, startTime: 456, port: 3001 });
    a.putRegistration("default", "db", { name: "db" });
    a.close();
    const b = openStore(dir);
    expect(b.lastEventSeq()).toBe(1);
    expect(b.events(0, 10)[0]).toMatchObject({ seq: 1, type: "x", data: { k: 1 } });
    expect(b.replicas()).toEqual([{ app: "web", id: "web-1", pid: 123, startTime: 456, port: 3001 }]);
    expect(b.registrations()).toEqual([{ name: "db" }]);
    b.close();
  });

  test("old events are trimmed to the configured maximum", () => {
    const s = openStore(":memory:", { maxEvents: 5 });
    for (let i = 1; i <= 12; i++) s.appendEvent({ seq: i, ts: i, type: "x", source: "s", target: "t", severity: "info", message: "m" });
    s.flush();
    expect(s.events(0, 100).map((e) => e.seq)).toEqual([8, 9, 10, 11, 12]);
    s.close();
  });

  test("close is idempotent", () => {
    const s = openStore(":memory:");
    s.close();
    s.close();
  });
});

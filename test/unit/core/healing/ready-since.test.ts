// An ejection is judged against the process it happened to: the ready time of a replica's current process.
import { describe, expect, test } from "bun:test";
import { createReadySince } from "../../../../src/core/healing/ready-since.ts";

describe("ready since", () => {
  test("a process is dated when first seen ready; a new pid in the slot gets a new date; not ready is +Infinity", () => {
    let t = 1_000;
    const r = createReadySince(() => t);
    expect(r.of("web", { id: 0, pid: 10, state: "starting" })).toBe(Number.POSITIVE_INFINITY);
    t = 1_100;
    expect(r.of("web", { id: 0, pid: 10, state: "ready" })).toBe(1_100);
    t = 5_000;
    expect(r.of("web", { id: 0, pid: 10, state: "ready" })).toBe(1_100);
    // Killed and restarted in its slot: the successor is dated when it is first seen ready, not before.
    expect(r.of("web", { id: 0, pid: 11, state: "ready" })).toBe(5_000);
    expect(r.of("web", { id: 0, pid: null, state: "backoff" })).toBe(Number.POSITIVE_INFINITY);
    t = 6_000;
    expect(r.of("web", { id: 0, pid: 11, state: "ready" })).toBe(6_000);
  });

  test("replicas of other apps and slots are dated apart, and retain forgets the gone ones", () => {
    let t = 10;
    const r = createReadySince(() => t);
    expect(r.of("web", { id: 0, pid: 1, state: "ready" })).toBe(10);
    t = 20;
    expect(r.of("api", { id: 0, pid: 1, state: "ready" })).toBe(20);
    r.retain(new Set(["api/0"]));
    t = 30;
    expect(r.of("web", { id: 0, pid: 1, state: "ready" })).toBe(30);
    expect(r.of("api", { id: 0, pid: 1, state: "ready" })).toBe(20);
  });
});

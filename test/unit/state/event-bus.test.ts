import { describe, expect, test } from "bun:test";
import { createEventBus } from "../../../src/state/event-bus.ts";

const ev = (type: string) => ({ type, source: "test", target: "t", severity: "info" as const, message: type });

describe("event bus", () => {
  test("sequence numbers increase by one from the start value", () => {
    const bus = createEventBus({ startSeq: 41, now: () => 5 });
    expect(bus.publish(ev("a")).seq).toBe(42);
    expect(bus.publish(ev("b")).seq).toBe(43);
    expect(bus.lastSeq).toBe(43);
  });

  test("since() resumes after a sequence number and reports a gap once the ring dropped events", () => {
    const bus = createEventBus({ capacity: 3 });
    for (const t of ["a", "b", "c", "d", "e"]) bus.publish(ev(t));
    expect(bus.since(3)).toEqual({ events: bus.recent(2), gap: false });
    const r = bus.since(0);
    expect(r.gap).toBe(true);
    expect(r.events.map((e) => e.type)).toEqual(["c", "d", "e"]);
  });

  test("a throwing subscriber does not stop the others", () => {
    const bus = createEventBus();
    const seen: string[] = [];
    bus.subscribe(() => {
      throw new Error("bad subscriber");
    });
    bus.subscribe((e) => seen.push(e.type));
    bus.publish(ev("x"));
    expect(seen).toEqual(["x"]);
  });
});

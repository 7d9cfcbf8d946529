import { describe, expect, test } from "bun:test";
import { phiOf } from "../../../../src/core/health/phi-accrual.ts";
import { createTtlProbe } from "../../../../src/health/probes/ttl.ts";
import { createFakeClock } from "../../../support/fake-clock.ts";

const sig = () => new AbortController().signal;

describe("ttl probe", () => {
  test("critical until the first push", async () => {
    const t = createTtlProbe({ ttlMs: 10_000, clock: createFakeClock() });
    expect((await t.probe("", sig())).status).toBe("critical");
  });

  test("pushes map pass/warn/fail to passing/warning/critical with their note", async () => {
    const clock = createFakeClock();
    const t = createTtlProbe({ ttlMs: 10_000, clock });
    for (const [push, want] of [["pass", "passing"], ["warn", "warning"], ["fail", "critical"]] as const) {
      t.push(push, `note ${push}`);
      const r = await t.probe("", sig());
      expect(r.status).toBe(want);
      expect(r.output).toBe(`note ${push}`);
    }
  });

  test("critical once the TTL elapses without a push", async () => {
    const clock = createFakeClock();
    const t = createTtlProbe({ ttlMs: 10_000, clock });
    t.push("pass");
    clock.advance(10_000);
    expect((await t.probe("", sig())).status).toBe("passing");
    clock.advance(1);
    const r = await t.probe("", sig());
    expect(r.status).toBe("critical");
    expect(r.output).toContain("TTL expired");
  });

  test("each push is a heartbeat for phi", () => {
    const clock = createFakeClock();
    const t = createTtlProbe({ ttlMs: 60_000, clock });
    expect(t.phi()).toBe(0);
    t.push("pass");
    clock.advance(1000);
    expect(t.phi()).toBeCloseTo(phiOf(1000, 1000, 250), 10);
    clock.advance(4000);
    expect(t.isAvailable()).toBe(false);
  });

  test("invalid pushes and TTLs are rejected with the field name", () => {
    expect(() => createTtlProbe({ ttlMs: 0 })).toThrow("ttlMs");
    const t = createTtlProbe({ ttlMs: 1000, clock: createFakeClock() });
    expect(() => t.push("ok" as "pass")).toThrow("status");
  });
});

import { describe, expect, test } from "bun:test";
import { Schema } from "effect";
import { createAlertService } from "../../../src/alerts/service.ts";
import { type AlertChanges, createSources } from "../../../src/alerts/sources.ts";
import { Alerts } from "../../../src/config/alerts-schema.ts";
import type { AlertInput } from "../../../src/core/alerts/types.ts";
import { openStore } from "../../../src/state/store.ts";

type Check = { id: string; status: "passing" | "warning" | "critical" | null; since?: number; app?: string };
const cfg = Schema.decodeUnknownSync(Alerts)({});
const log = { debug() {}, info() {}, warn() {}, error() {}, log() {}, setLevel() {}, tail: () => [] } as never;

const setup = () => {
  const checks: Check[] = [];
  let t = 100_000;
  const { sources, close } = createSources({ checks: () => checks, scaling: () => [], balancers: () => [], certificates: () => [], dataDir: () => ":memory:", subscribe: () => () => {} });
  const store = openStore(":memory:");
  const svc = createAlertService({ config: () => cfg, store, publish: () => {}, log, apiUrl: () => "http://127.0.0.1:1", sources, now: () => t });
  const firing = () => svc.list({ source: "check_critical" }).filter((a) => a.lifecycle !== "resolved").map((a) => a.labels.check).sort();
  return { checks, sources, svc, firing, advance: (ms: number) => (t += ms), now: () => t, close: () => (svc.stop(), close(), store.close()) };
};

describe("check_critical source", () => {
  test("reports everything first, then only what changed; the service's alerts follow the checks", async () => {
    const x = setup();
    try {
      const src = x.sources.find((s) => s.name === "check_critical")!;
      x.checks.push({ id: "a", status: "critical", since: 0, app: "web" }, { id: "b", status: "critical", since: 0 }, { id: "c", status: "passing", since: 0 }, { id: "d", status: "critical", since: x.now() });
      const first = (await src.observe(cfg, x.now(), true)) as AlertInput[];
      expect(Array.isArray(first)).toBe(true);
      expect(first.map((i) => i.labels.check).sort()).toEqual(["a", "b"]);
      // Nothing changed: nothing reported.
      expect(await src.observe(cfg, x.now(), false)).toEqual({ firing: [], cleared: [] });
      x.checks[0]!.status = "passing";
      x.checks.splice(1, 1); // b removed from the config
      const d = (await src.observe(cfg, x.now() + 40_000, false)) as AlertChanges;
      expect(d.firing.map((i) => i.labels.check)).toEqual(["d"]);
      expect(d.cleared.map((i) => i.labels.check).sort()).toEqual(["a", "b"]);
      // Asked for everything again, it reports everything it sees.
      expect(((await src.observe(cfg, x.now() + 40_000, true)) as AlertInput[]).map((i) => i.labels.check)).toEqual(["d"]);
    } finally {
      x.close();
    }
  });

  test("through the service: raised, resolved when the check recovers, and raised again after a resolve by hand", async () => {
    const x = setup();
    try {
      x.checks.push({ id: "a", status: "critical", since: 0 }, { id: "b", status: "critical", since: 0, app: "web" });
      await x.svc.evaluate();
      expect(x.firing()).toEqual(["a", "b"]);
      x.checks[0]!.status = "passing";
      x.advance(1000);
      await x.svc.evaluate();
      expect(x.firing()).toEqual(["b"]);
      expect(x.svc.list({ source: "check_critical", state: "resolved" })[0]!.resolvedBy).toBe("condition");
      // An operator resolves b while the check is still critical: the next evaluation raises it again, as a new alert.
      const b = x.svc.list({ source: "check_critical" }).find((a) => a.labels.check === "b" && a.lifecycle === "firing")!;
      expect(x.svc.resolve(b.id, "ana").ok).toBe(true);
      expect(x.firing()).toEqual([]);
      x.advance(1000);
      await x.svc.evaluate();
      expect(x.firing()).toEqual(["b"]);
      expect(x.svc.list({ source: "check_critical" }).find((a) => a.lifecycle === "firing")!.id).not.toBe(b.id);
      // The check's app changes: its labels change, so the old alert resolves and one with the new labels fires.
      x.checks[1]!.app = "api";
      x.advance(1000);
      await x.svc.evaluate();
      expect(x.svc.list({ source: "check_critical" }).filter((a) => a.lifecycle === "firing").map((a) => a.labels.app)).toEqual(["api"]);
    } finally {
      x.close();
    }
  });
});

import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeConfig } from "../../../src/config/load.ts";
import type { Config } from "../../../src/config/schema.ts";
import { createConfigApplier, type ReloadableSection } from "../../../src/supervisor/config-apply.ts";
import { createJwtCache } from "../../../src/supervisor/jwt-cache.ts";
import type { EventInput } from "../../../src/state/event-bus.ts";

const decode = (raw: unknown): Config => {
  const r = decodeConfig(raw, "test");
  if (!r.ok) throw new Error(JSON.stringify(r.error.problems));
  return r.config;
};

function harness(initial: unknown = {}) {
  let config = decode(initial);
  const events: EventInput[] = [];
  const commits: Array<{ changed: readonly ReloadableSection[]; raw: unknown }> = [];
  const jwt = createJwtCache();
  const applier = createConfigApplier({
    current: () => config,
    jwt,
    commit: (next, raw, changed) => {
      config = next;
      commits.push({ changed, raw });
    },
    publish: (e) => events.push(e),
  });
  return { applier, events, commits, jwt, current: () => config };
}

describe("config apply", () => {
  test("an accepted config is committed with the sections that changed, and announced once", () => {
    const h = harness();
    const r = h.applier.apply({ checks: [{ name: "beat", kind: "ttl", ttl: "1m" }] }, "PATCH /v1/config");
    expect(r).toEqual({ ok: true, reloaded: ["checks"] });
    expect(h.commits.map((c) => c.changed)).toEqual([["checks"]]);
    expect(h.current().checks.map((c) => c.name)).toEqual(["beat"]);
    expect(h.events.map((e) => e.type)).toEqual(["config.reloaded"]);
  });

  test("an unchanged config is accepted with nothing reloaded", () => {
    const h = harness();
    expect(h.applier.apply({}, "test")).toEqual({ ok: true, reloaded: [] });
  });

  test("an invalid config is rejected with 400 and every problem's path; nothing is committed", () => {
    const h = harness();
    const before = h.current();
    const r = h.applier.apply({ checks: [{ name: "broken", kind: "ttl", ttl: "whenever" }] }, "PATCH /v1/config");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.status).toBe(400);
    expect(r.problems.map((p) => p.path)).toContain("checks[0].ttl");
    expect(h.commits).toEqual([]);
    expect(h.current()).toBe(before);
  });

  test("a restart-only change is rejected with 409 naming each setting; nothing is committed", () => {
    const h = harness();
    const r = h.applier.apply({ api: { listen: "127.0.0.1:1" }, agent: { data_dir: "/elsewhere" } }, "PATCH /v1/config");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.status).toBe(409);
    expect(r.problems.map((p) => p.path).sort()).toEqual(["agent.data_dir", "api.listen"]);
    expect(h.commits).toEqual([]);
  });

  test("a JWT section whose key cannot be read is rejected at api.jwt; the previous authenticator stays", () => {
    const h = harness();
    const r = h.applier.apply({ api: { jwt: { public_key_file: "/nonexistent/key.pem" } } }, "PATCH /v1/config");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.status).toBe(400);
    expect(r.problems[0]!.path).toBe("api.jwt");
    expect(h.commits).toEqual([]);
  });

  test("every rejection, from a document or a file, publishes one config.rejected event naming the fields", () => {
    const dir = mkdtempSync(join(tmpdir(), "polis-apply-"));
    try {
      const h = harness();
      const file = join(dir, "agent.yaml");
      writeFileSync(file, "checks:\n  - {name: broken, kind: ttl, ttl: whenever}\n");
      h.applier.apply({ api: { listen: "127.0.0.1:1" } }, "PATCH /v1/config");
      const fromFile = h.applier.applyFile(file, {});
      const missing = h.applier.applyFile(join(dir, "missing.yaml"), {});
      expect([fromFile.ok, missing.ok]).toEqual([false, false]);
      const rejected = h.events.filter((e) => e.type === "config.rejected");
      expect(rejected.length).toBe(3);
      expect(rejected[0]!.message).toContain("api.listen");
      expect(rejected[1]!.message).toContain("checks[0].ttl");
      expect(rejected[2]!.message).toContain("cannot read the config file");
      expect(rejected.every((e) => e.severity === "error")).toBe(true);
      expect(h.commits).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a valid file is applied with its raw document", () => {
    const dir = mkdtempSync(join(tmpdir(), "polis-apply-"));
    try {
      const h = harness();
      const file = join(dir, "agent.yaml");
      writeFileSync(file, "checks:\n  - {name: beat, kind: ttl, ttl: 1m}\n");
      expect(h.applier.applyFile(file, {})).toEqual({ ok: true, reloaded: ["checks"] });
      expect(h.commits[0]!.raw).toEqual({ checks: [{ name: "beat", kind: "ttl", ttl: "1m" }] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

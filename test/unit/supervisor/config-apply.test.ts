import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeConfig } from "../../../src/config/load.ts";
import type { Config } from "../../../src/config/schema.ts";
import { createConfigApplier, type ReloadableSection } from "../../../src/supervisor/config-apply.ts";
import { createJwtCache } from "../../../src/supervisor/jwt-cache.ts";
import type { EventInput } from "../../../src/state/event-bus.ts";
import { type Overlay, overlayAt } from "../../../src/config/overlay.ts";

const decode = (raw: unknown): Config => {
  const r = decodeConfig(raw, "test");
  if (!r.ok) throw new Error(JSON.stringify(r.error.problems));
  return r.config;
};

function harness(initial: unknown = {}, overlay?: Overlay) {
  let config = decode(initial);
  const events: EventInput[] = [];
  const commits: Array<{ changed: readonly ReloadableSection[]; raw: unknown }> = [];
  const jwt = createJwtCache();
  const applier = createConfigApplier(
    {
      current: () => config,
      jwt,
      commit: (next, raw, changed) => {
        config = next;
        commits.push({ changed, raw });
      },
      publish: (e) => events.push(e),
      ...(overlay ? { overlay } : {}),
    },
    { raw: initial },
  );
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

  const ADMIN = { name: "ops", token: "admin-token-0123456789", role: "admin" };
  const VIEW = { name: "view", token: "read-token-01234567890", role: "read" };
  const caller = { name: "ops", role: "admin", credential: ADMIN.token };
  const lockouts: Array<[string, unknown]> = [
    ["revokes every token, the caller's included", { api: { tokens: null } }],
    ["removes the caller's token by name", { api: { tokens: [{ name: "ops", $patch: "delete" }] } }],
    ["makes the caller's token read-only", { api: { tokens: [{ name: "ops", role: "read" }] } }],
  ];
  test.each(lockouts)("a PATCH that %s is refused with 403 naming the token; nothing changes", (_what, patch) => {
    const h = harness({ api: { tokens: [ADMIN, VIEW] } });
    const r = h.applier.patch(patch, caller);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.status).toBe(403);
    expect(r.problems[0]!.path).toBe("api.tokens");
    expect(r.problems[0]!.message).toContain("(ops)");
    expect(h.commits).toEqual([]);
  });

  test("contrast: removing another token, or the same change from the file, is accepted", () => {
    const h = harness({ api: { tokens: [ADMIN, VIEW] } });
    expect(h.applier.patch({ api: { tokens: [{ name: "view", $patch: "delete" }] } }, caller)).toEqual({ ok: true, reloaded: ["api"] });
    expect(h.current().api.tokens.map((t) => t.name)).toEqual(["ops"]);
    expect(harness({ api: { tokens: [ADMIN, VIEW] } }).applier.apply({ api: { tokens: [VIEW] } }, "SIGHUP").ok).toBe(true);
  });

  test("through the API, what runs is refused whole (403, each path) unless the file sets api.allow_api_commands; the rest of an app stays open", () => {
    const web = { name: "web", command: "/bin/sleep", args: ["60"], replicas: 1 };
    const h = harness({ apps: [web] });
    const refused = (patch: unknown) => {
      const r = h.applier.patch(patch);
      expect(r.ok).toBe(false);
      return r.ok ? undefined : r;
    };
    const cmd = refused({ apps: [{ ...web, command: "/bin/sh", args: ["-c", "id"] }] });
    expect(cmd?.status).toBe(403);
    expect(cmd?.problems.map((p) => p.path)).toEqual(["apps[0].command", "apps[0].args"]);
    expect(refused({ apps: [web, { name: "evil", command: "/bin/sh" }] })?.problems.map((p) => p.path)).toEqual(["apps[1]"]);
    expect(refused({ apps: [{ ...web, env: { LD_PRELOAD: "/tmp/x.so" } }] })?.problems.map((p) => p.path)).toEqual(["apps[0].env"]);
    expect(refused({ apps: [{ ...web, checks: [{ name: "c", kind: "command", command: "/bin/true" }] }] })?.problems.map((p) => p.path)).toEqual(["apps[0].checks"]);
    expect(refused({ tasks: [{ name: "t", command: "/bin/true" }] })?.problems.map((p) => p.path)).toEqual(["tasks"]);
    expect(refused({ api: { allow_api_commands: true } })?.problems.map((p) => p.path)).toEqual(["api.allow_api_commands"]);
    expect(h.current().apps.map((a) => [a.name, a.command])).toEqual([["web", "/bin/sleep"]]);
    expect(h.commits).toEqual([]);
    // Contrast: replicas through the API, and the command from the file, are accepted.
    expect(h.applier.patch({ apps: [{ ...web, replicas: 2 }] }).ok).toBe(true);
    expect(h.applier.apply({ apps: [{ ...web, command: "/bin/true" }] }, "file").ok).toBe(true);
    // With the switch on in the file, the API may change the command too.
    const open = harness({ api: { allow_api_commands: true }, apps: [web] });
    expect(open.applier.patch({ apps: [{ ...web, command: "/bin/true" }] }).ok).toBe(true);
  });

  test("a JWT caller may not change api.jwt through the API", () => {
    const jwt = { secret: "s".repeat(40) };
    const h = harness({ api: { jwt } });
    const r = h.applier.patch({ api: { jwt: { secret: "t".repeat(40) } } }, { name: "jwt:alice", role: "admin" });
    expect(r.ok ? 0 : r.status).toBe(403);
  });

  test("an accepted PATCH is written to the overlay before it is committed; DELETE of the overlay goes back to the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "polis-apply-"));
    try {
      const overlay = overlayAt(dir);
      const h = harness({ checks: [{ name: "a", kind: "ttl", ttl: "1m" }] }, overlay);
      expect(h.applier.patch({ checks: [{ name: "b", kind: "ttl", ttl: "1m" }] })).toEqual({ ok: true, reloaded: ["checks"] });
      expect(h.applier.patch({ agent: { log_level: "debug" } })).toEqual({ ok: true, reloaded: ["agent"] });
      expect(overlay.read()).toEqual({ ok: true, patch: { checks: [{ name: "b", kind: "ttl", ttl: "1m" }], agent: { log_level: "debug" } } });
      expect(h.current().checks.map((c) => c.name)).toEqual(["a", "b"]);
      const bad = h.applier.patch({ checks: [{ name: "c", kind: "ttl", ttl: "never" }] });
      expect(bad.ok).toBe(false);
      expect(overlay.read()).toEqual({ ok: true, patch: { checks: [{ name: "b", kind: "ttl", ttl: "1m" }], agent: { log_level: "debug" } } });
      const dropped = h.applier.dropOverlay();
      expect(dropped).toEqual({ ok: true, reloaded: ["agent", "checks"], removed: true });
      expect(h.current().checks.map((c) => c.name)).toEqual(["a"]);
      expect(overlay.read()).toEqual({ ok: true, patch: undefined });
      expect(h.applier.dropOverlay()).toEqual({ ok: true, reloaded: [], removed: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

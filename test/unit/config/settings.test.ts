// Every setting of config/examples/full.yaml, changed on a running agent, is either applied live or refused with
// 409 restart_required, as the one settings table says; file-only switches are refused through the API with 403.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { decodeConfig } from "../../../src/config/load.ts";
import type { Config } from "../../../src/config/schema.ts";
import { ruleFor, SETTINGS } from "../../../src/config/settings.ts";
import { createConfigApplier, type ReloadableSection } from "../../../src/supervisor/config-apply.ts";
import { createJwtCache } from "../../../src/supervisor/jwt-cache.ts";

const FULL = parse(readFileSync(join(import.meta.dir, "../../../config/examples/full.yaml"), "utf8")) as Record<string, unknown>;

type Leaf = { path: (string | number)[]; value: unknown };
function leaves(v: unknown, path: (string | number)[] = [], out: Leaf[] = []): Leaf[] {
  if (Array.isArray(v) && v.some((e) => e !== null && typeof e === "object")) v.forEach((e, i) => leaves(e, [...path, i], out));
  else if (v !== null && typeof v === "object" && !Array.isArray(v)) for (const [k, c] of Object.entries(v)) leaves(c, [...path, k], out);
  else out.push({ path, value: v });
  return out;
}
const dotted = (p: (string | number)[]) => p.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");

/** Other values this setting could take: the first one the schema accepts is used. */
function alternatives(v: unknown): unknown[] {
  if (typeof v === "boolean") return [!v];
  if (typeof v === "number") return [v + 1, v - 1, v / 2];
  if (Array.isArray(v)) return [[...v, v[0]], v.length === 2 && typeof v[1] === "number" ? [v[0], (v[1] as number) - 1] : [], v.slice(1)];
  if (typeof v === "string") {
    const bumped = v.replace(/(\d+)(?!.*\d)/, (d) => String(Number(d) + 1));
    return [bumped, `${v}x`, "debug", "warn", "on-failure", "SIGINT", "HEAD", "round_robin", "tcp", "udp", "header", "phi", "seasonal-naive", "min", "percent", "auto", "3x", "2"];
  }
  return [];
}
/** Settings whose change needs another field to change with it to stay valid. */
const OVERRIDES: Record<string, (doc: any) => void> = {
  "api.tokens[0].role": (d) => (d.api.tokens[0].role = "read"),
  "apps[0].name": (d) => ((d.apps[0].name = "web2"), (d.balancers[0].backends.app = "web2")),
  "apps[0].deploy.strategy": (d) => (d.apps[0].deploy.strategy = "canary"),
  "apps[0].scaling.metrics[0].name": (d) => (d.apps[0].scaling.metrics[0].name = "latency_p95_ms"),
  "apps[0].scaling.metrics[1].name": (d) => (d.apps[0].scaling.metrics[1].name = "inflight_per_replica"),
  "apps[0].scaling.scale_up.policies[1].type": (d) => (d.apps[0].scaling.scale_up.policies[1].type = "pods"),
  "apps[0].scaling.scale_down.policies[0].type": (d) => (d.apps[0].scaling.scale_down.policies[0].type = "pods"),
  "checks[1].kind": (d) => Object.assign(d.checks[1], { kind: "tcp", target: "127.0.0.1:1" }),
  "checks[1].detector": (d) => (d.checks[1].detector = "ttl"),
  "checks[2].kind": (d) => Object.assign(d.checks[2], { kind: "ttl", ttl: "1m" }),
  "balancers[0].protocol": (d) => ((d.balancers[0].protocol = "tcp"), delete d.balancers[0].sticky),
  "balancers[0].backends.app": (d) => (d.balancers[0].backends = { service: "cache", namespace: "infra" }),
  "balancers[0].hash_key.source": (d) => (d.balancers[0].hash_key.source = "path"),
  "balancers[0].maglev.table_size": (d) => (d.balancers[0].maglev.table_size = 655373),
  "healing.rungs[0].rung": (d) => (d.healing.rungs[0].rung = "scale_out"),
  "healing.rungs[1].rung": (d) => (d.healing.rungs[1].rung = "failover"),
};

const setAt = (root: unknown, path: (string | number)[], value: unknown): unknown => {
  const copy = structuredClone(root) as any;
  let cur = copy;
  for (const k of path.slice(0, -1)) cur = cur[k];
  cur[path[path.length - 1]!] = value;
  return copy;
};

function harness() {
  const decoded = decodeConfig(FULL, "full.yaml");
  if (!decoded.ok) throw decoded.error;
  let config: Config = decoded.config;
  const commits: Array<readonly ReloadableSection[]> = [];
  const applier = createConfigApplier(
    { current: () => config, jwt: createJwtCache(), commit: (next, _raw, changed) => ((config = next), commits.push(changed)), publish: () => {} },
    { raw: FULL },
  );
  return { applier, commits };
}

describe("the settings table", () => {
  const all = leaves(FULL);

  test("full.yaml has settings to walk, and every one of them has a rule", () => {
    expect(all.length).toBeGreaterThan(100);
    const missing = all.map((l) => dotted(l.path)).filter((p) => !ruleFor(p));
    expect(missing).toEqual([]);
  });

  test.each(all.map((l) => [dotted(l.path), l] as const))("%s: applied live or refused with 409, as the table says", (path, leaf) => {
    const rule = ruleFor(path)!;
    let result: ReturnType<ReturnType<typeof harness>["applier"]["apply"]> | undefined;
    let h = harness();
    const override = OVERRIDES[path];
    if (override) {
      const doc = structuredClone(FULL);
      override(doc);
      result = h.applier.apply(doc, "test");
    }
    for (const alt of alternatives(leaf.value).filter((a) => JSON.stringify(a) !== JSON.stringify(leaf.value))) {
      if (result) break;
      h = harness();
      const r = h.applier.apply(setAt(FULL, leaf.path, alt), "test");
      if (!r.ok && r.status === 400) continue;
      result = r;
      break;
    }
    expect(result, `no other valid value found for ${path}`).toBeDefined();
    const section = String(leaf.path[0]);
    if (rule.mode === "live") {
      // An override may change a second section with it (renaming an app renames its balancer's backend).
      expect(result!.ok && result!.reloaded.includes(section)).toBe(true);
      expect(h.commits.length).toBe(1);
      if (!override) expect(result).toEqual({ ok: true, reloaded: [section] });
    } else {
      expect(result!.ok).toBe(false);
      if (result!.ok) return;
      expect(result!.status).toBe(409);
      expect(result!.problems.map((p) => p.path)).toEqual([rule.path]);
      expect(h.commits).toEqual([]);
    }
  });

  test.each(SETTINGS.filter((s) => s.fileOnly).map((s) => [s.path] as const))("%s is file-only: the API is refused with 403 and a reason; the file may change it", (path) => {
    const [section, key] = path.split(".") as [string, string];
    const doc = setAt(FULL, [section, key], !(FULL as any)[section][key]);
    const api = harness();
    const r = api.applier.apply(doc, "PATCH /v1/config", { origin: "api" });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.status).toBe(403);
    expect(r.problems[0]!.path).toBe(path);
    expect(r.problems[0]!.message).toMatch(/only the config file may change this switch/);
    expect(api.commits).toEqual([]);
    const file = harness().applier.apply(doc, "SIGHUP");
    const rule = ruleFor(path)!;
    expect(file.ok ? "ok" : file.status).toBe(rule.mode === "live" ? "ok" : 409);
  });

  test("dns.ttl applies live while the rest of the dns section needs a restart", () => {
    expect(ruleFor("dns.ttl")?.mode).toBe("live");
    expect(["dns.enabled", "dns.listen", "dns.domain"].map((p) => ruleFor(p)?.mode)).toEqual(["restart", "restart", "restart"]);
  });
});

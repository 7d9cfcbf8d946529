// Config files and config changes fuzzed from config/examples/full.yaml with fast-check: one setting replaced by a
// wrong or odd value (or removed, or an unknown key added). In process (loadConfigText), through the binary
// (`polis validate`), as SIGHUP reloads of a running agent, and as PATCH /v1/config merge patches. Every case must end
// as "ok" or as a config error naming a path: never a throw, a stack trace, an unhandled rejection or a 500.
import fc from "fast-check";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { loadConfigText } from "../../src/config/load.ts";
import { BINARY } from "../../test/support/agent.ts";
import { chaosAgent, crashLines, emptyFigures, type Figures, type Scenario } from "./_harness.ts";

const FULL = join(import.meta.dir, "../../config/examples/full.yaml");
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function paths(v: Json, at: string[] = [], out: string[][] = []): string[][] {
  if (at.length > 0) out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, String(i)], out));
  else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

function mutate(base: Json, path: string[], value: unknown, kind: "set" | "delete" | "unknown"): Json {
  const copy = structuredClone(base) as Record<string, unknown>;
  let node: Record<string, unknown> = copy;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string, unknown>;
  const last = path[path.length - 1]!;
  if (kind === "delete") delete node[last];
  else if (kind === "unknown" && node[last] && typeof node[last] === "object") (node[last] as Record<string, unknown>)["no_such_setting"] = value;
  else node[last] = value;
  return copy as Json;
}

const ODD = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom("-1s", "1y", "10", "", "5 m", "1e309s", "0ms", "NaN", "Infinity", "2x", "-2x", "99999999999999999999", "512QiB", "127.0.0.1:99999", "::1", "*", "~", "${HOME}"),
  fc.integer(),
  fc.double(),
  fc.constant(null),
);

const mutation = (base: Json, all: string[][]) =>
  fc.record({ path: fc.constantFrom(...all), value: ODD, kind: fc.constantFrom("set", "set", "set", "delete", "unknown") }).map((m) => ({ ...m, doc: mutate(base, m.path, m.value, m.kind as "set") }));

const STACK = /^\s+at |\n\s+at |Uncaught|ReferenceError|TypeError|RangeError/;

export const configFuzz: Scenario = {
  name: "config-fuzz",
  goal: "mutated configs (in process, `polis validate`, SIGHUP, PATCH /v1/config): every case ok or a config error with a path; 0 throws, 0 stack traces, 0 500s, 0 crashes",
  judged: ["failed", "crashes"],
  async run(ctx) {
    const f: Figures = emptyFigures();
    const seed = Number(process.env.CHAOS_SEED ?? 1);
    const full = parse(readFileSync(FULL, "utf8")) as Json;
    const all = paths(full);
    const bad: string[] = [];
    const fail = (what: string) => {
      f.failed++;
      if (bad.length < 3) bad.push(what.slice(0, 160));
    };

    const t0 = performance.now();
    // 1. In process: thousands of cases, plus the alias bomb and a deep document.
    const bomb = `a: &a ["x","x","x","x","x","x","x","x","x"]\n${Array.from({ length: 12 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(",")}]`).join("\n")}\n`;
    const texts = [bomb, "apps:\n" + "  ".repeat(1) + "- ".repeat(5000) + "x\n", ...fc.sample(mutation(full, all), { numRuns: Math.max(100, Math.round(1000 * ctx.scale)), seed }).map((m) => stringify(m.doc))];
    for (const text of texts) {
      f.sent++;
      try {
        const r = loadConfigText(text, "fuzz.yaml");
        if (!r.ok && r.error.problems.some((p) => typeof p.path !== "string" || typeof p.message !== "string")) fail(`in process: a problem without path/message`);
      } catch (e) {
        fail(`in process threw: ${(e as Error).message}`);
      }
    }

    const t1 = performance.now();
    // 2. The binary's validate on files.
    const { agent } = await chaosAgent({ apps: 1 });
    await using _ = agent;
    const file = join(agent.dir, "fuzz.yaml");
    const binCases = [bomb, ...fc.sample(mutation(full, all), { numRuns: Math.max(10, Math.round(100 * ctx.scale)), seed: seed + 1 }).map((m) => stringify(m.doc))];
    for (const text of binCases) {
      f.sent++;
      writeFileSync(file, text);
      const p = Bun.spawn([BINARY, "validate", file], { stdout: "pipe", stderr: "pipe" });
      const timer = setTimeout(() => p.kill("SIGKILL"), 30_000);
      const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
      clearTimeout(timer);
      if (code !== 0 && code !== 1) fail(`validate exit ${code}: ${err.slice(0, 100)}`);
      else if (code === 1 && (!err.startsWith("polis: invalid config") || STACK.test(err))) fail(`validate: ${err.slice(0, 120)}`);
    }

    const t2 = performance.now();
    // 3. SIGHUP with a mutated copy of the running config (restart-only changes are refused: that is a fine outcome).
    const configPath = join(agent.dir, "agent.yaml");
    const running = parse(readFileSync(configPath, "utf8")) as Json;
    const runningPaths = paths(running);
    const hups = fc.sample(mutation(running, runningPaths), { numRuns: Math.max(10, Math.round(40 * ctx.scale)), seed: seed + 2 });
    for (const m of hups) {
      f.sent++;
      const seen = agent.lines.length;
      writeFileSync(configPath, stringify(m.doc));
      agent.proc.kill("SIGHUP");
      const outcome = await agent
        .waitForLine((l) => agent.lines.indexOf(l) >= seen && (l.msg === "config reloaded" || l.msg === "config reload rejected; the running config is unchanged" || l.msg === "unhandled rejection" || l.msg === "uncaught exception"), 15_000)
        .catch(() => undefined);
      if (!outcome || outcome.msg === "unhandled rejection" || outcome.msg === "uncaught exception") fail(`SIGHUP ${m.path.join(".")}=${JSON.stringify(m.value)}: ${outcome?.msg ?? "no outcome logged"}`);
    }
    writeFileSync(configPath, stringify(running));
    agent.proc.kill("SIGHUP");

    const t3 = performance.now();
    // 4. PATCH /v1/config merge patches of one setting (api.* left out: a valid patch there may lock this client out).
    const patchPaths = all.filter((p) => p[0] !== "api" && p.length >= 2);
    const patches = fc.sample(fc.record({ path: fc.constantFrom(...patchPaths), value: ODD }), { numRuns: Math.max(50, Math.round(300 * ctx.scale)), seed: seed + 3 });
    for (const p of patches) {
      f.sent++;
      const body: Record<string, unknown> = {};
      let node = body;
      p.path.slice(0, -1).forEach((k) => (node = node[k] = {} as Record<string, unknown>));
      node[p.path[p.path.length - 1]!] = p.value;
      const res = await agent.api("/v1/config", { method: "PATCH", body: JSON.stringify(body), headers: { "content-type": "application/merge-patch+json" } }).catch((e: Error) => e);
      if (res instanceof Error) fail(`PATCH ${p.path.join(".")}: ${res.message}`);
      else if (res.status >= 500) fail(`PATCH ${p.path.join(".")}=${JSON.stringify(p.value)} -> ${res.status} ${(await res.text()).slice(0, 80)}`);
    }
    const ready = await fetch(`${agent.url}/readyz`).then((r) => r.status, () => 0);
    const secs = (a: number, b: number) => ((b - a) / 1000).toFixed(0);
    f.crashes = crashLines(agent).length + (agent.proc.exitCode !== null ? 1 : 0) + (ready === 200 ? 0 : 1);
    f.notes = `${texts.length} in process (${secs(t0, t1)} s), ${binCases.length} validate (${secs(t1, t2)} s), ${hups.length} SIGHUP (${secs(t2, t3)} s), ${patches.length} PATCH (${secs(t3, performance.now())} s); seed ${seed}${bad.length ? `; first: ${bad[0]}` : ""}`;
    return f;
  },
};

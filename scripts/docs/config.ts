// Generates docs/config.md from the config schema: every setting's path, type, default, and how a change to it
// applies on a running agent (from the settings table). A test fails when the checked-in file drifts:
// regenerate with `npx bun scripts/docs/config.ts`.
import { Schema } from "effect";
import { writeFileSync } from "node:fs";
import { decodeConfig } from "../../src/config/load.ts";
import { Config } from "../../src/config/schema.ts";
import { ruleFor } from "../../src/config/settings.ts";

export const DOC_FILE = new URL("../../docs/config.md", import.meta.url);

type Json = Record<string, any>;
interface Row {
  path: string;
  type: string;
  required: boolean;
  title?: string;
}

function typeOf(s: Json, path: string): string {
  if (s.title) return s.title;
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((v: unknown) => JSON.stringify(v)).join(" \\| ");
  if (s.anyOf) {
    const parts = s.anyOf.filter((m: Json) => !(m.enum && m.enum.includes("Infinity"))).map((m: Json) => (m.type === "object" ? `{${Object.keys(m.properties ?? {}).join(", ")}}` : typeOf(m, path)));
    return [...new Set(parts)].join(" \\| ");
  }
  if (s.type === "array") return s.prefixItems ? `[${s.prefixItems.map((m: Json) => typeOf(m, path)).join(", ")}]` : `list of ${typeOf(s.items ?? {}, path)}`;
  if (s.type === "object") return s.additionalProperties && typeof s.additionalProperties === "object" ? `map of ${typeOf(s.additionalProperties, path)}` : "object";
  if (s.type === "integer") return s.minimum !== undefined && s.maximum !== undefined && s.maximum < 1e9 ? `integer ${s.minimum}–${s.maximum}` : s.minimum === 1 ? "integer ≥ 1" : s.minimum === 0 ? "integer ≥ 0" : "integer";
  if (s.type === "number") return s.minimum !== undefined && s.maximum !== undefined ? `number ${s.minimum}–${s.maximum}` : "number";
  if (s.type === "boolean") return "boolean";
  if (s.type === "string") return /(^|\.)(listen|address)$/.test(path) ? "host:port" : "string";
  return "any";
}

function walk(s: Json, path: string, required: boolean, out: Row[]) {
  if (s.type === "object" && s.properties) {
    const req = new Set<string>(s.required ?? []);
    for (const [k, v] of Object.entries(s.properties as Record<string, Json>)) {
      const p = path ? `${path}.${k}` : k;
      if (out.some((r) => r.path === p)) {
        walk(v, p, req.has(k), out);
        continue;
      }
      const leafish = !(v.type === "object" && v.properties) && !(v.type === "array" && v.items?.type === "object" && v.items.properties);
      if (leafish) out.push({ path: p, type: typeOf(v, p), required: req.has(k) });
      else if (v.type === "array") out.push({ path: p, type: "list of objects", required: req.has(k) });
      walk(v, p, req.has(k), out);
    }
    return;
  }
  if (s.type === "array" && s.items?.type === "object") return walk(s.items, `${path}[]`, required, out);
  if (s.anyOf) for (const m of s.anyOf as Json[]) if (m.type === "object" && m.properties) walk(m, path, required, out);
}

const ms = (n: number) => (n === 0 ? "0s" : n % 3_600_000 === 0 ? `${n / 3_600_000}h` : n % 60_000 === 0 ? `${n / 60_000}m` : n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`);
const bytes = (n: number) => (n % 1048576 === 0 ? `${n / 1048576}MiB` : n % 1024 === 0 ? `${n / 1024}KiB` : `${n}`);

/** Defaults as decoded from the smallest documents that reach every setting. */
function defaults(): Map<string, unknown> {
  const docs = [
    { apps: [{ name: "a", command: "x", checks: [{ kind: "http" }] }], checks: [{ name: "c", kind: "http", target: "http://127.0.0.1:1/" }], balancers: [{ name: "b", listen: "127.0.0.1:1", backends: { app: "a" } }], services: [{ name: "s", endpoints: [{ address: "x", port: 1 }] }] },
    { apps: [{ name: "a", command: "x", replicas: { min: 1, max: 2 }, scaling: { metrics: [{ name: "cpu", target: 1 }] } }] },
  ];
  const given = new Set(["apps[].name", "apps[].command", "apps[].checks[].kind", "apps[].scaling.metrics", "apps[].replicas", "checks[].name", "checks[].kind", "checks[].target", "balancers[].name", "balancers[].listen", "balancers[].backends.app", "services[].name", "services[].endpoints[].address", "services[].endpoints[].port", "services[].endpoints"]);
  const out = new Map<string, unknown>();
  const collect = (v: unknown, path: string, doc: number) => {
    if (Array.isArray(v) && v.length > 0 && v[0] !== null && typeof v[0] === "object") return collect(v[0], `${path}[]`, doc);
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      for (const [k, c] of Object.entries(v)) collect(c, path ? `${path}.${k}` : k, doc);
      if (Object.keys(v).length > 0) return;
    }
    if (!given.has(path) && !out.has(path)) out.set(path, v);
  };
  docs.forEach((d, i) => {
    const r = decodeConfig(d, "(defaults)");
    if (!r.ok) throw r.error;
    collect(r.config, "", i);
  });
  out.set("apps[].replicas", 1);
  return out;
}

export function renderConfigDoc(): string {
  const schema = (Schema.toJsonSchemaDocument(Config as never, { onExcessProperty: "error" }) as { schema: Json }).schema;
  const rows: Row[] = [];
  walk(schema, "", false, rows);
  const defs = defaults();
  const show = (r: Row): string => {
    if (r.required) return "required";
    if (!defs.has(r.path)) return "–";
    const v = defs.get(r.path);
    if (typeof v === "number" && r.type === "duration") return `\`${ms(v)}\``;
    if (typeof v === "number" && r.type === "size") return `\`${bytes(v)}\``;
    return `\`${JSON.stringify(v)}\``;
  };
  const change = (path: string) => {
    const rule = ruleFor(path.replace(/\[\]/g, "[0]"));
    if (!rule) return "–";
    return `${rule.mode === "live" ? "live" : "restart"}${rule.fileOnly ? ", file only" : ""}`;
  };
  const sections = [...new Set(rows.map((r) => r.path.split(/[.[]/)[0]!))];
  const out = [
    "# Config reference",
    "",
    "Generated from the schema (`src/config/schema.ts`) by `npx bun scripts/docs/config.ts`; a test fails when this file",
    "drifts. `config/examples/full.yaml` shows every setting in use. Unknown keys are errors. Durations are written",
    '`500ms`, `10s`, `5m`, `1h` (or milliseconds), sizes `512MiB`, `2GB` (or bytes), counts as a number, `"auto"` (one',
    'per core) or `"2x"` (a multiple of the cores). `[]` in a path is any entry of a list.',
    "",
    "**On change** is what a reload (SIGHUP, `POST /v1/reload`, `PATCH /v1/config`) does with a new value, from the one",
    "settings table (`src/config/settings.ts`): `live` applies at once; `restart` is refused with `409 restart_required`",
    "and nothing changes; `file only` is refused through the API (`403`) and may change only in the file.",
    "",
    "`PATCH /v1/config` changes are kept in `<data_dir>/config-overlay.json` and applied on top of the file at every start",
    "and reload; in a patch, a list whose entries all have a `name` merges entry by entry (`{name, $patch: delete}` removes",
    "one); other lists are replaced whole. `DELETE /v1/config/overlay` goes back to the file alone.",
    "",
    "Environment overrides: `POLIS_API_TOKEN` adds an admin token; `POLIS_<SECTION>_<KEY>` sets the scalars listed in the",
    "README. Only `./.env` is read (never `.env.local` or `.env.<NODE_ENV>`); variables already set win.",
    "",
    "Every problem is reported at once with its path, its line and column in the file, the offending value, and for an",
    "unknown key the nearest known one. Documents over 1 MiB, with more than 100 alias expansions or nested deeper",
    "than 64 levels are refused.",
  ];
  for (const s of sections) {
    out.push("", `## ${s}`, "", "| setting | type | default | on change |", "|---|---|---|---|");
    for (const r of rows.filter((x) => x.path === s || x.path.startsWith(`${s}.`) || x.path.startsWith(`${s}[`))) {
      out.push(`| \`${r.path}\` | ${r.type} | ${show(r)} | ${change(r.path)} |`);
    }
  }
  return `${out.join("\n")}\n`;
}

if (import.meta.main) {
  writeFileSync(DOC_FILE, renderConfigDoc());
  console.log(`wrote ${DOC_FILE.pathname}`);
}

// The admin API fuzzed from its own /openapi.json with fast-check: every operation, path parameters and bodies built
// from the request schema (then broken: wrong types, unknown keys, deep nesting, plain garbage). Nothing may answer
// 500 or drop the connection; every 4xx/5xx carries the JSON envelope; the agent stays up and ready.
import fc from "fast-check";
import { chaosAgent, crashLines, emptyFigures, type Figures, type Scenario } from "./_harness.ts";

type Schema = { type?: string | string[]; properties?: Record<string, Schema>; required?: string[]; items?: Schema; enum?: unknown[]; anyOf?: Schema[]; oneOf?: Schema[]; $ref?: string; minimum?: number; maximum?: number };
type Op = { method: string; path: string; body?: Schema };

/** Operations that stream (SSE, WebSocket) or would lock the fuzzer out of the API; the config has its own scenario. */
const SKIP = [/\/follow$/, /^\/v1\/events$/, /^\/v1\/config$/, /^\/v1\/reload$/];
const BAD_VALUES = fc.oneof(fc.constant(null), fc.string({ maxLength: 40 }), fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.constant([]), fc.constant({}), fc.constant(-1), fc.constant(1e308), fc.constant("1e309"));

function resolve(s: Schema, root: Record<string, unknown>): Schema {
  if (!s.$ref) return s;
  const parts = s.$ref.replace(/^#\//, "").split("/");
  let v: unknown = root;
  for (const p of parts) v = (v as Record<string, unknown>)?.[p];
  return (v as Schema) ?? {};
}

/** Values shaped by the schema, with a share of wrong ones at every level. */
function fromSchema(s0: Schema, root: Record<string, unknown>, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(s0, root);
  if (depth > 4) return BAD_VALUES;
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return fc.oneof(...alts.map((a) => fromSchema(a, root, depth + 1)));
  if (s.enum) return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...s.enum) }, { weight: 1, arbitrary: BAD_VALUES });
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  let shaped: fc.Arbitrary<unknown>;
  switch (type) {
    case "object": {
      const props = Object.entries(s.properties ?? {});
      const rec = fc.record(Object.fromEntries(props.map(([k, v]) => [k, fromSchema(v, root, depth + 1)])), { requiredKeys: [] });
      shaped = fc.oneof({ weight: 4, arbitrary: rec }, { weight: 1, arbitrary: fc.tuple(rec, fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue()).map(([r, k, v]) => ({ ...(r as object), [k]: v })) });
      break;
    }
    case "array":
      shaped = fc.array(fromSchema(s.items ?? {}, root, depth + 1), { maxLength: 5 });
      break;
    case "integer":
      shaped = fc.oneof(fc.integer({ min: s.minimum ?? -5, max: Math.min(s.maximum ?? 50, 50) }), fc.integer());
      break;
    case "number":
      shaped = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: -5, max: 50 }));
      break;
    case "string":
      shaped = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom("1s", "500ms", "127.0.0.1:1", "demo", "default", "a=b"));
      break;
    case "boolean":
      shaped = fc.boolean();
      break;
    default:
      shaped = fc.jsonValue({ maxDepth: 3 });
  }
  return fc.oneof({ weight: 5, arbitrary: shaped }, { weight: 1, arbitrary: BAD_VALUES });
}

const deep = (n: number) => "[".repeat(n) + "]".repeat(n);

export const apiFuzz: Scenario = {
  name: "api-fuzz",
  goal: "every operation of /openapi.json fuzzed (schema-shaped and broken bodies, odd path parameters): 0 answers of 500 or without the envelope, 0 dropped connections, 0 crashes",
  judged: ["failed", "crashes"],
  async run(ctx) {
    const f: Figures = emptyFigures();
    const { agent } = await chaosAgent({ apps: 1 });
    await using _ = agent;
    const spec = (await (await fetch(`${agent.url}/openapi.json`)).json()) as Record<string, unknown>;
    const ops: Op[] = [];
    for (const [path, methods] of Object.entries(spec.paths as Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: Schema }> } }>>)) {
      if (SKIP.some((r) => r.test(path))) continue;
      for (const [method, op] of Object.entries(methods)) {
        if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
        const body = op.requestBody?.content?.["application/json"]?.schema;
        ops.push({ method: method.toUpperCase(), path, ...(body ? { body } : {}) });
      }
    }
    const param = fc.oneof(fc.constantFrom("demo", "default", "web", "http", "demo-0", "0", "..", "%2e%2e", "a b"), fc.string({ minLength: 1, maxLength: 20 }));
    const cases = fc.sample(
      fc.integer({ min: 0, max: ops.length - 1 }).chain((i) => {
        const op = ops[i]!;
        const names = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
        const body = op.body ? fc.oneof({ weight: 6, arbitrary: fromSchema(op.body, spec).map((v) => JSON.stringify(v) ?? "null") }, { weight: 1, arbitrary: fc.constantFrom(deep(50_000), "{", "", "null", '{"a":' + "1".repeat(400) + "}") }) : fc.constant(undefined);
        return fc.record({ op: fc.constant(op), params: fc.tuple(...names.map(() => param)), body });
      }),
      { numRuns: Math.max(300, Math.round(3000 * ctx.scale)), seed: Number(process.env.CHAOS_SEED ?? 1) },
    );
    const bad: string[] = [];
    for (const c of cases) {
      let i = 0;
      const path = c.op.path.replace(/\{\w+\}/g, () => encodeURIComponent(String(c.params[i++])));
      f.sent++;
      try {
        const res = await agent.api(path, { method: c.op.method, ...(c.body !== undefined && c.op.method !== "GET" ? { body: c.body } : {}), signal: AbortSignal.timeout(30_000) });
        const text = await res.text();
        let envelope = res.status < 400;
        if (!envelope) {
          try {
            const j = JSON.parse(text) as { code?: unknown; message?: unknown };
            envelope = typeof j.code === "string" && typeof j.message === "string";
          } catch {
            envelope = false;
          }
        }
        if (res.status === 500 || !envelope) bad.push(`${c.op.method} ${path} -> ${res.status} ${text.slice(0, 100)}`);
      } catch (e) {
        bad.push(`${c.op.method} ${path} -> ${(e as Error).message}`);
      }
    }
    const ready = await fetch(`${agent.url}/readyz`).then((r) => r.status, () => 0);
    f.failed = bad.length;
    f.crashes = crashLines(agent).length + (agent.proc.exitCode !== null ? 1 : 0) + (ready === 200 ? 0 : 1);
    f.notes = `${ops.length} operations (streams and /v1/config left to their own scenarios); seed ${process.env.CHAOS_SEED ?? 1}${bad.length ? `; ${bad.slice(0, 3).join("; ")}` : ""}`;
    return f;
  },
};

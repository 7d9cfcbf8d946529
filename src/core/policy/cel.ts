// CEL conditions: one typed environment (the documented context below), expressions compiled and type-checked once
// when a policy is loaded, evaluated per target per tick. CEL has no loops and the context is bounded, so the cost of
// an expression is bounded by its size: the structural limits below cap that size.
//
// Context: target {kind, id, app, labels}, replica {id, age, ready, health, restarts}, app {name, replicas, ready},
// metrics map<string, double> (the target's current samples), host map<string, double>, deployment {in_progress},
// now (timestamp).
import { Environment } from "@marcbachmann/cel-js";
import type { Snapshot, TargetView } from "./types.ts";

/** Caps an expression's size (and so its evaluation cost): nodes, nesting, literal sizes. */
export const CEL_LIMITS = { maxAstNodes: 256, maxDepth: 24, maxListElements: 64, maxMapEntries: 64, maxCallArguments: 8 } as const;
/** Longest expression source accepted. */
export const CEL_MAX_SOURCE = 2048;

const env = new Environment({ limits: CEL_LIMITS })
  .registerType("Target", { fields: { kind: "string", id: "string", app: "string", labels: "map<string, string>" } })
  .registerType("Replica", { fields: { id: "int", age: "google.protobuf.Duration", ready: "bool", health: "string", restarts: "int" } })
  .registerType("App", { fields: { name: "string", replicas: "int", ready: "int" } })
  .registerType("Deployment", { fields: { in_progress: "bool" } })
  .registerVariable("target", "Target")
  .registerVariable("replica", "Replica")
  .registerVariable("app", "App")
  .registerVariable("deployment", "Deployment")
  .registerVariable("metrics", "map<string, double>")
  .registerVariable("host", "map<string, double>")
  .registerVariable("now", "google.protobuf.Timestamp");

// The library does not export its Duration class; one evaluated value gives it (and its factory).
const DurationClass = (env.evaluate("duration('0s')", {}) as { constructor: { fromMilliseconds(ms: number): unknown } }).constructor;

export type CompiledCel = (ctx: CelContext) => boolean;
export type CelContext = Record<string, unknown>;

export function compileCel(source: string): { ok: true; fn: CompiledCel } | { ok: false; message: string } {
  if (source.length > CEL_MAX_SOURCE) return { ok: false, message: `expression is ${source.length} characters; at most ${CEL_MAX_SOURCE}` };
  let parsed: ReturnType<typeof env.parse>;
  try {
    parsed = env.parse(source);
  } catch (e) {
    return { ok: false, message: firstLine(e) };
  }
  const checked = parsed.check();
  if (!checked.valid) return { ok: false, message: firstLine(checked.error) };
  if (checked.type !== "bool") return { ok: false, message: `expression is of type ${checked.type}; a condition must be bool` };
  const fn = parsed as unknown as (ctx: CelContext) => unknown;
  return { ok: true, fn: (ctx) => fn(ctx) === true };
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split("\n")[0]!.trim();
}

/** The context of one target in one tick (built lazily: only when a rule with CEL looks at the target). */
export function celContext(t: TargetView, s: Snapshot): CelContext {
  return {
    target: { kind: t.kind, id: t.id, app: t.app, labels: t.labels },
    replica: {
      id: BigInt(t.replica ?? 0),
      age: DurationClass.fromMilliseconds(Math.max(0, Math.round(t.ageMs))),
      ready: (t.metrics.ready ?? 0) > 0,
      health: t.health,
      restarts: BigInt(Math.round(t.metrics.restarts ?? 0)),
    },
    app: { name: t.app, replicas: BigInt(Math.round(t.metrics.replicas ?? 0)), ready: BigInt(Math.round(t.metrics.ready ?? 0)) },
    deployment: { in_progress: t.deploymentInProgress },
    metrics: t.metrics,
    host: s.host,
    now: new Date(s.now),
  };
}

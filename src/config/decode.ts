// Decode a parsed document into the Config: section by section and list entry by list entry, so the
// cross-field rules still run on every part that decoded while another part is wrong.
import { Exit, Schema } from "effect";
import { collectIssues, type RawProblem } from "./issues.ts";
import { type ConfigProblem, ConfigError, pathString, render } from "./problems.ts";
import { App, Balancer, Config, Service, StandaloneCheck } from "./schema.ts";
import { checkSemantics, type ConfigParts } from "./semantics.ts";
import { closest } from "./suggest.ts";
import type { Located } from "./parse.ts";

const LISTS = { apps: App, checks: StandaloneCheck, balancers: Balancer, services: Service } as const;
type ListKey = keyof typeof LISTS;
const SECTIONS = Object.keys(Config.fields) as Array<keyof typeof Config.fields>;

const opts = { errors: "all", onExcessProperty: "error" } as const;
const sectionDecoders = Object.fromEntries(
  SECTIONS.map((k) => [k, Schema.decodeUnknownExit(Schema.Struct({ [k]: Config.fields[k] }), opts)]),
) as Record<string, (u: unknown) => Exit.Exit<Record<string, unknown>, Schema.SchemaError>>;
const entryDecoders = Object.fromEntries(Object.entries(LISTS).map(([k, s]) => [k, Schema.decodeUnknownExit(s as typeof App, opts)])) as Record<
  ListKey,
  (u: unknown) => Exit.Exit<unknown, Schema.SchemaError>
>;

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): { found: boolean; value?: unknown } {
  let cur: any = root;
  for (const k of path) {
    if (cur === null || typeof cur !== "object" || !(k in cur)) return { found: false };
    cur = cur[k as any];
  }
  return { found: true, value: cur };
}

function issuesOf(exit: Exit.Exit<unknown, Schema.SchemaError>, prefix: readonly PropertyKey[], out: RawProblem[]) {
  if (Exit.isSuccess(exit)) return;
  const err = exit.cause.reasons.find((r) => r._tag === "Fail")?.error as Schema.SchemaError | undefined;
  if (err?.issue) collectIssues(err.issue, prefix, out);
  else out.push({ path: prefix, kind: "value", message: "could not be decoded" });
}

export interface DecodeOptions {
  /** "api.listen" -> "POLIS_API_LISTEN": problems with values from the environment name the variable. */
  readonly envPaths?: ReadonlyMap<string, string>;
  /** Line and column of a path in the file, when the value came from it. */
  readonly locate?: Located;
  readonly cores?: number;
}

/** Decode an already-parsed document. Never throws: returns the config or every problem. */
export function decodeConfig(input: unknown, source: string, o: DecodeOptions = {}): { ok: true; config: Config } | { ok: false; error: ConfigError } {
  const fail = (problems: ConfigProblem[]) => ({ ok: false as const, error: new ConfigError(source, problems) });
  if (input === null || input === undefined) return fail([{ path: "", message: "the config is empty; expected a mapping of sections (agent, api, apps, ...)" }]);
  if (typeof input !== "object" || Array.isArray(input)) return fail([{ path: "", message: "expected a mapping of sections (agent, api, apps, ...)", value: render(input) }]);
  const doc = input as Record<string, unknown>;
  const raw: RawProblem[] = [];
  for (const k of Object.keys(doc)) {
    if (!(SECTIONS as string[]).includes(k)) {
      const hint = closest(k, SECTIONS);
      raw.push({ path: [k], kind: "unknown", message: `unknown key "${k}"${hint ? `; did you mean "${hint}"?` : ""}` });
    }
  }
  const parts: Record<string, unknown> = {};
  let whole = true;
  for (const k of SECTIONS) {
    const v = doc[k];
    if (k in LISTS && Array.isArray(v)) {
      const entries = v.map((e, i) => {
        const exit = entryDecoders[k as ListKey](e);
        issuesOf(exit, [k, i], raw);
        if (Exit.isSuccess(exit)) return exit.value;
        whole = false;
        return undefined;
      });
      parts[k] = entries;
      continue;
    }
    const exit = sectionDecoders[k]!(v === undefined ? {} : { [k]: v });
    issuesOf(exit, [], raw);
    if (Exit.isSuccess(exit)) parts[k] = exit.value[k];
    else {
      whole = false;
      if (k in LISTS) parts[k] = [];
    }
  }
  let problems = raw.map((p) => toProblem(p, doc, o));
  try {
    problems = problems.concat(checkSemantics(parts as unknown as ConfigParts, o.cores).map((p) => withPlace(p, o)));
  } catch (e) {
    // A rule that trips over a half-decoded part must not hide the schema problems already found.
    if (whole) problems.push({ path: "", message: `cross-field checks failed: ${(e as Error).message}` });
  }
  if (problems.length > 0) return fail(problems);
  return { ok: true, config: parts as unknown as Config };
}

function toProblem(p: RawProblem, doc: unknown, o: DecodeOptions): ConfigProblem {
  const ps = pathString(p.path);
  const env = o.envPaths?.get(ps);
  const at = p.kind === "unknown" || p.kind === "missing" ? { found: false } : valueAt(doc, p.path);
  const place = env ? undefined : o.locate?.(p.path, p.kind === "unknown");
  return {
    path: env ? `${env} (${ps})` : ps,
    message: p.message,
    ...(at.found ? { value: render(at.value) } : {}),
    ...(place ? { line: place.line, column: place.column } : {}),
  };
}

/** Semantic problems carry a dotted path; find it in the file when it is there. */
function withPlace(p: ConfigProblem, o: DecodeOptions): ConfigProblem {
  if (!o.locate || !p.path) return p;
  const env = o.envPaths?.get(p.path);
  if (env) return { ...p, path: `${env} (${p.path})` };
  const segs: PropertyKey[] = [];
  for (const m of p.path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) segs.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  const place = o.locate(segs);
  return place ? { ...p, line: place.line, column: place.column } : p;
}

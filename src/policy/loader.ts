// Reads the policy directory (every *.yaml, *.yml, *.json; a YAML file may hold several documents) and validates the
// whole set: each document, names unique across files, declared tasks only. Any problem refuses the whole set.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import type { Policy } from "../core/policy/types.ts";
import { policyKey } from "../core/policy/types.ts";
import { validatePolicy } from "../core/policy/validate.ts";

export interface PolicyFileProblem {
  readonly file: string;
  readonly path: string;
  readonly message: string;
}

export type PolicySetResult = { ok: true; policies: Policy[]; files: string[] } | { ok: false; problems: PolicyFileProblem[]; message: string };

/** Bigger files are refused: a policy file is read whole on every reload. */
const MAX_FILE_BYTES = 1 << 20;

/** Where the policy files are: `policies.dir` (relative to the config file), or `policies/` beside the config file. */
export function policyDir(dir: string | undefined, configPath: string | undefined): string | undefined {
  if (dir !== undefined) return isAbsolute(dir) || !configPath ? resolve(dir) : resolve(dirname(configPath), dir);
  return configPath ? join(dirname(resolve(configPath)), "policies") : undefined;
}

/** Decodes one file's text into documents (YAML, several separated by ---, or JSON: one document or a list). */
export function parsePolicyText(text: string, file: string): { docs: unknown[]; problems: PolicyFileProblem[] } {
  const problems: PolicyFileProblem[] = [];
  if (file.endsWith(".json")) {
    try {
      const v = JSON.parse(text) as unknown;
      return { docs: Array.isArray(v) ? v : [v], problems };
    } catch (e) {
      return { docs: [], problems: [{ file, path: "(root)", message: `not JSON: ${(e as Error).message}` }] };
    }
  }
  const docs: unknown[] = [];
  for (const d of parseAllDocuments(text) as unknown as Iterable<{ errors: Array<{ message: string; linePos?: Array<{ line: number; col: number }> }>; toJS(o?: { maxAliasCount?: number }): unknown; contents: unknown }>) {
    if (d.errors.length > 0) {
      for (const err of d.errors) problems.push({ file, path: err.linePos?.[0] ? `line ${err.linePos[0].line}, column ${err.linePos[0].col}` : "(root)", message: `not YAML: ${err.message.split("\n")[0]}` });
      continue;
    }
    if (d.contents === null) continue;
    // A bounded alias count: a "billion laughs" document is refused, not expanded.
    try {
      docs.push(d.toJS({ maxAliasCount: 100 }));
    } catch (e) {
      problems.push({ file, path: "(root)", message: `not usable YAML: ${(e as Error).message}` });
    }
  }
  return { docs, problems };
}

/** Validates documents from one source; problems carry `file` (or "api") and the path inside the document. */
export function validateDocuments(docs: readonly unknown[], file: string, known: { tasks: readonly string[] | null }): { policies: Policy[]; problems: PolicyFileProblem[] } {
  const policies: Policy[] = [];
  const problems: PolicyFileProblem[] = [];
  docs.forEach((doc, i) => {
    const prefix = docs.length > 1 ? `[${i}].` : "";
    const r = validatePolicy(doc, file, known);
    if (!r.ok) return void problems.push(...r.problems.map((p) => ({ file, path: `${prefix}${p.path}`, message: p.message })));
    policies.push(r.policy);
  });
  return { policies, problems };
}

/** The whole directory, or every problem in it. A missing directory is an empty set. */
export function loadPolicyDir(dir: string | undefined, known: { tasks: readonly string[] }): PolicySetResult {
  if (dir === undefined) return { ok: true, policies: [], files: [] };
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /\.(ya?ml|json)$/.test(n)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { ok: true, policies: [], files: [] };
    return { ok: false, problems: [{ file: dir, path: "(root)", message: `cannot read the policy directory: ${(e as Error).message}` }], message: `cannot read the policy directory ${dir}` };
  }
  const problems: PolicyFileProblem[] = [];
  const policies: Policy[] = [];
  const files: string[] = [];
  const seen = new Map<string, string>();
  for (const n of names) {
    const file = join(dir, n);
    let text: string;
    try {
      if (statSync(file).size > MAX_FILE_BYTES) {
        problems.push({ file, path: "(root)", message: `file is larger than ${MAX_FILE_BYTES} bytes` });
        continue;
      }
      text = readFileSync(file, "utf8");
    } catch (e) {
      problems.push({ file, path: "(root)", message: `cannot read: ${(e as Error).message}` });
      continue;
    }
    files.push(file);
    const parsed = parsePolicyText(text, file);
    problems.push(...parsed.problems);
    const v = validateDocuments(parsed.docs, file, known);
    problems.push(...v.problems);
    for (const p of v.policies) {
      const k = policyKey(p);
      const other = seen.get(k);
      if (other) problems.push({ file, path: "metadata.name", message: `policy ${k} is also defined in ${other}` });
      else seen.set(k, file);
      policies.push(p);
    }
  }
  if (problems.length > 0) return { ok: false, problems, message: summary(problems) };
  return { ok: true, policies, files };
}

export function summary(problems: readonly PolicyFileProblem[]): string {
  const first = problems.slice(0, 3).map((p) => `${p.file}: ${p.path}: ${p.message}`).join("; ");
  return `policies refused: ${first}${problems.length > 3 ? `; and ${problems.length - 3} more` : ""}`;
}

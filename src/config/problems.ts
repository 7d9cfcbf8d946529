// What a config failure is: a list of problems, each with its path, message, offending value and place in the file.

export interface ConfigProblem {
  /** Where: "apps[0].port", or "POLIS_API_LISTEN (api.listen)" for an environment override. */
  readonly path: string;
  readonly message: string;
  /** The offending value, rendered short; absent for missing keys. */
  readonly value?: string;
  /** Where in the file (1-based), when the path is in the file. */
  readonly line?: number;
  readonly column?: number;
}

export class ConfigError extends Error {
  readonly _tag = "ConfigError";
  constructor(
    readonly source: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    super(`${source}: ${problems.length} problem${problems.length === 1 ? "" : "s"}\n${formatProblems(problems)}`);
  }
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: ConfigError };

export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems
    .map((p) => {
      const where = p.line === undefined ? "" : ` at line ${p.line}, column ${p.column ?? 1}`;
      return `  - ${p.path || "(root)"}: ${p.message}${p.value === undefined ? "" : ` (got ${p.value})`}${where}`;
    })
    .join("\n");
}

/** A value as JSON, cut to 80 characters, for "got ..." in a problem. */
export function render(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export function pathString(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const k of path) out += typeof k === "number" ? `[${k}]` : out ? `.${String(k)}` : String(k);
  return out;
}

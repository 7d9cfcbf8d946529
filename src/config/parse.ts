// Config text to a plain value: YAML (JSON is YAML) with bounded size and alias expansion, and a map from a
// value's path back to its line and column in the file.
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { type ConfigProblem, ConfigError } from "./problems.ts";

/** A config is a few kilobytes; a larger file is a mistake or an attack, and parsing it would hold the agent up. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Alias expansions allowed per document: enough for shared defaults, far too few for a billion-laughs bomb. */
export const MAX_ALIAS_COUNT = 100;
/** Nesting deeper than this is no config; deep enough for every setting (the schema nests 5 levels). */
export const MAX_CONFIG_DEPTH = 64;

/** Line and column (1-based) of the value at a path, or of its key when `key` is set (an unknown key). */
export type Located = (path: readonly PropertyKey[], key?: boolean) => { line: number; column: number } | undefined;

export interface ParsedText {
  readonly value: unknown;
  /** Line and column of the value (or key) at a path; undefined when the path is not in the text. */
  readonly locate: Located;
}

function depthOf(value: unknown, limit: number): boolean {
  // Iterative so a hostile document cannot overflow the stack here either.
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (d >= limit) return false;
    for (const c of Object.values(v)) if (c !== null && typeof c === "object") stack.push([c, d + 1]);
  }
  return true;
}

/** Parse config text. Never throws: syntax errors, caps and parser failures are problems with a place. */
export function parseConfigText(text: string, source: string): { ok: true; parsed: ParsedText } | { ok: false; error: ConfigError } {
  const fail = (problems: ConfigProblem[]) => ({ ok: false as const, error: new ConfigError(source, problems) });
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_CONFIG_BYTES) return fail([{ path: "", message: `the config is ${bytes} bytes; the limit is ${MAX_CONFIG_BYTES}` }]);
  const lines = new LineCounter();
  try {
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter: lines });
    if (doc.errors.length > 0) {
      return fail(
        doc.errors.map((e) => {
          const pos = e.linePos?.[0];
          return { path: "", message: e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, ""), ...(pos ? { line: pos.line, column: pos.col } : {}) };
        }),
      );
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      // yaml throws a ReferenceError for alias bombs; any failure here is the document's, not the agent's.
      const alias = e instanceof ReferenceError && /alias/i.test(e.message);
      return fail([{ path: "", message: alias ? `too many alias expansions (the limit is ${MAX_ALIAS_COUNT}): expand the anchors by hand or use fewer aliases` : `cannot read the document: ${(e as Error).message}` }]);
    }
    if (!depthOf(value, MAX_CONFIG_DEPTH)) return fail([{ path: "", message: `the config nests deeper than ${MAX_CONFIG_DEPTH} levels` }]);
    const locate: Located = (path, key = false) => {
      let node: unknown = doc.contents;
      let at: Node | undefined = (doc.contents as Node | null) ?? undefined;
      for (let i = 0; i < path.length; i++) {
        const k = path[i];
        if (isMap(node)) {
          const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(k));
          if (!pair) break;
          at = (((key && i === path.length - 1 ? pair.key : pair.value) ?? pair.key) as Node | null) ?? at;
          node = pair.value;
        } else if (isSeq(node) && typeof k === "number" && node.items[k]) {
          node = node.items[k];
          at = node as Node;
        } else break;
      }
      const range = at?.range;
      if (!range) return undefined;
      const pos = lines.linePos(range[0]);
      return { line: pos.line, column: pos.col };
    };
    return { ok: true, parsed: { value, locate } };
  } catch (e) {
    return fail([{ path: "", message: `cannot parse the document: ${(e as Error).message}` }]);
  }
}

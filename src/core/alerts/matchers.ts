// Label matchers as Alertmanager writes them (`name=value`, `name!=value`, `name=~regex`, `name!~regex`), parsed
// once and matched against a label set. A regex is anchored, as in Alertmanager.
import type { Matcher, MatchOp } from "./types.ts";

const MATCHER = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/;
const regexCache = new Map<string, RegExp>();

/** Parses one matcher; throws an Error saying what is wrong with the text. */
export function parseMatcher(text: string): Matcher {
  const m = MATCHER.exec(text);
  if (!m) throw new Error(`"${text}" is not a matcher: expected NAME=VALUE, NAME!=VALUE, NAME=~REGEX or NAME!~REGEX`);
  let value = m[3]!;
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  const op = m[2] as MatchOp;
  if (op === "=~" || op === "!~") {
    try {
      regexOf(value);
    } catch (e) {
      throw new Error(`"${text}": invalid regular expression: ${(e as Error).message}`);
    }
  }
  return { name: m[1]!, op, value };
}

function regexOf(source: string): RegExp {
  let r = regexCache.get(source);
  if (!r) {
    r = new RegExp(`^(?:${source})$`);
    if (regexCache.size > 10_000) regexCache.clear();
    regexCache.set(source, r);
  }
  return r;
}

export function matches(m: Matcher, labels: Readonly<Record<string, string>>): boolean {
  const v = labels[m.name] ?? "";
  switch (m.op) {
    case "=":
      return v === m.value;
    case "!=":
      return v !== m.value;
    case "=~":
      return regexOf(m.value).test(v);
    case "!~":
      return !regexOf(m.value).test(v);
  }
}

/** Every matcher holds (an empty list matches everything). */
export function matchesAll(ms: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  for (const m of ms) if (!matches(m, labels)) return false;
  return true;
}

export function matcherText(m: Matcher): string {
  return `${m.name}${m.op}${/[\s,"]/.test(m.value) ? JSON.stringify(m.value) : m.value}`;
}

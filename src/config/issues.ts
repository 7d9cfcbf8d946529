// Schema issues to config problems: one problem per real mistake, with "did you mean" for unknown keys.
// A union reports the member the input was meant for (the one whose keys it has), not every member's complaint.
import { SchemaAST, SchemaIssue } from "effect";
import { closest } from "./suggest.ts";

type Kind = "type" | "value" | "missing" | "unknown";

export interface RawProblem {
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly kind: Kind;
}

const format = SchemaIssue.makeFormatterDefault();

function keysOf(ast: SchemaAST.AST): string[] {
  return SchemaAST.isObjects(ast) ? ast.propertySignatures.map((p) => String(p.name)) : [];
}

function unknownKey(path: readonly PropertyKey[], known: readonly string[]): RawProblem {
  const key = String(path[path.length - 1]);
  const hint = closest(key, known);
  return { path, kind: "unknown", message: `unknown key "${key}"${hint ? `; did you mean "${hint}"?` : ""}` };
}

/** Flatten an issue tree into problems, choosing one member of each failed union. */
export function collectIssues(issue: SchemaIssue.Issue, path: readonly PropertyKey[], out: RawProblem[]): void {
  switch (issue._tag) {
    case "Pointer":
      return collectIssues(issue.issue, [...path, ...issue.path], out);
    case "Composite":
      for (const i of issue.issues) collectIssues(i, path, out);
      return;
    case "Encoding":
      return collectIssues(issue.issue, path, out);
    case "Filter":
      // A failed check carries its own message; anything deeper is a structure to walk.
      if (issue.issue._tag === "InvalidValue" || issue.issue._tag === "InvalidType") out.push({ path, kind: "value", message: format(issue) });
      else collectIssues(issue.issue, path, out);
      return;
    case "UnexpectedKey":
      out.push(unknownKey(path, keysOf(issue.ast)));
      return;
    case "MissingKey":
      out.push({ path, kind: "missing", message: "required field is missing" });
      return;
    case "InvalidType":
      out.push({ path, kind: "type", message: format(issue) });
      return;
    case "AnyOf":
      return collectUnion(issue, path, out);
    default:
      out.push({ path, kind: "value", message: format(issue) });
  }
}

/** Keys that do not belong to the member's shape: an unknown key, or a required one absent, right at the union. */
function structural(ps: readonly RawProblem[], depth: number): number {
  return ps.filter((p) => (p.kind === "unknown" || p.kind === "missing") && p.path.length === depth + 1).length;
}

function collectUnion(issue: SchemaIssue.AnyOf, path: readonly PropertyKey[], out: RawProblem[]): void {
  if (issue.issues.length === 0) {
    out.push({ path, kind: "type", message: format(issue) });
    return;
  }
  const members = issue.issues.map((i, n) => {
    const ps: RawProblem[] = [];
    collectIssues(i, path, ps);
    // A member rejected for its type alone (a number where an object is expected) was not what the input meant.
    const wrongType = ps.length === 1 && ps[0]!.kind === "type" && ps[0]!.path.length === path.length;
    return { ps, wrongType, score: structural(ps, path.length), n };
  });
  const applicable = members.filter((m) => !m.wrongType);
  if (applicable.length === 0) {
    const expected = [...new Set(members.map((m) => m.ps[0]!.message.replace(/^Expected /, "")))];
    out.push({ path, kind: "type", message: `Expected ${expected.join(" or ")}` });
    return;
  }
  applicable.sort((a, b) => a.score - b.score || a.ps.length - b.ps.length || a.n - b.n);
  const best = applicable[0]!;
  const tied = applicable.filter((m) => m.score === best.score);
  if (best.score === 0 || tied.length === 1) {
    out.push(...best.ps);
    return;
  }
  // The input fits no member's keys: name the forms, and suggest a key from any of them.
  const shapes = issue.ast.types.map(keysOf);
  const known = shapes.flat();
  const unknown = new Map<string, RawProblem>();
  for (const m of tied) {
    for (const p of m.ps) {
      const key = String(p.path[path.length]);
      if (p.kind === "unknown" && p.path.length === path.length + 1 && !known.includes(key)) unknown.set(key, unknownKey(p.path, known));
    }
  }
  out.push(...unknown.values());
  const forms = shapes.filter((s) => s.length > 0).map((s) => `{${s.join(", ")}}`);
  out.push({ path, kind: "value", message: `expected one of the forms ${forms.join(" | ")}` });
}

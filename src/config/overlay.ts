// The config overlay: accepted PATCH /v1/config changes, kept in <data_dir>/config-overlay.json and applied on top of
// the file at every load (start, SIGHUP), so an API change survives both and the file stays the operator's.
//
// Patches are JSON merge patches (RFC 7386: objects merge, null deletes) with one extension from Kubernetes'
// strategic merge: a list whose entries all have a `name` merges entry by entry, by name (services by namespace and
// name), and an entry {name, $patch: delete} removes that entry. Other lists are replaced whole.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ConfigProblem } from "./problems.ts";

export const OVERLAY_FILE = "config-overlay.json";
const DIRECTIVE = "$patch";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const keyOf = (v: Obj) => `${typeof v.namespace === "string" ? v.namespace : "default"}/${String(v.name)}`;
const isNamedList = (v: unknown): v is Obj[] => Array.isArray(v) && v.length > 0 && v.every((e) => isObj(e) && typeof e.name === "string");
const isDelete = (v: unknown) => isObj(v) && v[DIRECTIVE] === "delete";
const isReplace = (v: unknown) => isObj(v) && v[DIRECTIVE] === "replace";
const strip = (v: Obj): Obj => {
  const { [DIRECTIVE]: _, ...rest } = v;
  return rest;
};

/** Apply a patch to a document (the document is not modified). */
export function strategicMerge(target: unknown, patch: unknown): unknown {
  if (isReplace(patch)) return strategicMerge(undefined, strip(patch as Obj));
  if (isNamedList(patch) && (target === undefined || isNamedList(target) || (Array.isArray(target) && target.length === 0))) {
    const out: Obj[] = [...((target as Obj[] | undefined) ?? [])];
    for (const p of patch) {
      const i = out.findIndex((t) => keyOf(t) === keyOf(p));
      if (isDelete(p) || (isReplace(p) && i >= 0)) {
        // A replaced entry is one deleted and added again (what composing those two patches makes): it goes last.
        if (i >= 0) out.splice(i, 1);
        if (isReplace(p)) out.push(strategicMerge(undefined, p) as Obj);
      } else if (i >= 0) out[i] = strategicMerge(out[i], p) as Obj;
      else out.push(strategicMerge(undefined, p) as Obj);
    }
    return out;
  }
  if (!isObj(patch)) return patch;
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === DIRECTIVE) continue;
    if (v === null) delete out[k];
    else out[k] = strategicMerge(out[k], v);
  }
  return out;
}

/** One patch with the effect of `a` then `b`, so the overlay stays one document however many PATCHes it took. */
export function composePatches(a: unknown, b: unknown): unknown {
  if (!isObj(b) && !isNamedList(b)) return b;
  if (isReplace(b)) return b;
  if (isNamedList(b)) {
    if (!isNamedList(a)) return a === undefined ? b : strategicMerge(a, b);
    const out: Obj[] = [...a];
    for (const p of b) {
      const i = out.findIndex((t) => keyOf(t) === keyOf(p));
      if (i < 0) out.push(p);
      else if (isDelete(p)) out[i] = p;
      else if (isDelete(out[i])) out[i] = { ...strategicMerge(undefined, p) as Obj, [DIRECTIVE]: "replace" };
      else out[i] = composePatches(out[i], p) as Obj;
    }
    return out;
  }
  // b is a merge object.
  if (a === undefined) return b;
  if (!isObj(a) || isReplace(a)) {
    // `a` set a concrete value (or deleted it); merging `b` into that value gives a concrete value again.
    const base = a === null ? undefined : isReplace(a) ? strip(a as Obj) : a;
    const v = strategicMerge(base, b);
    return isObj(v) ? { ...v, [DIRECTIVE]: "replace" } : v;
  }
  const out: Obj = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in out ? composePatches(out[k], v) : v;
  return out;
}

export interface Overlay {
  readonly file: string;
  /** The composed patch, or undefined when there is none. */
  read(): { ok: true; patch: unknown } | { ok: false; problem: ConfigProblem };
  write(patch: unknown): void;
  remove(): boolean;
}

export function overlayAt(dataDir: string): Overlay {
  const file = join(dataDir, OVERLAY_FILE);
  return {
    file,
    read() {
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return { ok: true, patch: undefined };
        return { ok: false, problem: { path: "", message: `cannot read the config overlay ${file}: ${(e as Error).message}` } };
      }
      try {
        const v = JSON.parse(text) as unknown;
        if (!isObj(v)) return { ok: false, problem: { path: "", message: `the config overlay ${file} is not a JSON object; delete it (DELETE /v1/config/overlay) or fix it` } };
        return { ok: true, patch: v };
      } catch (e) {
        return { ok: false, problem: { path: "", message: `the config overlay ${file} is not valid JSON (${(e as Error).message}); delete it or fix it` } };
      }
    },
    write(patch) {
      mkdirSync(dataDir, { recursive: true });
      // Write then rename: a crash mid-write leaves the old overlay, never half of a new one.
      const tmp = `${file}.tmp`;
      writeFileSync(tmp, `${JSON.stringify(patch, null, 2)}\n`, { mode: 0o600 });
      renameSync(tmp, file);
    },
    remove() {
      try {
        rmSync(file);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** Paths ("apps[0].replicas") whose value in `merged` differs from the file's: what the overlay contributes. */
export function overlayPaths(file: unknown, merged: unknown, at = "", out: string[] = []): string[] {
  if (JSON.stringify(file) === JSON.stringify(merged)) return out;
  if (isObj(merged) && isObj(file)) {
    for (const k of new Set([...Object.keys(file), ...Object.keys(merged)])) overlayPaths(file[k], merged[k], at ? `${at}.${k}` : k, out);
    return out;
  }
  if (isNamedList(merged) && isNamedList(file)) {
    merged.forEach((m, i) => overlayPaths(file.find((f) => keyOf(f) === keyOf(m)), m, `${at}[${i}]`, out));
    return out;
  }
  out.push(at);
  return out;
}

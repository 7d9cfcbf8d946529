// Revisions of an app: what a replica runs (command, args, env, cwd, readiness, checks, memory limit) named by a
// content hash and a number that only grows. Pure: the history is a value; the caller persists it.
import { FNV_SEED, fnv1a32 } from "../hashing/hash.ts";

/** The fields of an app that make a revision, as the config spells them. */
export type RevisionFields = Readonly<Record<string, unknown>>;

export type RevisionSource = "config" | "api" | "cli" | "rollback";

export interface Revision {
  readonly number: number;
  /** 16 hex digits over the canonical JSON of the fields. */
  readonly hash: string;
  readonly fields: RevisionFields;
  readonly source: RevisionSource;
  /** Wall-clock ms. */
  readonly createdAt: number;
  /** Who asked (token name for the API, "file" for a reload). */
  readonly by: string;
}

/** JSON with object keys sorted, so two equal specs hash alike whatever order their keys came in. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(",")}}`;
}

export function revisionHash(fields: RevisionFields): string {
  const s = canonicalJson(fields);
  // Two differently seeded 32-bit hashes: 64 bits, so an accidental match across an app's history is not a concern.
  const a = fnv1a32(s) >>> 0;
  const b = fnv1a32(s, fnv1a32("polis-revision", FNV_SEED)) >>> 0;
  return a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0");
}

export interface RecordResult {
  readonly history: readonly Revision[];
  readonly revision: Revision;
  /** False when the fields matched an existing revision (it is reused, not copied). */
  readonly created: boolean;
}

/**
 * The revision for `fields`: the newest one with the same hash, or a new one numbered after the newest. Keeps at
 * most `keep` revisions, never dropping the numbers in `pinned` (the running one, the one a rollout replaces).
 */
export function recordRevision(
  history: readonly Revision[],
  fields: RevisionFields,
  meta: { source: RevisionSource; by: string; now: number; keep: number; pinned: readonly number[] },
): RecordResult {
  const hash = revisionHash(fields);
  const same = [...history].reverse().find((r) => r.hash === hash);
  if (same) return { history, revision: same, created: false };
  const number = history.reduce((m, r) => Math.max(m, r.number), 0) + 1;
  const revision: Revision = { number, hash, fields, source: meta.source, createdAt: meta.now, by: meta.by };
  return { history: prune([...history, revision], meta.keep, [...meta.pinned, number]), revision, created: true };
}

/** Oldest first out, keeping `pinned`; the result is sorted by number. */
export function prune(history: readonly Revision[], keep: number, pinned: readonly number[]): Revision[] {
  const sorted = [...history].sort((a, b) => a.number - b.number);
  let excess = sorted.length - Math.max(1, keep);
  return sorted.filter((r) => {
    if (excess <= 0 || pinned.includes(r.number)) return true;
    excess--;
    return false;
  });
}

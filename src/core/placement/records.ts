// What the placement leader writes to etcd and every agent reads back: the leader key, one key per allocated slot,
// one status record per cluster app. Checked decoding (a record is input from the network). Pure: no I/O.
//
//   <prefix>/leader                  LeaderRecord      (under the leader's node lease: it goes when the leader dies)
//   <prefix>/alloc/<app>/<slot>      AllocationRecord  (no lease: allocations outlive any one leader)
//   <prefix>/placement/<app>         AppStatusRecord   (the leader's last pass for the app)
import type { Allocation, PlacementApp, Unplaceable } from "./types.ts";

export const leaderKey = (prefix: string) => `${prefix}/leader`;
export const allocPrefix = (prefix: string) => `${prefix}/alloc/`;
export const allocKey = (prefix: string, app: string, slot: number) => `${prefix}/alloc/${app}/${slot}`;
export const statusPrefix = (prefix: string) => `${prefix}/placement/`;
export const statusKey = (prefix: string, app: string) => `${prefix}/placement/${app}`;

export interface LeaderRecord {
  readonly node: string;
  /** Wall-clock ms this node became leader. */
  readonly since: number;
}

/** An allocation as stored: the slot's node, plus the leader term (the leader key's create revision) that wrote it. */
export interface AllocationRecord extends Allocation {
  readonly term: string;
}

export interface AppStatusRecord {
  readonly app: string;
  readonly spec: PlacementApp;
  readonly placed: number;
  readonly unplaceable: readonly Unplaceable[];
  readonly pending: number;
  readonly term: string;
  /** Wall-clock ms of the pass. */
  readonly at: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
export type PlacementKey = { kind: "leader" } | { kind: "alloc"; app: string; slot: number } | { kind: "status"; app: string } | { kind: "other" };

export function parsePlacementKey(prefix: string, key: string): PlacementKey {
  if (key === leaderKey(prefix)) return { kind: "leader" };
  if (!key.startsWith(`${prefix}/`)) return { kind: "other" };
  const parts = key.slice(prefix.length + 1).split("/");
  if (parts[0] === "alloc" && parts.length === 3 && NAME.test(parts[1]!) && /^(0|[1-9]\d{0,4})$/.test(parts[2]!)) return { kind: "alloc", app: parts[1]!, slot: Number(parts[2]) };
  if (parts[0] === "placement" && parts.length === 2 && NAME.test(parts[1]!)) return { kind: "status", app: parts[1]! };
  return { kind: "other" };
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const parse = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};
const int = (v: unknown, min = 0) => typeof v === "number" && Number.isInteger(v) && v >= min;

export function decodeLeader(text: string): Decoded<LeaderRecord> {
  const o = parse(text);
  if (!isObj(o) || typeof o.node !== "string" || !NAME.test(o.node)) return { ok: false, reason: "node: expected a node name" };
  return { ok: true, value: { node: o.node, since: typeof o.since === "number" ? o.since : 0 } };
}

export function decodeAllocation(text: string, app: string, slot: number): Decoded<AllocationRecord> {
  const o = parse(text);
  if (!isObj(o)) return { ok: false, reason: "not a JSON object" };
  if (o.app !== app || o.slot !== slot) return { ok: false, reason: `app/slot ${JSON.stringify(o.app)}/${JSON.stringify(o.slot)} do not match the key` };
  if (typeof o.node !== "string" || !NAME.test(o.node)) return { ok: false, reason: "node: expected a node name" };
  if (!int(o.generation, 1) || !int(o.reschedules) || typeof o.placedAt !== "number" || typeof o.term !== "string") return { ok: false, reason: "generation, reschedules, placedAt, term: expected numbers and a term" };
  return { ok: true, value: { app, slot, node: o.node, generation: o.generation as number, reschedules: o.reschedules as number, placedAt: o.placedAt, term: o.term } };
}

export const encodeAllocation = (a: Allocation, term: string) => JSON.stringify({ app: a.app, slot: a.slot, node: a.node, generation: a.generation, reschedules: a.reschedules, placedAt: a.placedAt, term });

const num = (v: unknown) => typeof v === "number" && Number.isFinite(v);
const str = (v: unknown) => typeof v === "string";
const SPREADS = new Set(["zone", "node", "none"]);
const OPS = new Set(["eq", "neq", "in", "exists"]);
const constraintOk = (c: unknown) => isObj(c) && str(c.label) && OPS.has(c.op as string) && (c.value === undefined || str(c.value)) && (c.values === undefined || (Array.isArray(c.values) && c.values.every(str)));
const countsOk = (v: unknown) => isObj(v) && Object.values(v).every(num);
const specOk = (s: unknown): boolean =>
  isObj(s) && str(s.name) && num(s.replicas) && SPREADS.has(s.spread as string) && Array.isArray(s.constraints) && s.constraints.length <= 1_000 && s.constraints.every(constraintOk) && (s.maxPerNode === undefined || num(s.maxPerNode)) && num(s.rescheduleDelayMs) && num(s.rescheduleMaxDelayMs);

/** Checks every field the placement views read (a record of another shape is skipped, not shown half-read). */
export function decodeStatus(text: string, app: string): Decoded<AppStatusRecord> {
  const o = parse(text);
  if (!isObj(o) || o.app !== app) return { ok: false, reason: "not an app status record" };
  if (!specOk(o.spec)) return { ok: false, reason: "spec: expected a placement spec (replicas, spread, constraints, reschedule delays)" };
  if (!num(o.placed) || !num(o.pending) || !str(o.term) || !num(o.at)) return { ok: false, reason: "placed, pending, term, at: expected numbers and a term" };
  if (!Array.isArray(o.unplaceable) || o.unplaceable.length > 10_000 || !o.unplaceable.every((u) => isObj(u) && num(u.slot) && str(u.reason) && countsOk(u.filtered))) return { ok: false, reason: "unplaceable: expected slots with a reason and per-filter counts" };
  return { ok: true, value: o as unknown as AppStatusRecord };
}

/** Two allocations that run the same way (a rewrite with only a new term is not a change worth a write). */
export const sameAllocation = (a: Allocation, b: Allocation) => a.node === b.node && a.generation === b.generation && a.reschedules === b.reschedules && a.placedAt === b.placedAt;

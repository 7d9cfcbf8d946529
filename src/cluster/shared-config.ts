// The cluster-wide config document (PUT /v1/cluster/config, stored in etcd at <prefix>/config/shared): which
// sections it may hold, how it is laid under an agent's own file (the file wins where both name the same item), and
// the record etcd keeps. Pure: no I/O; the cluster worker stores and watches the record, the config applier merges.
//
// Shared sections: `apps` (cluster apps only, placement.scope: cluster) and `alerts.receivers`. Items are matched by
// `name`; a local item of the same name shadows the shared one on that agent. Shared apps change what runs, so an
// agent lays them under its file only when its file sets api.allow_api_commands: true.
import type { ConfigProblem } from "../config/problems.ts";
import type { SharedDocument, SharedRecord } from "../protocol/cluster.ts";

export type { SharedDocument, SharedRecord };

/** The etcd key under the cluster prefix. */
export const sharedConfigKey = (prefix: string) => `${prefix}/config/shared`;
/** A document larger than this is refused (every agent holds it and decodes it on each change). */
export const MAX_SHARED_BYTES = 512 * 1024;
export const SHARED_SECTIONS = ["apps", "alerts.receivers"] as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);


/** Problems with the document's shape (before any schema check): unknown sections, node apps, duplicate names. */
export function checkShared(doc: unknown): ConfigProblem[] {
  if (!isObj(doc)) return [{ path: "", message: "the cluster config must be an object with apps and/or alerts.receivers", value: Array.isArray(doc) ? "an array" : JSON.stringify(doc) }];
  const out: ConfigProblem[] = [];
  for (const k of Object.keys(doc)) if (k !== "apps" && k !== "alerts") out.push({ path: k, message: `not a shared section (the cluster config holds ${SHARED_SECTIONS.join(" and ")}); it belongs in each node's file` });
  const named = (list: unknown, at: string, each?: (item: Obj, path: string) => void) => {
    if (list === undefined) return;
    if (!Array.isArray(list)) return void out.push({ path: at, message: "expected a list" });
    const seen = new Set<string>();
    list.forEach((item, i) => {
      const path = `${at}[${i}]`;
      if (!isObj(item) || typeof item.name !== "string") return void out.push({ path: `${path}.name`, message: "every shared item needs a name (a local item of the same name wins)" });
      if (seen.has(item.name)) out.push({ path: `${path}.name`, message: `"${item.name}" is listed twice`, value: item.name });
      seen.add(item.name);
      each?.(item, path);
    });
  };
  named(doc.apps, "apps", (app, path) => {
    const scope = isObj(app.placement) ? app.placement.scope : undefined;
    if (scope !== "cluster") out.push({ path: `${path}.placement.scope`, message: "a shared app is a cluster app: set placement.scope: cluster (a node's own apps belong in its file)", value: JSON.stringify(scope ?? null) });
  });
  if (doc.alerts !== undefined) {
    if (!isObj(doc.alerts)) out.push({ path: "alerts", message: "expected an object with receivers" });
    else {
      for (const k of Object.keys(doc.alerts)) if (k !== "receivers") out.push({ path: `alerts.${k}`, message: "not a shared section (only alerts.receivers is); it belongs in each node's file" });
      named(doc.alerts.receivers, "alerts.receivers");
    }
  }
  return out;
}

export interface Merged {
  /** The agent's document with the shared items it does not define itself appended. */
  readonly raw: unknown;
  /** Shared items this agent's file shadows, as "apps/web". */
  readonly shadowed: string[];
  /** Shared apps left out because this agent's file does not allow the API to change what runs. */
  readonly ignored: string[];
  /** Where each shared item landed in the merged lists, to map a problem's path back to the shared document. */
  readonly placed: ReadonlyMap<string, string>;
}

/** Lays `shared` under `local` (a raw config document): local items win by name. */
export function mergeShared(local: unknown, shared: SharedDocument | undefined): Merged {
  const base: Obj = isObj(local) ? { ...local } : {};
  const shadowed: string[] = [];
  const ignored: string[] = [];
  const placed = new Map<string, string>();
  if (!shared) return { raw: local, shadowed, ignored, placed };
  const allowCommands = isObj(base.api) && base.api.allow_api_commands === true;
  const layer = (mine: unknown, theirs: readonly Obj[] | undefined, at: string, section: string, skip: boolean): unknown[] | undefined => {
    if (!theirs || theirs.length === 0) return Array.isArray(mine) ? mine : undefined;
    const list = Array.isArray(mine) ? [...mine] : [];
    const names = new Set(list.map((x) => (isObj(x) ? x.name : undefined)));
    theirs.forEach((item, i) => {
      const name = String(item.name);
      if (names.has(name)) return void shadowed.push(`${section}/${name}`);
      if (skip) return void ignored.push(name);
      placed.set(`${at}[${list.length}]`, `${at}[${i}]`);
      list.push(item);
    });
    return list;
  };
  const apps = layer(base.apps, shared.apps, "apps", "apps", !allowCommands);
  if (apps) base.apps = apps;
  const receivers = layer(isObj(base.alerts) ? base.alerts.receivers : undefined, shared.alerts?.receivers, "alerts.receivers", "receivers", false);
  if (receivers) base.alerts = { ...(isObj(base.alerts) ? base.alerts : {}), receivers };
  return { raw: base, shadowed, ignored, placed };
}

/** A problem of the merged document, with its path in the shared document when it is about a shared item. */
export function sharedPath(p: ConfigProblem, placed: ReadonlyMap<string, string>): ConfigProblem {
  const m = /^(apps|alerts\.receivers)\[\d+\]/.exec(p.path);
  const to = m ? placed.get(m[0]) : undefined;
  return to ? { ...p, path: to + p.path.slice(m![0].length) } : { ...p, message: `${p.message} (in this agent's own config)` };
}

/** Decodes a record read from etcd (input from the network: bounded, shape-checked). */
export function decodeSharedRecord(text: string): { ok: true; record: SharedRecord } | { ok: false; reason: string } {
  if (text.length > MAX_SHARED_BYTES * 2) return { ok: false, reason: `larger than ${MAX_SHARED_BYTES * 2} bytes` };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, reason: "not JSON" };
  }
  if (!isObj(v) || !isObj(v.document) || typeof v.updatedAt !== "number" || typeof v.node !== "string") return { ok: false, reason: "expected {document, updatedAt, node}" };
  const problems = checkShared(v.document);
  if (problems.length > 0) return { ok: false, reason: `${problems[0]!.path}: ${problems[0]!.message}` };
  return { ok: true, record: { document: v.document as SharedDocument, updatedAt: v.updatedAt, node: v.node } };
}

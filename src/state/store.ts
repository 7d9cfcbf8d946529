// The supervisor's persistent state in bun:sqlite (WAL): events, replica records, registrations, scaling history, key/values.
// Writes of high-rate rows (events) are buffered and committed in one transaction per flush.
//
// Faults are tagged StoreErrors (see store-fault.ts): a file that is not a database refuses to open (or, with
// `recover`, is moved aside for a fresh one); a full disk makes each write throw `full` and drops buffered
// events (counted) rather than growing memory; check() notices the file vanishing or being replaced under us.
import { Database } from "bun:sqlite";
import { mkdirSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { StoreError, classifySqliteError, type StoreFault } from "./store-fault.ts";
import type { AgentEvent } from "./event-bus.ts";

export interface ReplicaRecord {
  app: string;
  id: string;
  pid: number;
  /** Process start time in clock ticks since boot (/proc/PID/stat field 22): tells a reused PID apart. */
  startTime: number;
  port: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, type TEXT NOT NULL, source TEXT NOT NULL,
  target TEXT NOT NULL, severity TEXT NOT NULL, message TEXT NOT NULL, data TEXT);
CREATE TABLE IF NOT EXISTS replicas (app TEXT NOT NULL, id TEXT NOT NULL, pid INTEGER NOT NULL, start_time INTEGER NOT NULL,
  port INTEGER NOT NULL, PRIMARY KEY (app, id));
CREATE TABLE IF NOT EXISTS registrations (namespace TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (namespace, name));
CREATE TABLE IF NOT EXISTS scaling_history (app TEXT NOT NULL, ts INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS scaling_history_app_ts ON scaling_history (app, ts);
`;

export interface Store {
  readonly path: string;
  /** Set when `recover` moved a corrupt file aside: where it went. */
  readonly recovered?: { readonly movedTo: string; readonly reason: string };
  getKv<T>(key: string): T | undefined;
  putKv(key: string, value: unknown): void;
  appendEvent(e: AgentEvent): void;
  lastEventSeq(): number;
  events(afterSeq: number, limit: number): AgentEvent[];
  putReplica(r: ReplicaRecord): void;
  deleteReplica(app: string, id: string): void;
  replicas(): ReplicaRecord[];
  putRegistration(namespace: string, name: string, body: unknown): void;
  deleteRegistration(namespace: string, name: string): void;
  registrations(): unknown[];
  appendScaling(app: string, ts: number, body: unknown): void;
  scalingHistory(app: string, limit: number): unknown[];
  flush(): void;
  close(): void;
  /** The store's file is still the one it opened (same inode, still linked); the fault found, or null. */
  check(): StoreFault | null;
  /** The fault in force (full, gone, replaced), or null; writes throw a StoreError while one is. */
  fault(): StoreFault | null;
  /** Buffered events dropped because they could not be written. */
  readonly droppedEvents: number;
  /**
   * The database, for a subsystem that keeps its own tables beside these (alerts, tasks): it creates them and
   * prepares its queries once, reads directly, and writes through guard() so its writes share the fault handling.
   */
  readonly db: Database;
  /** Runs a write: refused while the file is gone or replaced; a full disk becomes a StoreError("full"). */
  guard<T>(what: string, f: () => T): T;
}

export interface StoreOptions {
  /** A file that is not a database is moved to `<file>.corrupt-<time>` and a fresh one is created. */
  recover?: boolean;
  /** Called once when a fault starts (and with null when it ends). */
  onFault?: (f: StoreFault | null) => void;
  /** Keep at most this many events on disk (older ones are trimmed at flush). */
  maxEvents?: number;
  maxScalingRows?: number;
}

/** Opens (creating if needed) `<dataDir>/polis.db`; pass ":memory:" for tests. */
export function openStore(dataDir: string, opts: StoreOptions = {}): Store {
  let path = ":memory:";
  if (dataDir !== ":memory:") {
    mkdirSync(dataDir, { recursive: true });
    path = join(dataDir, "polis.db");
  }
  let recovered: Store["recovered"];
  let db: Database;
  try {
    db = openDb(path);
  } catch (e) {
    const code = classifySqliteError(e);
    if (code !== "corrupt") throw new StoreError(code ?? "unreadable", path, `cannot open the state store ${path}: ${(e as Error).message}`);
    if (!opts.recover) {
      throw new StoreError("corrupt", path, `the state store ${path} is not a usable database (${(e as Error).message}): start with \`polis agent --recover\` to move it aside and start with an empty state, or restore it from a backup`);
    }
    const movedTo = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    renameSync(path, movedTo);
    for (const side of ["-wal", "-shm"]) {
      try {
        renameSync(path + side, movedTo + side);
      } catch {
        // No such side file.
      }
    }
    recovered = { movedTo, reason: (e as Error).message };
    db = openDb(path);
  }
  const maxEvents = opts.maxEvents ?? 100_000;
  const maxScaling = opts.maxScalingRows ?? 50_000;

  const q = {
    getKv: db.query<{ value: string }, [string]>("SELECT value FROM kv WHERE key = ?"),
    putKv: db.query("INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
    insertEvent: db.query(
      "INSERT OR REPLACE INTO events (seq, ts, type, source, target, severity, message, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    lastSeq: db.query<{ seq: number | null }, []>("SELECT MAX(seq) AS seq FROM events"),
    events: db.query<Record<string, unknown>, [number, number]>("SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?"),
    trimEvents: db.query("DELETE FROM events WHERE seq <= (SELECT MAX(seq) FROM events) - ?"),
    putReplica: db.query(
      "INSERT INTO replicas (app, id, pid, start_time, port) VALUES (?, ?, ?, ?, ?) ON CONFLICT(app, id) DO UPDATE SET pid = excluded.pid, start_time = excluded.start_time, port = excluded.port",
    ),
    deleteReplica: db.query("DELETE FROM replicas WHERE app = ? AND id = ?"),
    replicas: db.query<{ app: string; id: string; pid: number; start_time: number; port: number }, []>("SELECT * FROM replicas"),
    putReg: db.query(
      "INSERT INTO registrations (namespace, name, body) VALUES (?, ?, ?) ON CONFLICT(namespace, name) DO UPDATE SET body = excluded.body",
    ),
    deleteReg: db.query("DELETE FROM registrations WHERE namespace = ? AND name = ?"),
    regs: db.query<{ body: string }, []>("SELECT body FROM registrations ORDER BY namespace, name"),
    insertScaling: db.query("INSERT INTO scaling_history (app, ts, body) VALUES (?, ?, ?)"),
    scaling: db.query<{ body: string }, [string, number]>("SELECT body FROM scaling_history WHERE app = ? ORDER BY ts DESC, rowid DESC LIMIT ?"),
    trimScaling: db.query("DELETE FROM scaling_history WHERE rowid <= (SELECT MAX(rowid) FROM scaling_history) - ?"),
  };

  const identity = path === ":memory:" ? null : inodeOf(path);
  let current: StoreFault | null = null;
  let dropped = 0;
  const setFault = (f: StoreFault | null) => {
    if ((f === null && current === null) || (f && current && f.reason === current.reason)) return;
    current = f;
    try {
      opts.onFault?.(f);
    } catch {
      // The listener is the supervisor's; a failure there must not turn into a store failure.
    }
  };
  /** The file is still the one opened; one stat, so a write can afford it (sqlite would write to an unlinked file). */
  const checkIdentity = () => {
    if (identity === null) return;
    const now = inodeOf(path);
    if (now === null) {
      setFault({ reason: "gone", path, message: `the state store ${path} was deleted under the running agent: changes are not saved; restart the agent to create it again (replicas are found by their environment and adopted)` });
    } else if (now !== identity) {
      setFault({ reason: "replaced", path, message: `the state store ${path} was replaced by another file under the running agent: changes are not saved; restart the agent to use the new file` });
    }
  };
  /** Every write goes through here: a store that is gone refuses it (checked now, not at the next periodic check,
   * so no write is acknowledged into a deleted file); a full disk becomes a tagged error. */
  const write = <T>(what: string, f: () => T): T => {
    checkIdentity();
    if (current && current.reason !== "full") throw new StoreError(current.reason, path, current.message);
    try {
      const out = f();
      if (current?.reason === "full") setFault(null);
      return out;
    } catch (e) {
      if (e instanceof StoreError) throw e;
      const code = classifySqliteError(e);
      if (code === "full") {
        const fault: StoreFault = { reason: "full", path, message: `the disk under the state store ${path} is full: ${what} was not saved` };
        setFault(fault);
        throw new StoreError("full", path, fault.message);
      }
      throw e;
    }
  };

  let pendingEvents: AgentEvent[] = [];
  let pendingScaling: Array<[string, number, string]> = [];
  const writeBatch = db.transaction((events: AgentEvent[], scaling: Array<[string, number, string]>) => {
    for (const e of events) {
      q.insertEvent.run(e.seq, e.ts, e.type, e.source, e.target, e.severity, e.message, e.data ? JSON.stringify(e.data) : null);
    }
    for (const s of scaling) q.insertScaling.run(...s);
    if (events.length > 0) q.trimEvents.run(maxEvents);
    if (scaling.length > 0) q.trimScaling.run(maxScaling);
  });
  let closed = false;

  const store: Store = {
    path,
    ...(recovered ? { recovered } : {}),
    getKv<T>(key: string) {
      const row = q.getKv.get(key);
      return row ? (JSON.parse(row.value) as T) : undefined;
    },
    putKv: (key, value) => write(`setting ${key}`, () => void q.putKv.run(key, JSON.stringify(value))),
    appendEvent(e) {
      pendingEvents.push(e);
      if (pendingEvents.length >= 1000) store.flush();
    },
    lastEventSeq: () => q.lastSeq.get()?.seq ?? 0,
    events(after, limit) {
      store.flush();
      return q.events.all(after, limit).map((r) => ({
        seq: r.seq as number,
        ts: r.ts as number,
        type: r.type as string,
        source: r.source as string,
        target: r.target as string,
        severity: r.severity as AgentEvent["severity"],
        message: r.message as string,
        ...(r.data ? { data: JSON.parse(r.data as string) } : {}),
      }));
    },
    putReplica: (r) => write(`replica ${r.app}-${r.id}`, () => void q.putReplica.run(r.app, r.id, r.pid, r.startTime, r.port)),
    deleteReplica: (app, id) => write(`replica ${app}-${id}`, () => void q.deleteReplica.run(app, id)),
    replicas: () => q.replicas.all().map((r) => ({ app: r.app, id: r.id, pid: r.pid, startTime: r.start_time, port: r.port })),
    putRegistration: (ns, name, body) => write(`service ${ns}/${name}`, () => void q.putReg.run(ns, name, JSON.stringify(body))),
    deleteRegistration: (ns, name) => write(`service ${ns}/${name}`, () => void q.deleteReg.run(ns, name)),
    registrations: () => q.regs.all().map((r) => JSON.parse(r.body)),
    appendScaling(app, ts, body) {
      pendingScaling.push([app, ts, JSON.stringify(body)]);
    },
    scalingHistory(app, limit) {
      store.flush();
      return q.scaling.all(app, limit).map((r) => JSON.parse(r.body)).reverse();
    },
    flush() {
      if (closed || (pendingEvents.length === 0 && pendingScaling.length === 0)) return;
      const events = pendingEvents;
      const scaling = pendingScaling;
      pendingEvents = [];
      pendingScaling = [];
      try {
        write(`${events.length} event(s)`, () => writeBatch(events, scaling));
      } catch (e) {
        // The rows are lost (memory stays bounded); the fault itself was reported once through onFault.
        if (!(e instanceof StoreError)) throw e;
        dropped += events.length;
      }
    },
    close() {
      if (closed) return;
      try {
        store.flush();
      } finally {
        closed = true;
        db.close();
      }
    },
    check() {
      if (!closed) checkIdentity();
      return current;
    },
    fault: () => current,
    db,
    guard: (what, f) => write(what, f),
    get droppedEvents() {
      return dropped;
    },
  };
  return store;
}

function openDb(path: string): Database {
  const db = new Database(path, { create: true, strict: true });
  try {
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 2000;");
    db.exec(SCHEMA);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/** "device:inode" of the file, or null when it does not exist. */
function inodeOf(path: string): string | null {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

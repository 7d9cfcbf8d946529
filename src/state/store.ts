// The supervisor's persistent state in bun:sqlite (WAL): events, replica records, registrations, scaling history, key/values.
// Writes of high-rate rows (events) are buffered and committed in one transaction per flush.
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
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
}

export interface StoreOptions {
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
  const db = new Database(path, { create: true, strict: true });
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 2000;");
  db.exec(SCHEMA);
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
    getKv<T>(key: string) {
      const row = q.getKv.get(key);
      return row ? (JSON.parse(row.value) as T) : undefined;
    },
    putKv: (key, value) => void q.putKv.run(key, JSON.stringify(value)),
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
    putReplica: (r) => void q.putReplica.run(r.app, r.id, r.pid, r.startTime, r.port),
    deleteReplica: (app, id) => void q.deleteReplica.run(app, id),
    replicas: () => q.replicas.all().map((r) => ({ app: r.app, id: r.id, pid: r.pid, startTime: r.start_time, port: r.port })),
    putRegistration: (ns, name, body) => void q.putReg.run(ns, name, JSON.stringify(body)),
    deleteRegistration: (ns, name) => void q.deleteReg.run(ns, name),
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
      writeBatch(events, scaling);
    },
    close() {
      if (closed) return;
      store.flush();
      closed = true;
      db.close();
    },
  };
  return store;
}

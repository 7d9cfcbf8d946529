// Task records in the supervisor's sqlite store (their own table). Every change the queue decides is written here
// before it is acted on (a task is `starting` on disk before its process is spawned), so an agent killed at any
// point restarts with every task accounted for.
import type { Task } from "../core/tasks/types.ts";
import type { Store } from "./store.ts";

const SCHEMA = `CREATE TABLE IF NOT EXISTS tasks (id INTEGER PRIMARY KEY, state TEXT NOT NULL, body TEXT NOT NULL);`;

export interface TaskStore {
  all(): Task[];
  put(t: Task): void;
  delete(id: string): void;
  /** Many records written and deleted in one transaction: all of them are on disk, or none. */
  write(puts: Iterable<Task>, deletes: Iterable<string>): void;
}

export function openTaskStore(store: Store): TaskStore {
  store.db.exec(SCHEMA);
  const q = {
    all: store.db.query<{ body: string }, []>("SELECT body FROM tasks ORDER BY id"),
    put: store.db.query("INSERT INTO tasks (id, state, body) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET state = excluded.state, body = excluded.body"),
    del: store.db.query("DELETE FROM tasks WHERE id = ?"),
  };
  const tx = store.db.transaction((puts: Iterable<Task>, deletes: Iterable<string>) => {
    for (const t of puts) q.put.run(Number(t.id), t.state, JSON.stringify(t));
    for (const id of deletes) q.del.run(Number(id));
  });
  return {
    write: (puts, deletes) => store.guard("tasks", () => void tx(puts, deletes)),
    all: () => q.all.all().map((r) => JSON.parse(r.body) as Task),
    put: (t) => store.guard(`task ${t.id}`, () => void q.put.run(Number(t.id), t.state, JSON.stringify(t))),
    delete: (id) => store.guard(`task ${id}`, () => void q.del.run(Number(id))),
  };
}

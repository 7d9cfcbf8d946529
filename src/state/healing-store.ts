// The recovery ladders in the supervisor's sqlite store: one row per target with its ladder state and a bounded
// history of steps. A decision is written here before it is acted on, so an agent restarted mid-episode resumes on
// the same rung (and still knows what it must undo: extra capacity, a failover).
import type { LadderState } from "../core/healing/ladder.ts";
import type { Store } from "./store.ts";

const SCHEMA = `CREATE TABLE IF NOT EXISTS healing_ladders (target TEXT PRIMARY KEY, body TEXT NOT NULL);`;

export interface HealingStep {
  readonly at: number;
  /** restart | replace | scale_out | failover | alert | scale_in | failback | verdict */
  readonly action: string;
  readonly attempt?: number;
  /** The ladder's reason (became_unhealthy, next_rung, ...) and the verdict's (endpoint_critical, ...). */
  readonly reason: string;
  /** pending (persisted, not acted on yet) | done | skipped | failed */
  outcome: string;
  detail?: string;
}

export interface LadderRecord {
  /** `<app>-<replica>`; moves to the fresh replica on a replace. */
  target: string;
  app: string;
  replica: number;
  state: LadderState;
  /** Since when the verdict has been unhealthy while the ladder is still healthy (unhealthy_for). */
  unhealthySince?: number;
  lastVerdict?: { healthy: boolean | null; reason: string; at: number };
  /** What recovery must undo: the count before the scale out, the balancers failed over. */
  scaledFrom?: number;
  failedOver?: string[];
  /** The alert raised when the ladder was exhausted (resolved on recovery). */
  alert?: string;
  history: HealingStep[];
}

export interface HealingStore {
  all(): LadderRecord[];
  put(r: LadderRecord): void;
  remove(target: string): void;
}

/** Steps kept per target: the first of an episode and the newest are what an operator reads. */
export const HISTORY_LIMIT = 50;

const revive = (s: LadderState): LadderState => ({ ...s, nextAt: s.nextAt === null ? Infinity : s.nextAt });

export function openHealingStore(store: Store): HealingStore {
  const db = store.db;
  db.exec(SCHEMA);
  const q = {
    all: db.query<{ body: string }, []>("SELECT body FROM healing_ladders ORDER BY target"),
    put: db.query("INSERT INTO healing_ladders (target, body) VALUES (?, ?) ON CONFLICT(target) DO UPDATE SET body = excluded.body"),
    del: db.query("DELETE FROM healing_ladders WHERE target = ?"),
  };
  return {
    all: () => q.all.all().map((r) => {
      const x = JSON.parse(r.body) as LadderRecord;
      return { ...x, state: revive(x.state) };
    }),
    // Infinity (an exhausted ladder's nextAt) is not JSON: it is stored as null and read back as Infinity.
    put: (r) => store.guard(`healing ladder ${r.target}`, () => void q.put.run(r.target, JSON.stringify(r))),
    remove: (t) => store.guard(`healing ladder ${t}`, () => void q.del.run(t)),
  };
}

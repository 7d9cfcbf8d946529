// Policies and their audit trail in the supervisor's sqlite store: policies created through the API (documents, as
// written; validated again when loaded) and one audit record per firing (inputs, condition values, actions and their
// outcomes), kept to a bounded count.
import type { Store } from "./store.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS policies_api (key TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS policy_audit (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, policy TEXT NOT NULL, target TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS policy_audit_policy ON policy_audit (policy, id);
CREATE INDEX IF NOT EXISTS policy_audit_target ON policy_audit (target, id);
`;

export interface AuditAction {
  readonly type: string;
  readonly params: Readonly<Record<string, unknown>>;
  /** done | failed | dry_run | overridden_by_priority | overridden_by_more_conservative | skipped */
  outcome: string;
  detail?: string;
}

export interface AuditRecord {
  readonly id: number;
  readonly ts: number;
  readonly policy: string;
  readonly rule: string;
  readonly target: string;
  readonly firing: number;
  readonly mode: "enforce" | "dry_run";
  readonly conditions: ReadonlyArray<{ path: string; holds: boolean; value?: unknown; error?: string }>;
  readonly actions: AuditAction[];
}

export interface AuditQuery {
  policy?: string;
  target?: string;
  since?: number;
  limit: number;
}

export interface PolicyStore {
  apiPolicies(): Array<{ key: string; document: unknown }>;
  putApiPolicy(key: string, document: unknown): void;
  deleteApiPolicy(key: string): boolean;
  /** Writes a new audit record (actions may be updated later with their outcome); returns its id. */
  appendAudit(r: Omit<AuditRecord, "id">): number;
  updateAudit(r: AuditRecord): void;
  audit(q: AuditQuery): AuditRecord[];
  /** Keeps the newest `keep` records. */
  trimAudit(keep: number): void;
}

export function openPolicyStore(store: Store): PolicyStore {
  const db = store.db;
  db.exec(SCHEMA);
  const q = {
    apiAll: db.query<{ key: string; body: string }, []>("SELECT key, body FROM policies_api ORDER BY key"),
    apiPut: db.query("INSERT INTO policies_api (key, body) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET body = excluded.body"),
    apiDel: db.query("DELETE FROM policies_api WHERE key = ?"),
    insert: db.query<{ id: number }, [number, string, string, string]>("INSERT INTO policy_audit (ts, policy, target, body) VALUES (?, ?, ?, ?) RETURNING id"),
    update: db.query("UPDATE policy_audit SET body = ? WHERE id = ?"),
    list: db.query<{ id: number; body: string }, [string | null, string | null, number, number]>(
      "SELECT id, body FROM policy_audit WHERE (?1 IS NULL OR policy = ?1) AND (?2 IS NULL OR target = ?2) AND ts >= ?3 ORDER BY id DESC LIMIT ?4",
    ),
    trim: db.query("DELETE FROM policy_audit WHERE id <= (SELECT MAX(id) FROM policy_audit) - ?"),
  };
  return {
    apiPolicies: () => q.apiAll.all().map((r) => ({ key: r.key, document: JSON.parse(r.body) })),
    putApiPolicy: (key, document) => store.guard(`policy ${key}`, () => void q.apiPut.run(key, JSON.stringify(document))),
    deleteApiPolicy: (key) => store.guard(`policy ${key}`, () => q.apiDel.run(key).changes > 0),
    appendAudit(r) {
      return store.guard(`audit of ${r.policy}`, () => q.insert.get(r.ts, r.policy, r.target, JSON.stringify(r))!.id);
    },
    updateAudit(r) {
      const { id, ...rest } = r;
      store.guard(`audit of ${r.policy}`, () => void q.update.run(JSON.stringify(rest), id));
    },
    audit: (x) => q.list.all(x.policy ?? null, x.target ?? null, x.since ?? 0, x.limit).map((r) => ({ ...(JSON.parse(r.body) as Omit<AuditRecord, "id">), id: r.id })),
    trimAudit: (keep) => store.guard("policy audit", () => void q.trim.run(keep)),
  };
}

// Deployment state in the supervisor's store (sqlite kv): each app's revision history, which revision it runs
// (and which the config last named), and its recent rollouts. Every write goes to the store before the in-memory
// copy changes, so a failed write (disk full, store gone) throws and leaves both as they were.
import type { Revision } from "../core/deploy/revision.ts";
import type { RolloutState } from "../core/deploy/rollout.ts";
import type { KvStore } from "./intent.ts";

export interface AppDeployRecord {
  /** The revision the app runs when no rollout is in charge (the last one that completed). */
  readonly current: number;
  /** The hash of the revision fields the config last named: a reload starts a rollout only when it changes. */
  readonly config: string;
}

/** Rollouts kept per app (newest last). */
export const ROLLOUT_HISTORY = 20;

const APPS_KEY = "deploy.apps";
const revKey = (app: string) => `deploy.revisions.${app}`;
const rollKey = (app: string) => `deploy.rollouts.${app}`;

export function createDeployStore(store: KvStore) {
  let apps: Record<string, AppDeployRecord> = store.getKv<Record<string, AppDeployRecord>>(APPS_KEY) ?? {};
  const revisions = new Map<string, readonly Revision[]>();
  const rollouts = new Map<string, readonly RolloutState[]>();
  return {
    app: (name: string): AppDeployRecord | undefined => apps[name],
    putApp(name: string, rec: AppDeployRecord) {
      const next = { ...apps, [name]: rec };
      store.putKv(APPS_KEY, next);
      apps = next;
    },
    revisions(app: string): readonly Revision[] {
      let r = revisions.get(app);
      if (!r) {
        r = store.getKv<Revision[]>(revKey(app)) ?? [];
        revisions.set(app, r);
      }
      return r;
    },
    putRevisions(app: string, list: readonly Revision[]) {
      store.putKv(revKey(app), list);
      revisions.set(app, list);
    },
    rollouts(app: string): readonly RolloutState[] {
      let r = rollouts.get(app);
      if (!r) {
        r = store.getKv<RolloutState[]>(rollKey(app)) ?? [];
        rollouts.set(app, r);
      }
      return r;
    },
    /** Replaces the rollout with the same id, or appends it (dropping the oldest beyond ROLLOUT_HISTORY). */
    putRollout(app: string, s: RolloutState) {
      const list = [...this.rollouts(app)];
      const i = list.findIndex((x) => x.id === s.id);
      if (i >= 0) list[i] = s;
      else list.push(s);
      const next = list.slice(-ROLLOUT_HISTORY);
      store.putKv(rollKey(app), next);
      rollouts.set(app, next);
    },
  };
}

export type DeployStore = ReturnType<typeof createDeployStore>;

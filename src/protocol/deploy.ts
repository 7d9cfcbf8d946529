// What a rollout asks of the procs worker: start one replica of a given revision beside the others, and retire one
// (drained, then stopped, its slot freed). The supervisor's deploy runner decides which; procs only carries it out.
import type { AppSpec } from "./procs.ts";

export type DeployProcsRequests = {
  /** A new slot running `spec` (its revision's fields; the rest follows the app). Replies once it is started. */
  readonly "procs.launch": { readonly body: { readonly app: string; readonly spec: AppSpec }; readonly reply: { readonly app: string; readonly replica: number | null } };
  /** Drain (the drain hook), stop and forget one replica. Replies once it is gone. */
  readonly "procs.retire": { readonly body: { readonly app: string; readonly replica: number }; readonly reply: { readonly app: string; readonly replica: number; readonly retired: boolean } };
};

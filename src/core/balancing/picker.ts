// The one interface every balancing policy implements; the data plane calls it once per request or connection.
//
// Contract:
// - `update(pool)` is called when the pool changes (endpoints, weights, health), never per request.
//   Policies precompute their tables there (rings, maglev tables, smooth-WRR state).
// - `pick(ctx)` returns an index into the array last given to `update`, or -1 when nothing can be
//   picked. It must not allocate and must not await.
// - Policies see only endpoints the pool marked eligible (passing or warning, not ejected, not
//   draining); panic mode and warning weights are applied by the pool before policies see weights
//   (pool.ts). Connection limits are not: `pickAdmitted` (pool.ts) checks the live count after a
//   pick and picks again with a re-hashed key. A policy that needs a key uses ctx.hash.
// - Feedback (`onStart`/`onDone`) lets load-aware policies (least_*, peak_ewma) track in-flight
//   requests and latency; the data plane calls them for every pick it used.

export interface PoolEndpoint {
  /** Stable identifier (replica id or "address:port"). */
  readonly id: string;
  readonly address: string;
  readonly port: number;
  /** Effective weight (> 0) after health, slow start and operator overrides. */
  weight: number;
  /** In-flight requests or open connections, maintained by the data plane. */
  active: number;
  /** The app revision it runs, when it is a replica: a rollout's traffic split groups endpoints by it (split.ts). */
  readonly revision?: number | undefined;
}

export interface PickContext {
  /** 32-bit hash of the policy's key (client IP, header, cookie or path), 0 when not keyed. */
  hash: number;
}

export interface Picker {
  readonly name: string;
  update(endpoints: readonly PoolEndpoint[]): void;
  pick(ctx: PickContext): number;
  onStart?(index: number): void;
  onDone?(index: number, latencyMs: number, ok: boolean): void;
}

// Adapter from a core/balancing Picker over eligible endpoints to the pool interface the proxies call.
//
// The agent's pool (health, outlier ejection, draining, panic mode) decides which endpoints are
// eligible and calls `setEndpoints`; this adapter only maps picks and feedback to indexes, keeps
// `active` counts, and hashes the policy's key (client IP, a header or a cookie) into ctx.hash.

import type { PickContext, Picker, PoolEndpoint } from "../core/balancing/picker.ts";
import { atLimit, pickAdmitted } from "../core/balancing/pool.ts";
import { hashKey } from "../core/hashing/hash.ts";
import type { ConnectionContext, L4Pool, ProxyOutcome, ProxyPool, RequestContext } from "./proxy-pool.ts";

export type HashKey =
  | { kind: "none" }
  | { kind: "client-ip" }
  | { kind: "header"; name: string }
  | { kind: "cookie"; name: string }
  | { kind: "path" };

/** Usable as both a ProxyPool (HTTP) and an L4Pool (TCP/UDP). */
export interface PickerPool extends Omit<ProxyPool<PoolEndpoint>, "pick">, Omit<L4Pool<PoolEndpoint>, "pick"> {
  pick(ctx: RequestContext | ConnectionContext): PoolEndpoint | undefined;
  /** Replace the eligible set (never per request); forwards it to the picker's update(). */
  setEndpoints(endpoints: PoolEndpoint[]): void;
}

/** The policies' key hash (core/hashing), so every worker and every path hashes a key the same way. */
export const hash32 = hashKey;

export interface PickerPoolOptions {
  /**
   * Endpoints have connection limits: each pick goes through the core admission (`pickAdmitted`), which re-picks
   * up to this many times with a re-hashed key, so keyed policies move off a full endpoint too. 0 = no limits.
   */
  admitAttempts?: number;
}

export function createPickerPool(picker: Picker, key: HashKey = { kind: "none" }, opts: PickerPoolOptions = {}): PickerPool {
  const admit = opts.admitAttempts ?? 0;
  let endpoints: PoolEndpoint[] = [];
  // By id: the pool is rebuilt with fresh endpoint objects, and a request picked before that must still report
  // to its endpoint's current index (load-aware pickers seed their counts from `active`, which includes it).
  const index = new Map<string, number>();
  const ctx: PickContext = { hash: 0 };
  const keyOf = (c: RequestContext | ConnectionContext): string | undefined => {
    switch (key.kind) {
      case "client-ip": return c.clientIp;
      case "header": return "header" in c ? c.header(key.name) : undefined;
      case "cookie": return "cookie" in c ? c.cookie(key.name) : undefined;
      case "path": return "path" in c ? c.path() : undefined;
      default: return undefined;
    }
  };
  return {
    setEndpoints(next) {
      endpoints = next;
      index.clear();
      next.forEach((e, i) => index.set(e.id, i));
      picker.update(next);
    },
    pick: function pickEndpoint(c: RequestContext | ConnectionContext) {
      const k = key.kind === "none" ? undefined : keyOf(c);
      ctx.hash = k === undefined ? 0 : hash32(k);
      let i = admit > 0 ? pickAdmitted(picker, ctx, endpoints, admit) : picker.pick(ctx);
      const prev = c.previous;
      if (i >= 0 && prev !== undefined && endpoints.length > 1 && endpoints[i]?.id === prev.id) {
        // A retry must not go back to the endpoint that just failed: a dead one fails fast, so it has the fewest
        // requests in flight and load-aware pickers favour it. Ask once more (random policies move on), then
        // take the next one (keyed policies answer the same again); a full one is no better than the failed one.
        const again = picker.pick(ctx);
        const j = endpoints[again] !== undefined && endpoints[again]!.id !== prev.id ? again : (i + 1) % endpoints.length;
        if (admit === 0 || !atLimit(endpoints[j]!)) i = j;
      }
      return i >= 0 && i < endpoints.length ? endpoints[i] : undefined;
    },
    onStart(ep) {
      ep.active++;
      const i = index.get(ep.id);
      if (i !== undefined) picker.onStart?.(i);
    },
    onDone(ep: PoolEndpoint, latencyMs: number, outcome: ProxyOutcome) {
      if (ep.active > 0) ep.active--;
      const i = index.get(ep.id);
      // A client that went away says nothing about the endpoint: it counts as a success for load feedback.
      if (i !== undefined) picker.onDone?.(i, latencyMs, outcome === "client" || (typeof outcome === "number" && outcome < 500));
    },
  };
}

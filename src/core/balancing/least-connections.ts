// least_connections: the endpoint with the fewest in-flight requests per unit of weight, kept in a heap.
//
// Load is (active + 1) / weight rather than active / weight, so that with nothing in flight a heavier
// endpoint still comes first. Ties go to the endpoint picked longest ago (rotation), so an idle pool is
// walked like round robin instead of hammering index 0. The heap is keyed on (load, last pick) and is
// repaired on every pick, onStart and onDone: O(log n) each, O(1) to read the best.
// In-flight counts are the picker's own, seeded from `active` on every update and then moved by
// onStart/onDone; the data plane must not call onDone with an index from before the last update.
import type { Rng } from "../time.ts";
import type { PickContext, Picker, PoolEndpoint } from "./picker.ts";

export interface LeastConnectionsOptions {
  /** Shuffles the initial rotation so workers that start together do not pick in step. */
  rng?: Rng;
}

export function createLeastConnections(opts: LeastConnectionsOptions = {}): Picker {
  let n = 0;
  let weight = new Float64Array(0);
  let active = new Float64Array(0);
  let lastPick = new Float64Array(0);
  let heap = new Int32Array(0);
  let where = new Int32Array(0);
  let seq = 0;

  // a comes before b: lower load, then picked longer ago. Cross-multiplied to avoid division.
  function before(a: number, b: number): boolean {
    const la = (active[a]! + 1) * weight[b]!;
    const lb = (active[b]! + 1) * weight[a]!;
    return la < lb || (la === lb && lastPick[a]! < lastPick[b]!);
  }

  function place(k: number, item: number): void {
    heap[k] = item;
    where[item] = k;
  }

  function siftDown(k: number): void {
    const item = heap[k]!;
    for (;;) {
      const l = 2 * k + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(heap[r]!, heap[l]!) ? r : l;
      if (!before(heap[c]!, item)) break;
      place(k, heap[c]!);
      k = c;
    }
    place(k, item);
  }

  function siftUp(k: number): void {
    const item = heap[k]!;
    while (k > 0) {
      const p = (k - 1) >> 1;
      if (!before(item, heap[p]!)) break;
      place(k, heap[p]!);
      k = p;
    }
    place(k, item);
  }

  return {
    name: "least_connections",
    update: function updateLeastConnections(endpoints: readonly PoolEndpoint[]) {
      n = endpoints.length;
      weight = new Float64Array(n);
      active = new Float64Array(n);
      lastPick = new Float64Array(n);
      heap = new Int32Array(n);
      where = new Int32Array(n);
      const start = opts.rng ? Math.floor(opts.rng.next() * n) : 0;
      for (let i = 0; i < n; i++) {
        weight[i] = endpoints[i]!.weight;
        active[i] = Math.max(0, endpoints[i]!.active);
        lastPick[i] = ((i - start + n) % n) - n; // before any real pick, in rotation order
        place(i, i);
      }
      for (let k = (n >> 1) - 1; k >= 0; k--) siftDown(k);
    },
    pick: function pickLeastConnections(_ctx: PickContext): number {
      if (n === 0) return -1;
      const i = heap[0]!;
      lastPick[i] = ++seq;
      siftDown(0);
      return i;
    },
    onStart: function onStartLeastConnections(index: number) {
      if (index < 0 || index >= n) return;
      active[index] += 1;
      siftDown(where[index]!);
    },
    onDone: function onDoneLeastConnections(index: number) {
      if (index < 0 || index >= n || active[index]! <= 0) return;
      active[index] -= 1;
      siftUp(where[index]!);
    },
  };
}

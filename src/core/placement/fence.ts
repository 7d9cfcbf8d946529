// Fencing by lease timing: how long a node may keep running its slots after its last lease renewal. The lease
// lives at least TTL from the moment the renewal was sent (etcd counts from when it received it, later), and the
// leader moves the slots only after seeing the lease expire plus the app's reschedule delay. Stopping at
// renewal + TTL - margin therefore stops this node's copy `margin + reschedule.delay` before any other node can be
// told to start one, as long as the stop itself takes less than that.

/** The margin taken off the TTL: a quarter of it, at least 1 s, and never more than half (TTL 2 s -> 1 s, 10 s -> 2.5 s). */
export function fenceMarginMs(ttlSeconds: number): number {
  const ttl = ttlSeconds * 1000;
  return Math.min(ttl / 2, Math.max(1000, ttl / 4));
}

/** Wall-clock ms after which a node whose last renewal was sent at `renewedAt` must have stopped its slots. */
export const fenceDeadline = (renewedAt: number, ttlSeconds: number) => renewedAt + ttlSeconds * 1000 - fenceMarginMs(ttlSeconds);
